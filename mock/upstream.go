// Package mock holds hand-written doubles of the root interfaces, for unit
// tests of the code that wraps them (gateway, retry). Each method calls the
// function of the same name; a test sets the ones it expects to be called,
// and an unexpected call panics, which fails the test that made it.
package mock

import (
	"context"
	"io"
	"sync"

	"github.com/claudebridge/claudebridge"
)

// Upstream is a claudebridge.Upstream whose methods are functions.
type Upstream struct {
	MessagesFn    func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error)
	StreamFn      func(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error)
	CountTokensFn func(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error)
	ModelsFn      func(ctx context.Context) ([]claudebridge.Model, error)
}

var _ claudebridge.Upstream = (*Upstream)(nil)

func (u *Upstream) Messages(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
	return u.MessagesFn(ctx, r)
}

func (u *Upstream) Stream(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
	return u.StreamFn(ctx, r)
}

func (u *Upstream) CountTokens(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
	return u.CountTokensFn(ctx, r)
}

func (u *Upstream) Models(ctx context.Context) ([]claudebridge.Model, error) {
	return u.ModelsFn(ctx)
}

// Stream is a claudebridge.Stream that hands out Events in order, then Err
// (io.EOF when Err is nil). Next waits for Gate, when set, before each
// event: a test sends on it to let the next event through, or closes it.
// Close unblocks a waiting Next, which then returns ECANCELED.
type Stream struct {
	Events []claudebridge.Event
	Err    error
	Gate   chan struct{}

	mu     sync.Mutex
	next   int
	closed chan struct{}
	closes int
}

// Next returns the next event, Err after the last one, or ECANCELED once
// the stream is closed.
func (s *Stream) Next() (claudebridge.Event, error) {
	closed := s.closedChan()
	if s.Gate != nil {
		select {
		case <-s.Gate:
		case <-closed:
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-closed:
		return claudebridge.Event{}, claudebridge.Errorf(claudebridge.ECANCELED, "stream closed")
	default:
	}
	if s.next < len(s.Events) {
		s.next++
		return s.Events[s.next-1], nil
	}
	if s.Err != nil {
		return claudebridge.Event{}, s.Err
	}
	return claudebridge.Event{}, io.EOF
}

// Close ends the stream; it may be called more than once.
func (s *Stream) Close() error {
	closed := s.closedChan()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closes == 0 {
		close(closed)
	}
	s.closes++
	return nil
}

// Closed reports whether Close was called.
func (s *Stream) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closes > 0
}

func (s *Stream) closedChan() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == nil {
		s.closed = make(chan struct{})
	}
	return s.closed
}

// Dropping is an Upstream that leaves out the field tools.0.strict and the
// beta flag made-up-2099-01-01 of every call, as Bedrock's upstream does for
// a model that refuses them, and notes both in the call's Dropped: a door
// names them "fields=tools.0.strict; betas=made-up-2099-01-01". Messages
// answers body, Stream hands out events, CountTokens counts 7.
func Dropping(body []byte, events []claudebridge.Event) *Upstream {
	note := func(ctx context.Context) {
		d := claudebridge.DroppedFrom(ctx)
		d.Fields("tools.0.strict")
		d.Betas("made-up-2099-01-01")
	}
	return &Upstream{
		MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
			note(ctx)
			return &claudebridge.Response{Body: body}, nil
		},
		StreamFn: func(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
			note(ctx)
			return &Stream{Events: events}, nil
		},
		CountTokensFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
			note(ctx)
			return &claudebridge.TokenCount{InputTokens: 7}, nil
		},
	}
}
