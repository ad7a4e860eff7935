package chat_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/chat"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/internal/pgtest"
	"github.com/claudebridge/claudebridge/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// cluster is several serve processes behind a load balancer on one
// database: each node is a chat server with a handle of its own on the
// database, its own owner and lease, and its end of the bus; they share
// the CSRF secret (a page works against any of them).
type cluster struct {
	t        *testing.T
	path     string // SQLite's file, or PostgreSQL's URL
	postgres bool
	upstream *recordingUpstream
	secret   []byte
	// bus carries turns between SQLite's nodes (in one process, as
	// SQLite's are); PostgreSQL's each have their own end of its bus.
	bus claudebridge.TurnBus
	// leases, if set, wraps the next nodes' leases (to watch them).
	leases func(claudebridge.TurnLeaseService) claudebridge.TurnLeaseService
}

// lease is the nodes' TURN_LEASE.
const lease = 10 * time.Second

func newCluster(t *testing.T) *cluster {
	emu := httptest.NewServer(anthropicemu.New(anthropicemu.Options{}))
	t.Cleanup(emu.Close)
	up := &recordingUpstream{Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: emu.URL, Key: anthropicapi.StaticKey("sk-test")})}
	return &cluster{t: t, path: filepath.Join(t.TempDir(), "chat.db"), upstream: up, secret: []byte("cluster secret, 32 bytes long.."),
		bus: chat.NewMemoryBus()}
}

// onEachEngine runs test on a cluster on SQLite, then on PostgreSQL
// (skipped where none is installed, as pgtest says).
func onEachEngine(t *testing.T, test func(t *testing.T, cl *cluster)) {
	t.Run("SQLite", func(t *testing.T) { test(t, newCluster(t)) })
	t.Run("PostgreSQL", func(t *testing.T) {
		cl := newCluster(t)
		cl.path, cl.postgres = pgtest.URL(t), true
		test(t, cl)
	})
}

// node starts one more process of the cluster.
func (c *cluster) node() *env {
	e := &env{t: c.t, path: c.path, upstream: c.upstream, local: true}
	var bus *postgres.Bus
	if c.postgres {
		e.openDB = func() (claudebridge.Store, error) {
			db, err := postgres.Open(context.Background(), c.path)
			if err != nil {
				return nil, err
			}
			if bus, err = postgres.OpenBus(context.Background(), db); err != nil {
				db.Close()
				return nil, err
			}
			return db, nil
		}
	}
	e.configure = func(o *chat.Options) {
		o.Leases, o.Lease, o.Secret = e.db, lease, c.secret
		if c.leases != nil {
			o.Leases = c.leases(e.db)
		}
		if bus != nil {
			o.Bus, e.closeBus = bus, bus.Close
		} else {
			nb := &nodeBus{TurnBus: c.bus}
			o.Bus, e.closeBus = nb, nb.cut
		}
	}
	e.open()
	c.t.Cleanup(e.shut)
	return e
}

// nodeBus is a SQLite node's end of the cluster's MemoryBus, which a kill
// cuts: its turns no longer answer, its events no longer go out.
type nodeBus struct {
	claudebridge.TurnBus
	dead atomic.Bool
}

func (b *nodeBus) cut() error {
	b.dead.Store(true)
	return nil
}

func (b *nodeBus) Own(turnID string, owner claudebridge.TurnOwner) func() {
	return b.TurnBus.Own(turnID, nodeOwner{owner, &b.dead})
}

func (b *nodeBus) Publish(ctx context.Context, events []claudebridge.TurnEvent) error {
	if b.dead.Load() {
		return nil
	}
	return b.TurnBus.Publish(ctx, events)
}

type nodeOwner struct {
	claudebridge.TurnOwner
	dead *atomic.Bool
}

func (o nodeOwner) Snapshot(userID int64, after int) (claudebridge.TurnSnapshot, error) {
	if o.dead.Load() {
		return claudebridge.TurnSnapshot{}, claudebridge.Errorf(claudebridge.ENOTFOUND, "no such turn")
	}
	return o.TurnOwner.Snapshot(userID, after)
}

func (o nodeOwner) Stop(userID int64) error {
	if o.dead.Load() {
		return claudebridge.Errorf(claudebridge.ENOTFOUND, "no such turn")
	}
	return o.TurnOwner.Stop(userID)
}

