package chat_test

import (
	"testing"
	"time"
)

func TestStoppedAnswerCountsTheTokensItProduced(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	turn := s.startTurn(map[string]any{"type": "send", "text": "Go on [[slow=20]] [[words=300]]"})
	partial, n, _ := s.follow(0, 30)
	s.send(map[string]any{"type": "stop", "turn_id": turn.TurnID})
	rest, _, done := s.follow(n, 0)
	text := partial + rest
	want := (len(text) + 3) / 4 // one token per started 4 bytes
	if got := done.Status; got != "stopped" {
		t.Fatalf("done status %q, want stopped", got)
	}
	if got := done.Usage.OutputTokens; got != want {
		t.Errorf("done output_tokens %d, want %d (counted from %d bytes)", got, want, len(text))
	}
	if got := done.Counted; !got {
		t.Errorf("done output_tokens_counted %v, want true", got)
	}

	m := c.conversation(turn.ConversationID).Messages[1]
	if got := m.Usage.OutputTokens; got != want {
		t.Errorf("stored output_tokens %d, want %d", got, want)
	}
	if got := m.Counted; !got {
		t.Errorf("stored output_tokens_counted %v, want true", got)
	}

	var usage struct {
		Data []struct {
			OutputTokens        int `json:"output_tokens"`
			CountedOutputTokens int `json:"counted_output_tokens"`
		} `json:"data"`
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if status, body := c.do("GET", "/api/usage?from="+today+"&to="+today, nil, &usage); status != 200 || len(usage.Data) != 1 {
		t.Fatalf("usage: %d %s", status, body)
	}
	if got := usage.Data[0].OutputTokens; got != want {
		t.Errorf("ledger output_tokens %d, want %d", got, want)
	}
	if got := usage.Data[0].CountedOutputTokens; got != want {
		t.Errorf("ledger counted_output_tokens %d, want %d", got, want)
	}
}

func TestCompleteAnswerKeepsTheModelsCount(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	turn := s.startTurn(map[string]any{"type": "send", "text": "Hello [[words=30]]"})
	_, _, done := s.follow(0, 0)
	if got := done.Counted; got {
		t.Errorf("done output_tokens_counted %v, want false", got)
	}
	if got := c.conversation(turn.ConversationID).Messages[1].Counted; got {
		t.Errorf("stored output_tokens_counted %v, want false", got)
	}
}
