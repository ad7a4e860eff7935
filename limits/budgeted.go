package limits

import (
	"context"
	"sync"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// Budgeted is an Upstream that holds the calls made for a virtual key
// away from the doors (claudebridge.CallerFrom's Key, with no Ticket: the
// Message Batches API's) to that key's Budget, as Entry.Admit holds the
// doors' calls. Calls with a Ticket were admitted at their door already;
// calls of no key, or of a key without a budget, pass.
type Budgeted struct {
	claudebridge.Upstream
	Keyring *Keyring
}

// budget returns the key's budget a call of ctx is held to, nil if none.
func (u Budgeted) budget(ctx context.Context) (Budget, claudebridge.Caller) {
	who := claudebridge.CallerFrom(ctx)
	if who.Key == "" || ticketFrom(ctx) != nil {
		return nil, who
	}
	if e := u.Keyring.Named(who.Key); e != nil && e.Budget != nil {
		return e.Budget, claudebridge.Caller{Key: who.Key}
	}
	return nil, who
}

// Messages reserves the call's worst case, calls the upstream, and
// settles with the answer's usage (none when it failed).
func (u Budgeted) Messages(ctx context.Context, req *claudebridge.Request) (*claudebridge.Response, error) {
	b, who := u.budget(ctx)
	if b == nil {
		return u.Upstream.Messages(ctx, req)
	}
	settle, err := b.ReserveCall(ctx, who, req.Model, req.JSON(), MaxTokens(req))
	if err != nil {
		return nil, err
	}
	resp, err := u.Upstream.Messages(ctx, req)
	if err != nil {
		settle(claudebridge.Usage{})
		return nil, err
	}
	settle(resp.Usage)
	return resp, nil
}

// Stream reserves the call's worst case and settles when the stream ends
// (or is closed, cut) with the usage its events gave.
func (u Budgeted) Stream(ctx context.Context, req *claudebridge.Request) (claudebridge.Stream, error) {
	b, who := u.budget(ctx)
	if b == nil {
		return u.Upstream.Stream(ctx, req)
	}
	settle, err := b.ReserveCall(ctx, who, req.Model, req.JSON(), MaxTokens(req))
	if err != nil {
		return nil, err
	}
	s, err := u.Upstream.Stream(ctx, req)
	if err != nil {
		settle(claudebridge.Usage{})
		return nil, err
	}
	return &settling{Stream: s, settle: settle}, nil
}

// Ready forwards to the upstream when it can tell its readiness.
func (u Budgeted) Ready(ctx context.Context) error {
	if r, ok := u.Upstream.(claudebridge.Readier); ok {
		return r.Ready(ctx)
	}
	return nil
}

// settling is a stream that settles its reservation once, when it ends.
// Close may come from another goroutine than Next (a cut).
type settling struct {
	claudebridge.Stream
	settle func(claudebridge.Usage) // only its first call counts
	mu     sync.Mutex
	usage  claudebridge.Usage
}

func (s *settling) Next() (claudebridge.Event, error) {
	ev, err := s.Stream.Next()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil { // io.EOF or a failure
		s.settle(s.usage)
		return ev, err
	}
	anthropic.AddEventUsage(&s.usage, ev.Type, ev.Data)
	return ev, nil
}

func (s *settling) Close() error {
	s.mu.Lock()
	s.settle(s.usage)
	s.mu.Unlock()
	return s.Stream.Close()
}