// kill cuts a node off its database and the bus as kill -9 would: nothing
// it does is stored or heard any more, and its lease is no longer renewed.
func (e *env) kill() {
	if e.closeBus != nil {
		e.closeBus()
	}
	e.db.Close()
}

func TestAnAnswerOfAKilledProcessIsInterruptedOnceItsLeaseLapsesAndContinuedElsewhere(t *testing.T) {
	onEachEngine(t, func(t *testing.T, cl *cluster) {
		a, b := cl.node(), cl.node()
		s := a.localClient().socket()
		turn := s.startTurn(map[string]any{"type": "send", "text": "Long one [[slow=60]] [[words=40]]"})
		seen, _, _ := s.follow(0, 5)
		a.waitSave(turn.MessageID, grownPast(seen))
		a.kill()

		cb := b.localClient()
		if err := chat.Sweep(b.chat, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got, want := cb.conversation(turn.ConversationID).Messages[1].Status, "streaming"; got != want {
			t.Fatalf("while the killed process's lease runs: status %q, want %q", got, want)
		}
		if err := chat.Sweep(b.chat, time.Now().Add(lease+time.Second)); err != nil {
			t.Fatal(err)
		}
		m := cb.conversation(turn.ConversationID).Messages[1]
		if got, want := m.Status, "interrupted"; got != want {
			t.Fatalf("once its lease lapsed: status %q, want %q", got, want)
		}
		if !strings.HasPrefix(m.Content, seen) {
			t.Errorf("interrupted text %q, want the saved %q and on", m.Content, seen)
		}
		if got, want := m.Counted, true; got != want {
			t.Errorf("output tokens counted %v, want %v", got, want)
		}

		sb := cb.socket()
		next := sb.startTurn(map[string]any{"type": "continue", "conversation_id": turn.ConversationID})
		if got, want := next.MessageID, turn.MessageID; got != want {
			t.Errorf("continued message %s, want %s", got, want)
		}
		more, _, done := sb.follow(0, 0)
		if got, want := done.Status, "complete"; got != want {
			t.Fatalf("continued from the other process: done %q, want %q", got, want)
		}
		if got, want := cb.conversation(turn.ConversationID).Messages[1].Content, m.Content+more; got != want {
			t.Errorf("stored %q, want %q", got, want)
		}
	})
}

func TestAnotherProcessShowsARunningTurnFromWhereThePageWas(t *testing.T) {
	onEachEngine(t, func(t *testing.T, cl *cluster) {
		a, b := cl.node(), cl.node()
		first := a.localClient().socket()
		turn := first.startTurn(map[string]any{"type": "send", "text": "Hi [[slow=20]] [[words=120]]"})
		head, k, _ := first.follow(0, 4)
		first.conn.CloseNow()

		// The page reconnects through the load balancer, to the other process.
		cb := b.localClient()
		second := cb.socket()
		second.send(map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": k})
		tail, _, done := second.follow(k, 0)
		if got, want := done.Status, "complete"; got != want {
			t.Fatalf("done %q, want %q", got, want)
		}
		if got, want := cb.conversation(turn.ConversationID).Messages[1].Content, head+tail; got != want {
			t.Errorf("stored %q, streamed %q", got, want)
		}
		// From zero, once the turn has ended: every delta again, then done.
		third := cb.socket()
		third.send(map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": 0})
		if all, _, _ := third.follow(0, 0); all != head+tail {
			t.Errorf("replay from the other process %q, want %q", all, head+tail)
		}
	})
}

func TestStopOnAnotherProcessStopsTheTurnAndKeepsItsText(t *testing.T) {
	onEachEngine(t, func(t *testing.T, cl *cluster) {
		a, b := cl.node(), cl.node()
		sa := a.localClient().socket()
		turn := sa.startTurn(map[string]any{"type": "send", "text": "Go on [[slow=40]] [[words=200]]"})
		sa.follow(0, 2)

		cb := b.localClient()
		sb := cb.socket()
		sb.send(map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": 0})
		partial, n, _ := sb.follow(0, 3)
		sb.send(map[string]any{"type": "stop", "turn_id": turn.TurnID})
		stopped := time.Now()
		rest, _, done := sb.follow(n, 0)
		if waited := time.Since(stopped); waited > time.Second {
			t.Errorf("done came %v after stop", waited)
		}
		if got, want := done.Status, "stopped"; got != want {
			t.Fatalf("done %q, want %q", got, want)
		}
		m := cb.conversation(turn.ConversationID).Messages[1]
		if got, want := m.Status, "stopped"; got != want {
			t.Errorf("stored status %q, want %q", got, want)
		}
		if got, want := m.Content, partial+rest; got != want || got == "" {
			t.Errorf("stored %q, streamed %q", got, want)
		}
	})
}

func TestAFollowerOnAnotherProcessIsToldTheTurnOfAKilledProcessWasInterrupted(t *testing.T) {
	onEachEngine(t, func(t *testing.T, cl *cluster) {
		a, b := cl.node(), cl.node()
		sa := a.localClient().socket()
		turn := sa.startTurn(map[string]any{"type": "send", "text": "Long one [[slow=60]] [[words=40]]"})
		sa.follow(0, 2)
		sb := b.localClient().socket()
		sb.send(map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": 0})
		_, n, _ := sb.follow(0, 3)
		a.kill()
		if err := chat.Sweep(b.chat, time.Now().Add(lease+time.Second)); err != nil {
			t.Fatal(err)
		}
		_, _, done := sb.follow(n, 0)
		if got, want := done.Status, "interrupted"; got != want {
			t.Errorf("done %q, want %q", got, want)
		}
	})
}

// scriptedBus carries a turn that runs nowhere: the test delivers its
// events and answers its snapshots, in the order it chooses.
type scriptedBus struct {
	claudebridge.TurnBus // for the node's own turns
	subscribed           chan func(claudebridge.TurnEvent)
	asked                chan int // the seq each snapshot asks after
	snapshots            chan claudebridge.TurnSnapshot
}

func (b *scriptedBus) Subscribe(_ context.Context, _ string, deliver func(claudebridge.TurnEvent)) (func(), error) {
	b.subscribed <- deliver
	return func() {}, nil
}

func (b *scriptedBus) Snapshot(_ context.Context, _ string, _ int64, after int) (claudebridge.TurnSnapshot, error) {
	b.asked <- after
	return <-b.snapshots, nil
}

func TestAFollowerOnTheBusWritesEachDeltaOnceAndFillsAGapOrALossFromASnapshot(t *testing.T) {
	cl := newCluster(t)
	bus := &scriptedBus{TurnBus: chat.NewMemoryBus(), subscribed: make(chan func(claudebridge.TurnEvent), 1),
		asked: make(chan int, 1), snapshots: make(chan claudebridge.TurnSnapshot, 1)}
	cl.bus = bus
	e := cl.node()
	streamingElsewhere(t, e, "turn_elsewhere")
	s := e.localClient().socket()
	s.send(map[string]any{"type": "resume", "turn_id": "turn_elsewhere", "after_seq": 1})
	deliver := <-bus.subscribed
	// Published between the subscription and the snapshot: in both.
	deliver(claudebridge.TurnEvent{TurnID: "turn_elsewhere", After: 1, Deltas: []string{"b", "c"}})
	if got, want := <-bus.asked, 1; got != want {
		t.Fatalf("first snapshot after %d, want %d", got, want)
	}
	bus.snapshots <- claudebridge.TurnSnapshot{After: 1, Deltas: []string{"b", "c", "d"}}
	deliver(claudebridge.TurnEvent{TurnID: "turn_elsewhere", After: 3, Deltas: []string{"d", "e"}})
	deliver(claudebridge.TurnEvent{TurnID: "turn_elsewhere", After: 6, Deltas: []string{"g"}}) // "f" was lost
	if got, want := <-bus.asked, 5; got != want {
		t.Fatalf("snapshot after the gap asked after %d, want %d", got, want)
	}
	bus.snapshots <- claudebridge.TurnSnapshot{After: 5, Deltas: []string{"f", "g", "h"}}
	// The bus's connection was cut: what came meanwhile is asked for.
	deliver(claudebridge.TurnEvent{TurnID: "turn_elsewhere", Lost: true})
	if got, want := <-bus.asked, 8; got != want {
		t.Fatalf("snapshot after a loss asked after %d, want %d", got, want)
	}
	bus.snapshots <- claudebridge.TurnSnapshot{After: 8, Deltas: []string{"i"},
		End: &claudebridge.TurnEnd{Seq: 9, Status: "complete"}}
	text, last, done := s.follow(1, 0)
	if got, want := text, "bcdefghi"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if got, want := last, 9; got != want {
		t.Errorf("last seq %d, want %d", got, want)
	}
	if got, want := done.Status, "complete"; got != want {
		t.Errorf("done %q, want %q", got, want)
	}
}

func TestDeletingAConversationOnAnotherProcessStopsItsTurn(t *testing.T) {
	onEachEngine(t, func(t *testing.T, cl *cluster) {
		a, b := cl.node(), cl.node()
		sa := a.localClient().socket()
		turn := sa.startTurn(map[string]any{"type": "send", "text": "Go on [[slow=40]] [[words=200]]"})
		_, n, _ := sa.follow(0, 2)
		cb := b.localClient()
		if status, body := cb.do("DELETE", "/api/conversations/"+turn.ConversationID, nil, nil); status != 204 {
			t.Fatalf("DELETE: %d %s", status, body)
		}
		_, _, done := sa.follow(n, 0)
		if got, want := done.Status, "stopped"; got != want {
			t.Errorf("done %q, want %q", got, want)
		}
	})
}

func TestAFollowerOnAnotherProcessSeesTheTurnEndWhenItsProcessShutsDown(t *testing.T) {
	onEachEngine(t, func(t *testing.T, cl *cluster) {
		a, b := cl.node(), cl.node()
		sa := a.localClient().socket()
		turn := sa.startTurn(map[string]any{"type": "send", "text": "Long one [[slow=40]] [[words=200]]"})
		sa.follow(0, 2)
		sb := b.localClient().socket()
		sb.send(map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": 0})
		_, n, _ := sb.follow(0, 3)
		a.shut() // Ctrl-C, the grace spent: then the bus closes with the process
		_, _, done := sb.follow(n, 0)
		if got, want := done.Status, "interrupted"; got != want {
			t.Errorf("done %q, want %q", got, want)
		}
	})
}

// watchedLeases says when the chat has found a turn streaming.
type watchedLeases struct {
	claudebridge.TurnLeaseService
	found chan string
}

func (l watchedLeases) TurnStreaming(ctx context.Context, userID int64, turnID string) (bool, error) {
	ok, err := l.TurnLeaseService.TurnStreaming(ctx, userID, turnID)
	if ok {
		select {
		case l.found <- turnID:
		default:
		}
	}
	return ok, err
}

func TestAPageResumingATurnOfAKilledProcessIsToldItsEndOnceSwept(t *testing.T) {
	onEachEngine(t, func(t *testing.T, cl *cluster) {
		a := cl.node()
		found := make(chan string, 1)
		cl.leases = func(l claudebridge.TurnLeaseService) claudebridge.TurnLeaseService { return watchedLeases{l, found} }
		b := cl.node()
		sa := a.localClient().socket()
		turn := sa.startTurn(map[string]any{"type": "send", "text": "Long one [[slow=60]] [[words=40]]"})
		sa.follow(0, 2)
		a.kill()
		// The page reloads on the other process: the answer is stored
		// streaming, and no process answers for its turn.
		sb := b.localClient().socket()
		sb.send(map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": 0})
		sb.send(map[string]any{"type": "resume", "turn_id": "turn_long_gone", "after_seq": 0})
		if f := sb.read(); f.Type != "done" || f.TurnID != "turn_long_gone" || f.Status != "unknown" {
			t.Fatalf("resume of a turn long gone: %+v, want done unknown", f)
		}
		select {
		case id := <-found:
			if got, want := id, turn.TurnID; got != want {
				t.Fatalf("found %s streaming, want %s", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the chat did not look the turn up in the store in 10 s")
		}
		if err := chat.Sweep(b.chat, time.Now().Add(lease+time.Second)); err != nil {
			t.Fatal(err)
		}
		f := sb.read()
		if got, want := f.TurnID, turn.TurnID; got != want {
			t.Fatalf("frame of turn %q, want %q", got, want)
		}
		if got, want := f.Status, "interrupted"; got != want {
			t.Errorf("done %q, want %q", got, want)
		}
	})
}

// streamingElsewhere stores an answer of the local user that turnID,
// running on another process, writes (as every running turn's is).
func streamingElsewhere(t *testing.T, e *env, turnID string) {
	t.Helper()
	ctx := context.Background()
	conv := &claudebridge.Conversation{UserID: mustLocal(t, e.db), Title: "t", Model: testModel}
	if err := e.db.CreateConversation(ctx, conv); err != nil {
		t.Fatal(err)
	}
	m := &claudebridge.Message{ConversationID: conv.ID, Role: "assistant", Status: claudebridge.MessageStreaming, TurnID: turnID}
	if err := e.db.AddMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
}

func TestASendOrAnEditOnAnotherProcessInAConversationBeingAnsweredIsRefusedAndChangesNothing(t *testing.T) {
	onEachEngine(t, func(t *testing.T, cl *cluster) {
		a, b := cl.node(), cl.node()
		sa := a.localClient().socket()
		turn := sa.startTurn(map[string]any{"type": "send", "text": "Go on [[slow=40]] [[words=200]]"})
		sa.follow(0, 2)

		cb := b.localClient()
		sb := cb.socket()
		sb.send(map[string]any{"type": "send", "conversation_id": turn.ConversationID, "text": "and another thing"})
		if f := sb.read(); f.Type != "error" || f.Code != "invalid_request_error" {
			t.Fatalf("a send on B while A answers: %+v, want an invalid_request_error", f)
		}
		sb.send(map[string]any{"type": "edit", "conversation_id": turn.ConversationID, "message_id": turn.UserMessageID, "text": "rewritten"})
		if f := sb.read(); f.Type != "error" || f.Code != "invalid_request_error" {
			t.Fatalf("an edit on B while A answers: %+v, want an invalid_request_error", f)
		}
		if _, _, done := sa.follow(2, 0); done.Status != "complete" {
			t.Fatalf("A's answer ended %q, want complete", done.Status)
		}
		conv := cb.conversation(turn.ConversationID)
		if got, want := len(conv.Messages), 2; got != want {
			t.Fatalf("messages after A's turn: %d, want %d (B's refused send and edit changed nothing)", got, want)
		}
		if got, want := conv.Messages[0].Content, "Go on [[slow=40]] [[words=200]]"; got != want {
			t.Errorf("the question %q, want %q", got, want)
		}
		// Its turn ended, the conversation is free for B.
		next := sb.startTurn(map[string]any{"type": "send", "conversation_id": turn.ConversationID, "text": "thanks [[words=3]]"})
		if _, _, done := sb.follow(0, 0); done.Status != "complete" {
			t.Fatalf("B's turn after A's ended %q, want complete", done.Status)
		}
		if got, want := len(cb.conversation(next.ConversationID).Messages), 4; got != want {
			t.Errorf("messages after B's turn: %d, want %d", got, want)
		}
	})
}

// A send without a conversation is stored with its turn's start, in one
// step: refused before it (too many turns of the user's), it leaves no
// empty conversation behind.
func TestASendRefusedForTooManyTurnsLeavesNoConversationBehind(t *testing.T) {
	onEachEngine(t, func(t *testing.T, cl *cluster) {
		a := cl.node()
		c := a.localClient()
		s := c.socket()
		var turns []frame
		for i := range 4 { // TurnsPerUser's default
			turns = append(turns, s.startTurn(map[string]any{"type": "send", "text": fmt.Sprint("long ", i, " [[slow=40]] [[words=200]]")}))
		}
		s.send(map[string]any{"type": "send", "text": "a fifth"})
		for {
			f := s.read()
			if f.Type == "error" {
				if f.Code != "rate_limit_error" {
					t.Fatalf("a fifth turn: %+v, want a rate_limit_error", f)
				}
				break
			}
			if f.Type == "turn" {
				t.Fatalf("a fifth turn started: %+v", f)
			}
		}
		var list struct{ Data []struct{ ID string } }
		if status, body := c.do("GET", "/api/conversations", nil, &list); status != 200 {
			t.Fatalf("conversations: %d %s", status, body)
		}
		if got, want := len(list.Data), len(turns); got != want {
			t.Errorf("conversations after a refused fifth send: %d, want %d", got, want)
		}
		for _, f := range turns {
			s.send(map[string]any{"type": "stop", "turn_id": f.TurnID})
		}
	})
}
