package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/metrics"
)

// errIdle cancels a stream whose upstream went silent for ReadTimeout.
var errIdle = errors.New("upstream idle")

// clientWriteTimeout bounds each write to the client (an event, a ping, a
// whole JSON answer), not the response: a stream lasts as long as the model
// writes, but a client that has taken none of it for this long, its socket
// buffers full, is stuck, and its stream and upstream call are ended.
const clientWriteTimeout = time.Minute

// stream copies an upstream stream to the client as SSE on the handler's
// goroutine, each event written as it comes and flushed unless the next
// has arrived with it (a claudebridge.BufferedStream says so), as
// httputil.ReverseProxy flushes text/event-stream once per read. Pings go out after
// PingInterval of silence, before the upstream's first byte too. An error
// before anything was written is an ordinary error response with its
// status; after that it is an SSE error event, and the stream ends. The
// upstream call is cancelled the moment the client goes away. tally, when
// not nil, is told each event.
func (g *Gateway) stream(ctx context.Context, w http.ResponseWriter, req *claudebridge.Request, id string, tally *metrics.Tally) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	out := &sseOut{w: w, rc: http.NewResponseController(w)}
	k := g.keepAlive(out, cancel)
	defer k.stop()

	s, err := g.Upstream.Stream(ctx, req)
	if err != nil {
		return out.fail(g.callError(ctx, err), id)
	}
	// The upstream has the request and no retry is left once a stream has
	// begun: the body need not live as long as the answer does.
	req.Body, req.Fields = nil, nil
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() }) // unblocks Next when the client leaves
	defer stop()
	buffered, _ := s.(claudebridge.BufferedStream)
	for {
		ev, err := s.Next()
		k.upstreamActive()
		if err == io.EOF {
			return out.error()
		}
		if err != nil {
			return out.fail(g.callError(ctx, err), id)
		}
		if tally != nil {
			tally.Event(ev.Type, ev.Data)
		}
		// Events that arrived together are flushed together.
		more := buffered != nil && buffered.Buffered()
		if err := out.event(ev.Type, ev.Data, !more); err != nil {
			return err
		}
	}
}

// callError is what a failed call tells the client: why the context
// ended, if it did, rather than the broken read that followed. A cause
// that is a *claudebridge.Error is told as it is: the server ends the
// calls still running at shutdown with overloaded_error.
func (g *Gateway) callError(ctx context.Context, err error) error {
	var told *claudebridge.Error
	switch cause := context.Cause(ctx); {
	case cause == nil:
		return err
	case errors.As(cause, &told):
		return told
	case errors.Is(cause, errIdle):
		return claudebridge.Errorf(claudebridge.ETIMEOUT, "The upstream sent nothing for %s", g.ReadTimeout)
	case errors.Is(cause, context.DeadlineExceeded):
		return claudebridge.Errorf(claudebridge.ETIMEOUT, "The request took longer than %s", g.RequestTimeout)
	}
	return claudebridge.Errorf(claudebridge.ECANCELED, "client went away")
}

// sseOut is the client's side of a stream, shared by the copy and the
// keep-alive timer.
type sseOut struct {
	mu        sync.Mutex
	w         http.ResponseWriter
	rc        *http.ResponseController
	started   bool
	lastWrite time.Time
	buf       []byte // one event, reused: writers copy what they are given
	closed    bool   // the handler is returning: nothing more may be written
	err       error
}

// startLocked sends the SSE head.
func (o *sseOut) startLocked() {
	h := o.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	o.w.WriteHeader(http.StatusOK)
	o.started = true
}

// event sends one event, flushed unless more follow at once.
func (o *sseOut) event(typ string, data []byte, flush bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writeLocked(typ, data, flush)
	return o.err
}

// writeLocked writes one event, after the SSE head if it is the first, and
// flushes it if asked, within clientWriteTimeout.
func (o *sseOut) writeLocked(typ string, data []byte, flush bool) {
	if o.err != nil || o.closed {
		return
	}
	// A recorder in tests has no deadlines: that error is not the client's.
	o.rc.SetWriteDeadline(time.Now().Add(clientWriteTimeout))
	if !o.started {
		o.startLocked()
	}
	o.buf = anthropic.AppendEvent(o.buf[:0], typ, data)
	if _, err := o.w.Write(o.buf); err != nil {
		o.err = claudebridge.Errorf(claudebridge.ECANCELED, "client went away")
		return
	}
	if !flush {
		return
	}
	if err := o.rc.Flush(); err != nil {
		o.err = claudebridge.Errorf(claudebridge.ECANCELED, "client went away")
		return
	}
	o.lastWrite = time.Now()
}

// error reports why the client can no longer be written to, if it cannot.
func (o *sseOut) error() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// fail ends the stream with err: an error response before the head, an
// error event after it.
func (o *sseOut) fail(err error, id string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err // the client is gone: nothing reaches it
	}
	if claudebridge.ErrorCode(err) == claudebridge.ECANCELED {
		return err // likewise
	}
	if !o.started {
		anthropic.WriteError(o.w, err, id)
		return err
	}
	o.writeLocked("error", anthropic.ErrorJSON(err, id), true)
	return err
}

// keepAlive sends pings after PingInterval without a write, and cancels
// the stream after ReadTimeout without an upstream event, on one timer
// re-armed for whichever is due first.
type keepAlive struct {
	out       *sseOut
	cancel    context.CancelCauseFunc
	pingEvery time.Duration
	idle      time.Duration

	mu           sync.Mutex
	t            *time.Timer
	lastUpstream time.Time
}

func (g *Gateway) keepAlive(out *sseOut, cancel context.CancelCauseFunc) *keepAlive {
	k := &keepAlive{out: out, cancel: cancel, pingEvery: g.PingInterval, idle: g.ReadTimeout}
	if k.pingEvery <= 0 {
		k.pingEvery = 15 * time.Second
	}
	now := time.Now()
	k.lastUpstream = now
	out.lastWrite = now
	k.mu.Lock() // the timer may fire before the assignment is done
	k.t = time.AfterFunc(k.nextDue(now, now), k.fire)
	k.mu.Unlock()
	return k
}

// upstreamActive notes an event (or the end) from the upstream.
func (k *keepAlive) upstreamActive() {
	if k.idle > 0 {
		k.mu.Lock()
		k.lastUpstream = time.Now()
		k.mu.Unlock()
	}
}

func (k *keepAlive) nextDue(lastWrite, lastUpstream time.Time) time.Duration {
	due := time.Until(lastWrite.Add(k.pingEvery))
	if k.idle > 0 {
		due = min(due, time.Until(lastUpstream.Add(k.idle)))
	}
	return max(due, time.Millisecond)
}

func (k *keepAlive) fire() {
	k.mu.Lock()
	lastUpstream, t := k.lastUpstream, k.t
	k.mu.Unlock()
	if k.idle > 0 && time.Since(lastUpstream) >= k.idle {
		k.cancel(errIdle)
		return
	}
	o := k.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.err != nil {
		return
	}
	if time.Since(o.lastWrite) >= k.pingEvery {
		o.writeLocked("ping", anthropic.Ping, true)
	}
	t.Reset(k.nextDue(o.lastWrite, lastUpstream))
}

// stop ends the pings; after it returns nothing more is written.
func (k *keepAlive) stop() {
	k.mu.Lock()
	t := k.t
	k.mu.Unlock()
	t.Stop()
	k.out.mu.Lock()
	k.out.closed = true
	k.out.mu.Unlock()
}
