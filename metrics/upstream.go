package metrics

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// Upstream records the calls made through it as calls of Door: for a door
// that has no HTTP answer per call of its own (the chat, whose turns are
// frames on a WebSocket), the upstream's answer is the call's. Statuses
// are those the Anthropic API would answer with. CountTokens and Models
// pass through unrecorded. The member that served a call is read from the
// context's claudebridge.ServedBy, which Upstream adds when it has none.
type Upstream struct {
	Next    claudebridge.Upstream
	Metrics *Metrics
	Door    Door
	// Key is the "key" label of every call (KeyLabel); "": KeyNone.
	Key string
}

// servedBy returns ctx with a ServedBy to read the member from.
func servedBy(ctx context.Context) (context.Context, *claudebridge.ServedBy) {
	if s := claudebridge.ServedByFrom(ctx); s != nil {
		return ctx, s
	}
	return claudebridge.WithServedBy(ctx)
}

var _ claudebridge.Upstream = (*Upstream)(nil)

// status is the Anthropic status of a call that ended with err.
func status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	s, _ := anthropic.Status(claudebridge.ErrorCode(err))
	return s
}

// Messages records the call with the answer's usage.
func (u *Upstream) Messages(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
	start := time.Now()
	ctx, served := servedBy(ctx)
	resp, err := u.Next.Messages(ctx, r)
	c := Call{Door: u.Door, Model: r.Model, Status: status(err), Duration: time.Since(start), Key: u.Key, Member: served.Member(), Caller: claudebridge.CallerFrom(ctx)}
	if resp != nil {
		c.Usage = resp.Usage
	}
	u.Metrics.Observe(c)
	return resp, err
}

// Stream records the call when the stream ends: its last event read, a
// failure, or Close.
func (u *Upstream) Stream(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
	start := time.Now()
	ctx, served := servedBy(ctx)
	s, err := u.Next.Stream(ctx, r)
	if err != nil {
		u.Metrics.Observe(Call{Door: u.Door, Model: r.Model, Status: status(err), Duration: time.Since(start), Key: u.Key, Member: served.Member(), Caller: claudebridge.CallerFrom(ctx)})
		return nil, err
	}
	u.Metrics.StreamOpened(u.Door)
	return &tallied{Stream: s, u: u, model: r.Model, served: served, caller: claudebridge.CallerFrom(ctx), tally: Tally{Start: start}}, nil
}

// CountTokens is not recorded.
func (u *Upstream) CountTokens(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
	return u.Next.CountTokens(ctx, r)
}

// Models is not recorded.
func (u *Upstream) Models(ctx context.Context) ([]claudebridge.Model, error) {
	return u.Next.Models(ctx)
}

// Ready forwards to Next when it can tell its readiness; else it is ready.
func (u *Upstream) Ready(ctx context.Context) error {
	if r, ok := u.Next.(claudebridge.Readier); ok {
		return r.Ready(ctx)
	}
	return nil
}

// tallied is a stream whose events are tallied, and recorded once at its
// end. Close may come from another goroutine than Next: the lock keeps
// the tally whole.
type tallied struct {
	claudebridge.Stream
	u      *Upstream
	model  string
	served *claudebridge.ServedBy
	caller claudebridge.Caller

	mu    sync.Mutex
	tally Tally
	ended bool
}

func (t *tallied) Next() (claudebridge.Event, error) {
	ev, err := t.Stream.Next()
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err == io.EOF:
		t.endLocked(nil)
	case err != nil:
		t.endLocked(err)
	default:
		t.tally.Event(ev.Type, ev.Data)
	}
	return ev, err
}

func (t *tallied) Close() error {
	t.mu.Lock()
	t.endLocked(claudebridge.Errorf(claudebridge.ECANCELED, "closed before its end"))
	t.mu.Unlock()
	return t.Stream.Close()
}

func (t *tallied) endLocked(err error) {
	if t.ended {
		return
	}
	t.ended = true
	t.u.Metrics.StreamClosed(t.u.Door)
	t.u.Metrics.Observe(Call{Door: t.u.Door, Model: t.model, Status: status(err), Duration: time.Since(t.tally.Start),
		FirstToken: t.tally.FirstToken, Usage: t.tally.Usage, Key: t.u.Key, Member: t.served.Member(), Caller: t.caller})
}
