package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/pgtest"
)

// twoProcesses opens two buses on one database, each on a store of its
// own, as two serve processes do; both are closed by t.Cleanup.
func twoProcesses(t *testing.T) (a, b *Bus) {
	t.Helper()
	url := pgtest.URL(t)
	open := func() *Bus {
		db, err := Open(t.Context(), url)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		bus, err := OpenBus(t.Context(), db)
		if err != nil {
			t.Fatalf("OpenBus: %v", err)
		}
		t.Cleanup(func() { bus.Close(); db.Close() })
		return bus
	}
	return open(), open()
}

// collect subscribes to turnID and returns the channel its events come on.
func collect(t *testing.T, bus *Bus, turnID string) <-chan claudebridge.TurnEvent {
	t.Helper()
	ch := make(chan claudebridge.TurnEvent, 1000)
	cancel, err := bus.Subscribe(t.Context(), turnID, func(ev claudebridge.TurnEvent) { ch <- ev })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return ch
}

// next returns the next event of ch, failing t after 10 s without one.
func next(t *testing.T, ch <-chan claudebridge.TurnEvent) claudebridge.TurnEvent {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event in 10 s")
		return claudebridge.TurnEvent{}
	}
}

func TestEventsPublishedByOneProcessReachAnothersSubscriberInOrder(t *testing.T) {
	a, b := twoProcesses(t)
	got := collect(t, b, "turn_a")
	other := collect(t, b, "turn_b")
	for i := range 3 {
		if err := a.Publish(t.Context(), []claudebridge.TurnEvent{{TurnID: "turn_a", After: 2 * i, Deltas: []string{"x", "y"}}}); err != nil {
			t.Fatal(err)
		}
	}
	a.Publish(t.Context(), []claudebridge.TurnEvent{{TurnID: "turn_a", After: 6, End: &claudebridge.TurnEnd{Seq: 6, Status: "complete"}}})
	for i := range 3 {
		if got, want := next(t, got).After, 2*i; got != want {
			t.Fatalf("event %d after %d, want %d", i, got, want)
		}
	}
	end := next(t, got)
	if end.End == nil {
		t.Fatal("the end did not arrive")
	}
	if got, want := end.End.Status, "complete"; got != want {
		t.Errorf("end status %q, want %q", got, want)
	}
	if got, want := len(other), 0; got != want {
		t.Errorf("another turn's subscriber got %d events, want %d", got, want)
	}
}

// stubOwner runs a turn of user 1 with fixed deltas.
type stubOwner struct {
	deltas []string
	stops  chan struct{}
}

func (o *stubOwner) Snapshot(userID int64, after int) (claudebridge.TurnSnapshot, error) {
	if userID != 1 {
		return claudebridge.TurnSnapshot{}, claudebridge.Errorf(claudebridge.ENOTFOUND, "no such turn")
	}
	return claudebridge.TurnSnapshot{After: after, Deltas: o.deltas[after:]}, nil
}

func (o *stubOwner) Stop(userID int64) error {
	if userID != 1 {
		return claudebridge.Errorf(claudebridge.ENOTFOUND, "no such turn")
	}
	o.stops <- struct{}{}
	return nil
}

func TestASnapshotAndAStopAreAnsweredByTheProcessRunningTheTurn(t *testing.T) {
	a, b := twoProcesses(t)
	owner := &stubOwner{deltas: []string{"a", "b", "c"}, stops: make(chan struct{}, 1)}
	defer a.Own("turn_a", owner)()
	snap, err := b.Snapshot(t.Context(), "turn_a", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(snap.Deltas, ""), "bc"; got != want {
		t.Errorf("snapshot deltas %q, want %q", got, want)
	}
	if got, want := snap.After, 1; got != want {
		t.Errorf("snapshot after %d, want %d", got, want)
	}
	if err := b.Stop(t.Context(), "turn_a", 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-owner.stops:
	default:
		t.Error("the stop was answered before the owner stopped the turn")
	}
	_, err = b.Snapshot(t.Context(), "turn_a", 2, 0)
	if got, want := claudebridge.ErrorCode(err), claudebridge.ENOTFOUND; got != want {
		t.Errorf("another user's snapshot: %q, want %q", got, want)
	}
}

func TestATurnNoProcessRunsIsNotFound(t *testing.T) {
	_, b := twoProcesses(t)
	b.answerWithin = 100 * time.Millisecond
	_, err := b.Snapshot(t.Context(), "turn_gone", 1, 0)
	if got, want := claudebridge.ErrorCode(err), claudebridge.ENOTFOUND; got != want {
		t.Errorf("snapshot: %q, want %q", got, want)
	}
	if got, want := claudebridge.ErrorCode(b.Stop(t.Context(), "turn_gone", 1)), claudebridge.ENOTFOUND; got != want {
		t.Errorf("stop: %q, want %q", got, want)
	}
}

// PostgreSQL refuses a payload of 8000 bytes or more: a long answer's
// snapshot and a busy process's batch go in several.
func TestABigSnapshotAndABigBatchArriveWhole(t *testing.T) {
	a, b := twoProcesses(t)
	deltas := make([]string, 200)
	for i := range deltas {
		deltas[i] = strings.Repeat("é€😀 \"<>\n", 40) // 1 KB of what JSON and UTF-8 make longer
	}
	defer a.Own("turn_long", &stubOwner{deltas: deltas})()
	snap, err := b.Snapshot(t.Context(), "turn_long", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(snap.Deltas, ""), strings.Join(deltas, ""); got != want {
		t.Errorf("snapshot of %d bytes, want %d", len(got), len(want))
	}

	got := collect(t, b, "turn_long")
	var events []claudebridge.TurnEvent
	for i := range 50 {
		events = append(events, claudebridge.TurnEvent{TurnID: "turn_long", After: i, Deltas: deltas[i : i+1]})
	}
	events = append(events, claudebridge.TurnEvent{TurnID: "turn_long", After: 50, Deltas: []string{strings.Repeat("x", 20000)}})
	if err := a.Publish(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	for i := range 51 {
		ev := next(t, got)
		if got, want := ev.After, i; got != want {
			t.Fatalf("event %d after %d, want %d", i, got, want)
		}
		if i < 50 && ev.Deltas[0] != deltas[i] {
			t.Fatalf("event %d: delta changed on the way", i)
		}
	}
}

func TestASubscriberIsToldWhenTheConnectionWasCut(t *testing.T) {
	a, b := twoProcesses(t)
	got := collect(t, b, "turn_a")
	if _, err := a.db.pool.Exec(t.Context(), `SELECT pg_terminate_backend($1)`, int64(b.pid.Load())); err != nil {
		t.Fatal(err)
	}
	ev := next(t, got)
	if got, want := ev.Lost, true; got != want {
		t.Fatalf("event %+v, want one saying events were lost", ev)
	}
	// And the bus works again.
	a.Publish(context.Background(), []claudebridge.TurnEvent{{TurnID: "turn_a", After: 7}})
	if got, want := next(t, got).After, 7; got != want {
		t.Errorf("after the cut: event after %d, want %d", got, want)
	}
}
