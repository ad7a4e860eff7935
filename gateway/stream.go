package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

type streamItem struct {
	ev  claudebridge.Event
	err error
}

// stream copies an upstream stream to the client as SSE, one flushed event
// per upstream event. Pings go out after PingInterval of silence, before the
// upstream's first byte too. An error before anything was written is an
// ordinary error response with its status; after that it is an SSE error
// event, and the stream ends. The upstream call is cancelled the moment the
// client goes away.
func (g *Gateway) stream(ctx context.Context, w http.ResponseWriter, req *claudebridge.Request, id string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan streamItem, 64)
	go g.pump(ctx, req, items)

	rc := http.NewResponseController(w)
	started := false
	start := func() {
		h := w.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
		w.WriteHeader(http.StatusOK)
		started = true
	}
	fail := func(err error) error {
		if !started {
			anthropic.WriteError(w, err, id)
			return err
		}
		anthropic.WriteEvent(w, "error", anthropic.ErrorJSON(err, id))
		rc.Flush()
		return err
	}

	pingEvery := g.PingInterval
	if pingEvery <= 0 {
		pingEvery = 15 * time.Second
	}
	ping := time.NewTimer(pingEvery)
	defer ping.Stop()
	idleTimer := newIdle(g.ReadTimeout)
	defer idleTimer.stop()
	idle := idleTimer.c()

	// Events already waiting are written together and flushed once: the
	// client sees each event as soon as the upstream's next one is not yet
	// there, and a burst costs one write instead of one per event.
	var buf []byte
	for {
		select {
		case it := <-items:
			if it.err != nil {
				if it.err == io.EOF {
					return nil
				}
				return fail(it.err)
			}
			idleTimer.reset()
			if !started {
				start()
			}
			buf = anthropic.AppendEvent(buf[:0], it.ev.Type, it.ev.Data)
			for more := len(items); more > 0; more-- {
				next := <-items
				if next.err != nil {
					items = requeue(next)
					break
				}
				buf = anthropic.AppendEvent(buf, next.ev.Type, next.ev.Data)
			}
			if _, err := w.Write(buf); err != nil {
				return claudebridge.Errorf(claudebridge.ECANCELED, "client went away")
			}
			rc.Flush()
			ping.Reset(pingEvery)
		case <-ping.C:
			if !started {
				start()
			}
			if err := anthropic.WriteEvent(w, "ping", anthropic.Ping); err != nil {
				return claudebridge.Errorf(claudebridge.ECANCELED, "client went away")
			}
			rc.Flush()
			ping.Reset(pingEvery)
		case <-idle:
			return fail(claudebridge.Errorf(claudebridge.ETIMEOUT, "The upstream sent nothing for %s", g.ReadTimeout))
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fail(claudebridge.Errorf(claudebridge.ETIMEOUT, "The request took longer than %s", g.RequestTimeout))
			}
			return claudebridge.Errorf(claudebridge.ECANCELED, "client went away")
		}
	}
}

// requeue returns a channel holding only it: the end of a stream met while
// draining a burst is handled on the next turn of the loop, after the burst
// is written. The pump sends nothing after an error, so nothing is lost.
func requeue(it streamItem) chan streamItem {
	c := make(chan streamItem, 1)
	c <- it
	return c
}

// pump reads the upstream stream into items until it ends, fails, or ctx is
// cancelled. It owns the upstream stream and closes it.
func (g *Gateway) pump(ctx context.Context, req *claudebridge.Request, items chan<- streamItem) {
	send := func(it streamItem) bool {
		select {
		case items <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	s, err := g.Upstream.Stream(ctx, req)
	if err != nil {
		send(streamItem{err: err})
		return
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() }) // unblocks Next when the client leaves
	defer stop()
	for {
		ev, err := s.Next()
		if !send(streamItem{ev: ev, err: err}) || err != nil {
			return
		}
	}
}

// idleTimer fires after d without reset; with d == 0 it never fires.
type idleTimer struct {
	d time.Duration
	t *time.Timer
}

func newIdle(d time.Duration) *idleTimer {
	it := &idleTimer{d: d}
	if d > 0 {
		it.t = time.NewTimer(d)
	}
	return it
}

func (it *idleTimer) c() <-chan time.Time {
	if it.t == nil {
		return nil
	}
	return it.t.C
}

func (it *idleTimer) reset() {
	if it.t != nil {
		it.t.Reset(it.d)
	}
}

func (it *idleTimer) stop() {
	if it.t != nil {
		it.t.Stop()
	}
}
