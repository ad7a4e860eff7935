package limits

import (
	"context"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// Upstream reports the usage of the calls whose context carries a Ticket
// (WithTicket) to that ticket, so that a key's token count holds what its
// calls really used; other calls pass through untouched.
type Upstream struct {
	claudebridge.Upstream
}

// Messages reports the answer's usage; a call that failed used no tokens.
func (u Upstream) Messages(ctx context.Context, req *claudebridge.Request) (*claudebridge.Response, error) {
	resp, err := u.Upstream.Messages(ctx, req)
	if t := ticketFrom(ctx); t != nil {
		if err != nil {
			t.Report(claudebridge.Usage{})
		} else {
			t.Report(resp.Usage)
		}
	}
	return resp, err
}

// Stream reports the usage message_start and message_delta carry, as they
// pass; a stream that failed to start used no tokens.
func (u Upstream) Stream(ctx context.Context, req *claudebridge.Request) (claudebridge.Stream, error) {
	s, err := u.Upstream.Stream(ctx, req)
	t := ticketFrom(ctx)
	if t == nil {
		return s, err
	}
	if err != nil {
		t.Report(claudebridge.Usage{})
		return s, err
	}
	if b, ok := s.(claudebridge.BufferedStream); ok {
		return &bufferedReporting{reporting{Stream: s, t: t}, b}, nil
	}
	return &reporting{Stream: s, t: t}, nil
}

type reporting struct {
	claudebridge.Stream
	t     *Ticket
	usage claudebridge.Usage
}

func (r *reporting) Next() (claudebridge.Event, error) {
	ev, err := r.Stream.Next()
	if err == nil && anthropic.AddEventUsage(&r.usage, ev.Type, ev.Data) {
		r.t.Report(r.usage)
	}
	return ev, err
}

type bufferedReporting struct {
	reporting
	b claudebridge.BufferedStream
}

func (r *bufferedReporting) Buffered() bool { return r.b.Buffered() }

// Ready forwards to the upstream when it can tell its readiness; else it
// is ready.
func (u Upstream) Ready(ctx context.Context) error {
	if r, ok := u.Upstream.(claudebridge.Readier); ok {
		return r.Ready(ctx)
	}
	return nil
}
