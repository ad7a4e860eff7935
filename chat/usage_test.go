package chat_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/chat"
	"github.com/claudebridge/claudebridge/cost"
	"github.com/claudebridge/claudebridge/sqlite"
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

func TestAnswerCutByACrashCountsItsTokensAtStartUp(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	user, err := db.EnsureUser(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	conv := &claudebridge.Conversation{UserID: user.ID, Title: "t", Model: testModel}
	if err := db.CreateConversation(ctx, conv); err != nil {
		t.Fatal(err)
	}
	q := &claudebridge.Message{ConversationID: conv.ID, Role: "user", Content: "question", Status: claudebridge.MessageComplete}
	if err := db.AddMessage(ctx, q); err != nil {
		t.Fatal(err)
	}
	// What a dead process left: an answer saved while it streamed, with
	// message_start's output count only.
	text := strings.Repeat("word ", 100)
	a := &claudebridge.Message{ConversationID: conv.ID, Role: "assistant", Status: claudebridge.MessageStreaming, Model: testModel}
	if err := db.AddMessage(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.Content, a.Usage.OutputTokens = text, 1
	if err := db.UpdateMessage(ctx, a); err != nil {
		t.Fatal(err)
	}

	list, err := db.InterruptLapsed(ctx, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := chat.RecordInterrupted(ctx, db, db, list); err != nil {
		t.Fatal(err)
	}
	want := (len(text) + 3) / 4
	msgs, err := db.Messages(ctx, user.ID, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[1]
	if got := m.Status; got != claudebridge.MessageInterrupted {
		t.Errorf("status %q, want %q", got, claudebridge.MessageInterrupted)
	}
	if got := m.Usage.OutputTokens; got != want {
		t.Errorf("stored output tokens %d, want %d", got, want)
	}
	if got := m.OutputTokensCounted; !got {
		t.Errorf("stored OutputTokensCounted %v, want true", got)
	}
	rows, err := db.Usage(ctx, user.ID, "", "")
	if err != nil || len(rows) != 1 {
		t.Fatalf("usage rows %+v, %v", rows, err)
	}
	// The ledger gets what the count adds to the stored count (a continued
	// answer's earlier part was added when it ended).
	if got := rows[0].Usage.OutputTokens; got != want-1 {
		t.Errorf("ledger output tokens %d, want %d", got, want-1)
	}
	if got := rows[0].CountedOutputTokens; got != want-1 {
		t.Errorf("ledger counted output tokens %d, want %d", got, want-1)
	}
	if got := rows[0].CostUSD; got <= 0 {
		t.Errorf("ledger cost %v, want more than 0", got)
	}
}

func TestATurnsCallCarriesItsUserForBudgetsAndTheLedger(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	s.startTurn(map[string]any{"type": "send", "conversation_id": "", "text": "hello"})
	if _, _, done := s.follow(0, 0); done.Status != "complete" {
		t.Fatalf("done %+v", done)
	}
	user, err := e.db.EnsureUser(context.Background(), chat.LocalUser)
	if err != nil {
		t.Fatal(err)
	}
	e.upstream.mu.Lock()
	caller := e.upstream.caller
	e.upstream.mu.Unlock()
	if got, want := caller.UserID, user.ID; got != want {
		t.Errorf("the call's user %d, want the local user's %d", got, want)
	}
}

func TestATurnIsALedgerEntryWithItsPricesVersionLatencyAndStatus(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	s.startTurn(map[string]any{"type": "send", "conversation_id": "", "text": "hello [[words=20]]"})
	_, _, done := s.follow(0, 0)
	if done.Status != "complete" {
		t.Fatalf("done %+v", done)
	}
	db, err := sql.Open("sqlite", "file:"+e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var door, version, requestID string
	var status int
	var latency, firstToken int64
	var costUSD float64
	if err := db.QueryRow(`SELECT door, price_version, request_id, status, latency_ns, first_token_ns, cost_usd FROM ledger`).Scan(
		&door, &version, &requestID, &status, &latency, &firstToken, &costUSD); err != nil {
		t.Fatal(err)
	}
	if got, want := door, "chat"; got != want {
		t.Errorf("door %q, want %q", got, want)
	}
	if got, want := version, cost.Builtin().Version; got != want {
		t.Errorf("price version %q, want %q", got, want)
	}
	if got, want := requestID, done.TurnID; got != want {
		t.Errorf("request id %q, want the turn's %q", got, want)
	}
	if got, want := status, 200; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if latency <= 0 || firstToken <= 0 || firstToken > latency {
		t.Errorf("latency %d ns, first token %d ns: want 0 < first token <= latency", latency, firstToken)
	}
	if got, want := costUSD, done.CostUSD; got != want {
		t.Errorf("cost %v, want the turn's %v", got, want)
	}
}
