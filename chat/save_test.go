package chat_test

import (
	"slices"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/chat"
)

// waitBatch waits up to 10 s for a SaveStreamingTexts of at least n texts.
func (e *env) waitBatch(n int) {
	e.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		l := e.saves
		l.mu.Lock()
		found, changed := slices.ContainsFunc(l.batches, func(b int) bool { return b >= n }), l.changed
		l.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			e.t.Fatalf("no save of %d answers at once in 10 s", n)
		}
	}
}

func TestTheAnswersBeingWrittenAreSavedTogetherAndEachEndStoresItsWholeText(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	var socks []*sock
	var turns []frame
	for range 3 {
		s := c.socket()
		socks = append(socks, s)
		turns = append(turns, s.startTurn(map[string]any{"type": "send", "text": "Long one [[slow=20]] [[words=150]]"}))
	}
	e.waitBatch(3)
	// One is stopped mid-way, the others run to their end: each stores
	// the text its socket got, with its status, whatever saves ran.
	stopped, _, _ := socks[0].follow(0, 5)
	socks[0].send(map[string]any{"type": "stop", "turn_id": turns[0].TurnID})
	rest, _, done := socks[0].follow(5, 0)
	if got, want := done.Status, "stopped"; got != want {
		t.Errorf("stopped turn's status %q, want %q", got, want)
	}
	texts := []string{stopped + rest}
	for _, s := range socks[1:] {
		text, _, done := s.follow(0, 0)
		if got, want := done.Status, "complete"; got != want {
			t.Errorf("status %q, want %q", got, want)
		}
		texts = append(texts, text)
	}
	for i, turn := range turns {
		m := c.conversation(turn.ConversationID).Messages[1]
		if got, want := m.Content, texts[i]; got != want {
			t.Errorf("turn %d stored %q, want what its socket got, %q", i, got, want)
		}
		if got, want := m.Status, []string{"stopped", "complete", "complete"}[i]; got != want {
			t.Errorf("turn %d stored status %q, want %q", i, got, want)
		}
	}
}

// oneAtATime is a store without SaveStreamingTexts.
type oneAtATime struct {
	claudebridge.ConversationService
}

func TestAStoreWithoutBatchSavesGetsEachGrowingAnswerByUpdateMessage(t *testing.T) {
	e := newEnv(t, true)
	e.configure = func(o *chat.Options) { o.Conversations = oneAtATime{o.Conversations} }
	e.shut()
	e.open()
	c := e.localClient()
	s := c.socket()
	turn := s.startTurn(map[string]any{"type": "send", "text": "Long one [[slow=20]] [[words=150]]"})
	seen, last, _ := s.follow(0, 5)
	e.waitSave(turn.MessageID, grownPast(seen))
	s.send(map[string]any{"type": "stop", "turn_id": turn.TurnID})
	rest, _, done := s.follow(last, 0)
	if got, want := done.Status, "stopped"; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	m := c.conversation(turn.ConversationID).Messages[1]
	if got, want := m.Content, seen+rest; got != want {
		t.Errorf("stored %q, want what the socket got, %q", got, want)
	}
	if got, want := m.Status, "stopped"; got != want {
		t.Errorf("stored status %q, want %q", got, want)
	}
	e.saves.mu.Lock()
	defer e.saves.mu.Unlock()
	if got := len(e.saves.batches); got != 0 {
		t.Errorf("%d batch saves, want none from a store without them", got)
	}
}
