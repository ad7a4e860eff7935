package chat

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge"
)

func TestMemoryBusDeliversATurnsEventsInOrderToItsSubscribersOnly(t *testing.T) {
	bus := NewMemoryBus()
	var got []int
	cancel, _ := bus.Subscribe(t.Context(), "turn_a", func(ev claudebridge.TurnEvent) { got = append(got, ev.After) })
	var other int
	bus.Subscribe(t.Context(), "turn_b", func(claudebridge.TurnEvent) { other++ })
	bus.Publish(t.Context(), []claudebridge.TurnEvent{{TurnID: "turn_a", After: 0}, {TurnID: "turn_a", After: 2}})
	cancel()
	bus.Publish(t.Context(), []claudebridge.TurnEvent{{TurnID: "turn_a", After: 4}})
	if len(got) != 2 {
		t.Fatalf("delivered %v, want the two events before cancel", got)
	}
	if got, want := got[1], 2; got != want {
		t.Errorf("second event after %d, want %d", got, want)
	}
	if got, want := other, 0; got != want {
		t.Errorf("another turn's subscriber got %d events, want %d", got, want)
	}
}

// stubOwner answers for a turn with fixed deltas.
type stubOwner struct{ stops int }

func (o *stubOwner) Snapshot(userID int64, after int) (claudebridge.TurnSnapshot, error) {
	return claudebridge.TurnSnapshot{After: after, Deltas: []string{"x"}}, nil
}

func (o *stubOwner) Stop(userID int64) error { o.stops++; return nil }

func TestMemoryBusAsksTheOwnerUntilItIsReleased(t *testing.T) {
	bus := NewMemoryBus()
	o := &stubOwner{}
	release := bus.Own("turn_a", o)
	snap, err := bus.Snapshot(t.Context(), "turn_a", 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := snap.After, 3; got != want {
		t.Errorf("snapshot after %d, want %d", got, want)
	}
	if err := bus.Stop(t.Context(), "turn_a", 1); err != nil {
		t.Fatal(err)
	}
	if got, want := o.stops, 1; got != want {
		t.Errorf("stops %d, want %d", got, want)
	}
	release()
	_, err = bus.Snapshot(t.Context(), "turn_a", 1, 3)
	if got, want := claudebridge.ErrorCode(err), claudebridge.ENOTFOUND; got != want {
		t.Errorf("snapshot of a released turn: %q, want %q", got, want)
	}
	if got, want := claudebridge.ErrorCode(bus.Stop(t.Context(), "turn_a", 1)), claudebridge.ENOTFOUND; got != want {
		t.Errorf("stop of a released turn: %q, want %q", got, want)
	}
}

func TestATurnIsShownAndStoppedOnTheBusOnlyForItsUser(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	tr := &turn{id: "turn_a", userID: 1, deltas: []string{"a", "b"}, cancel: cancel}
	o := turnOwner{tr}
	_, err := o.Snapshot(2, 0)
	if got, want := claudebridge.ErrorCode(err), claudebridge.ENOTFOUND; got != want {
		t.Errorf("another user's snapshot: %q, want %q", got, want)
	}
	if got, want := claudebridge.ErrorCode(o.Stop(2)), claudebridge.ENOTFOUND; got != want {
		t.Errorf("another user's stop: %q, want %q", got, want)
	}
	if ctx.Err() != nil {
		t.Fatal("another user's stop stopped the turn")
	}
	snap, err := o.Snapshot(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(snap.Deltas), 1; got != want {
		t.Errorf("deltas after 1: %d, want %d", got, want)
	}
	if err := o.Stop(1); err != nil {
		t.Fatal(err)
	}
	if got, want := context.Cause(ctx), errStopped; got != want {
		t.Errorf("stopped with %v, want %v", got, want)
	}
}

// countingBus counts the Publish calls and keeps their events.
type countingBus struct {
	*MemoryBus
	mu     sync.Mutex
	calls  int
	events []claudebridge.TurnEvent
}

func (b *countingBus) Publish(ctx context.Context, events []claudebridge.TurnEvent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	b.events = append(b.events, events...)
	return nil
}

// published returns the calls so far and their events.
func (b *countingBus) published() (int, []claudebridge.TurnEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls, b.events
}

func TestATurnsDeltasGoOnTheBusInBatchesThenItsEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &countingBus{MemoryBus: NewMemoryBus()}
		s := &Server{bus: bus, log: slog.New(slog.DiscardHandler)}
		s.publisher = &publisher{s: s}
		tr := &turn{id: "turn_a"}
		turnOwner{tr}.Snapshot(0, 0) // a follower elsewhere
		for _, d := range []string{"a", "b", "c"} {
			tr.mu.Lock()
			tr.deltas = append(tr.deltas, d)
			tr.mu.Unlock()
			s.publisher.mark(tr)
		}
		synctest.Wait()
		if got, want := first(bus.published()), 0; got != want {
			t.Fatalf("published %d times before %v, want %d", got, publishEvery, want)
		}
		// The time.Sleep of synctest's clock: instant.
		time.Sleep(publishEvery)
		synctest.Wait()
		calls, events := bus.published()
		if got, want := calls, 1; got != want {
			t.Fatalf("published %d times, want %d", got, want)
		}
		if got, want := len(events[0].Deltas), 3; got != want {
			t.Errorf("deltas in the batch %d, want %d", got, want)
		}
		tr.mu.Lock()
		tr.deltas = append(tr.deltas, "d")
		tr.done = &doneFrame{Seq: 4, Status: claudebridge.MessageComplete}
		tr.mu.Unlock()
		s.publisher.mark(tr)
		time.Sleep(publishEvery)
		synctest.Wait()
		calls, events = bus.published()
		if got, want := calls, 2; got != want {
			t.Fatalf("published %d times, want %d", got, want)
		}
		last := events[1]
		if got, want := last.After, 3; got != want {
			t.Errorf("second batch after %d, want %d", got, want)
		}
		if last.End == nil {
			t.Fatal("the end did not go with the last deltas")
		}
		if got, want := last.End.Seq, 4; got != want {
			t.Errorf("end seq %d, want %d", got, want)
		}
	})
}

