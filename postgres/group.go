package postgres

import (
	"context"
	"errors"
	"sync"
	"time"
)

// group sends what concurrent callers ask of the database together: while
// one caller's round trip is out, those that come meanwhile queue, and the
// first of them sends every one queued in the next. Alone, a caller pays
// one round trip, as it would on its own; under load, many share one, and
// nobody waits on a timer.
type group[T any] struct {
	mu      sync.Mutex
	pending []groupItem[T]
	sending bool // a round trip is out, or about to be
}

type groupItem[T any] struct {
	v    T
	done chan error // the round trip's error, or errYourTurn
}

// errYourTurn tells a queued caller to send the queue.
var errYourTurn = errors.New("postgres: your turn to send")

// do queues v, and returns once a send of a batch holding it returned,
// with send's error. send gets the batch in the order the callers came.
func (g *group[T]) do(v T, send func([]T) error) error {
	me := groupItem[T]{v: v, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, me)
	lead := !g.sending
	g.sending = true
	g.mu.Unlock()
	if !lead {
		if err := <-me.done; err != errYourTurn {
			return err
		}
	}
	g.mu.Lock()
	queued := g.pending
	g.pending = nil
	g.mu.Unlock()
	batch := make([]T, len(queued))
	for i, q := range queued {
		batch[i] = q.v
	}
	err := send(batch)
	for _, q := range queued {
		if q.done != me.done {
			q.done <- err
		}
	}
	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].done <- errYourTurn
	} else {
		g.sending = false
	}
	g.mu.Unlock()
	return err
}

// batchContext is the context of a batch sent for many callers: the
// sending caller's values and deadline without its cancellation (the
// batch is everyone's), bounded by 30 s. An EndCall's sender bounds its
// batch as it bounds its wait (limits.Lease's 5 s), as when ends were
// sent apart from takes.
func batchContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}
