package limits

import (
	"context"

	"github.com/claudebridge/claudebridge"
)

// Paced is an Upstream that holds calls no client is waiting on (the
// Message Batches API's) to the limits of the virtual key that made them
// (claudebridge.CallerFrom's Key): its model list, cost cap and budget
// refuse a call as they would at a door, but its requests, tokens and
// calls in flight per minute pace the calls rather than refuse them, each
// waiting for room (Entry.Wait). Those calls count against the key's
// limits as its doors' calls do, so that a key's limits bound all it asks
// of the upstream, whichever way it asks. Calls of no virtual key, or of a
// key Keys does not know, pass.
type Paced struct {
	// Next serves the calls. It must report their usage to the ticket in
	// the context (Upstream does), for the key's token count to hold what
	// they really used.
	Next claudebridge.Upstream
	// Keys returns the live virtual key of a name, nil if none
	// (Keyring.Named).
	Keys func(name string) *Entry
}

var _ claudebridge.Upstream = (*Paced)(nil)

// wait admits r for its caller's key, waiting for room; a nil ticket when
// no key holds it.
func (p *Paced) wait(ctx context.Context, r *claudebridge.Request) (*Ticket, error) {
	who := claudebridge.CallerFrom(ctx).Key
	if who == "" {
		return nil, nil
	}
	e := p.Keys(who)
	if e == nil {
		return nil, nil
	}
	return e.Wait(ctx, r.Model, r.JSON(), MaxTokens(r))
}

// Messages waits for room, then calls Next; the call leaves the key's
// count of calls in flight when it returns.
func (p *Paced) Messages(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
	t, err := p.wait(ctx, r)
	if err != nil {
		return nil, err
	}
	defer t.Release()
	return p.Next.Messages(WithTicket(ctx, t), r)
}

// Stream waits for room, then calls Next; the call leaves the key's count
// of calls in flight when the stream ends (its last event read, a
// failure) or is closed.
func (p *Paced) Stream(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
	t, err := p.wait(ctx, r)
	if err != nil {
		return nil, err
	}
	s, err := p.Next.Stream(WithTicket(ctx, t), r)
	if err != nil || t == nil {
		t.Release()
		return s, err
	}
	return &released{Stream: s, t: t}, nil
}

// CountTokens counts against no limit, as at the doors.
func (p *Paced) CountTokens(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
	return p.Next.CountTokens(ctx, r)
}

// Models counts against no limit.
func (p *Paced) Models(ctx context.Context) ([]claudebridge.Model, error) { return p.Next.Models(ctx) }

// Ready forwards to Next when it can tell its readiness; else it is ready.
func (p *Paced) Ready(ctx context.Context) error {
	if r, ok := p.Next.(claudebridge.Readier); ok {
		return r.Ready(ctx)
	}
	return nil
}

// released is a stream that releases its ticket when it ends (Release
// counts once).
type released struct {
	claudebridge.Stream
	t *Ticket
}

func (s *released) Next() (claudebridge.Event, error) {
	ev, err := s.Stream.Next()
	if err != nil {
		s.t.Release()
	}
	return ev, err
}

func (s *released) Close() error {
	err := s.Stream.Close()
	s.t.Release()
	return err
}
