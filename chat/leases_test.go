package chat

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge"
)

// lostLeases is a store that renews a lease once, then never again.
type lostLeases struct {
	claudebridge.TurnLeaseService
	mu      sync.Mutex
	renewed int
}

func (l *lostLeases) RenewTurnLease(context.Context, string, time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.renewed++; l.renewed > 1 {
		return claudebridge.Errorf(claudebridge.EINTERNAL, "the database is unreachable")
	}
	return nil
}

func (l *lostLeases) InterruptLapsed(context.Context, time.Time, time.Duration) ([]claudebridge.InterruptedMessage, error) {
	return nil, nil
}

func TestAProcessThatCannotRenewItsLeaseStopsItsTurnsBeforeItLapses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{Models: func(context.Context) ([]claudebridge.Model, error) { return nil, nil },
			Leases: &lostLeases{}, Lease: 3 * time.Second})
		defer s.stopLease(context.Background(), false)
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		if err := s.turns.reserve(1, "conv_a"); err != nil {
			t.Fatal(err)
		}
		s.turns.enter(&turn{id: "turn_a", conv: &claudebridge.Conversation{ID: "conv_a"}, cancel: cancel})
		time.Sleep(time.Second + time.Millisecond) // the first renewal that fails
		synctest.Wait()
		if ctx.Err() != nil {
			t.Fatalf("stopped with %v a second after the last renewal, want running", context.Cause(ctx))
		}
		time.Sleep(time.Second) // the second: the lease would lapse before the next
		synctest.Wait()
		if got, want := context.Cause(ctx), errLeaseLost; got != want {
			t.Errorf("cause %v, want %v", got, want)
		}
	})
}