func TestATurnNoOtherProcessFollowsPutsOnlyItsEndOnTheBus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &countingBus{MemoryBus: NewMemoryBus()}
		s := &Server{bus: bus, log: slog.New(slog.DiscardHandler)}
		s.publisher = &publisher{s: s}
		tr := &turn{id: "turn_a"}
		for _, d := range []string{"a", "b", "c"} {
			tr.mu.Lock()
			tr.deltas = append(tr.deltas, d)
			tr.mu.Unlock()
			s.publisher.mark(tr)
		}
		time.Sleep(publishEvery)
		synctest.Wait()
		if got, want := first(bus.published()), 0; got != want {
			t.Fatalf("published %d times with no follower, want %d", got, want)
		}
		tr.mu.Lock()
		tr.done = &doneFrame{Seq: 3, Status: claudebridge.MessageComplete}
		tr.mu.Unlock()
		s.publisher.mark(tr)
		time.Sleep(publishEvery)
		synctest.Wait()
		calls, events := bus.published()
		if got, want := calls, 1; got != want {
			t.Fatalf("published %d times, want %d", got, want)
		}
		if got, want := len(events[0].Deltas), 0; got != want {
			t.Errorf("deltas published %d, want %d", got, want)
		}
		if events[0].End == nil {
			t.Fatal("the end was not published")
		}
		if got, want := events[0].End.Seq, 3; got != want {
			t.Errorf("end seq %d, want %d", got, want)
		}
	})
}

func TestAFollowerElsewhereGetsOnTheBusTheDeltasPastItsSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &countingBus{MemoryBus: NewMemoryBus()}
		s := &Server{bus: bus, log: slog.New(slog.DiscardHandler)}
		s.publisher = &publisher{s: s}
		tr := &turn{id: "turn_a", userID: 7}
		for _, d := range []string{"a", "b"} {
			tr.mu.Lock()
			tr.deltas = append(tr.deltas, d)
			tr.mu.Unlock()
			s.publisher.mark(tr)
		}
		time.Sleep(publishEvery)
		synctest.Wait()
		snap, err := turnOwner{tr}.Snapshot(7, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(snap.Deltas), 1; got != want {
			t.Fatalf("snapshot deltas %d, want %d", got, want)
		}
		tr.mu.Lock()
		tr.deltas = append(tr.deltas, "c", "d")
		tr.mu.Unlock()
		s.publisher.mark(tr)
		time.Sleep(publishEvery)
		synctest.Wait()
		calls, events := bus.published()
		if got, want := calls, 1; got != want {
			t.Fatalf("published %d times, want %d", got, want)
		}
		if got, want := events[0].After, 2; got != want {
			t.Errorf("published after %d, want %d", got, want)
		}
		if got, want := strings.Join(events[0].Deltas, ""), "cd"; got != want {
			t.Errorf("published deltas %q, want %q", got, want)
		}
	})
}

func first(n int, _ []claudebridge.TurnEvent) int { return n }
