package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/claudebridge/claudebridge"
)

func TestSearchFindsTitlesAndMessageTextOfItsUserOnly(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	alice, bob := users(t, db)
	conv := func(user int64, title string, texts ...string) string {
		c := &claudebridge.Conversation{UserID: user, Title: title, Model: "m"}
		if err := db.CreateConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
		for _, text := range texts {
			if err := db.AddMessage(ctx, &claudebridge.Message{ConversationID: c.ID, Role: "user", Content: text, Status: claudebridge.MessageComplete}); err != nil {
				t.Fatal(err)
			}
		}
		return c.ID
	}
	byTitle := conv(alice.ID, "Gardening Tips", "what grows in shade?")
	byText := conv(alice.ID, "Other", "hello", "tell me about GARDENING in winter")
	conv(alice.ID, "Cooking", "pasta")
	conv(bob.ID, "gardening too", "bob's")
	wild := conv(alice.ID, "Rates", "it went up 100% today")

	list, err := db.SearchConversations(ctx, alice.ID, "gardening", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 2; got != want {
		t.Fatalf("found %d conversations, want %d: %+v", got, want, list)
	}
	if got, want := list[0].ID, byText; got != want {
		t.Errorf("first hit %s, want the most recently updated %s", got, want)
	}
	if got, want := list[1].ID, byTitle; got != want {
		t.Errorf("second hit %s, want %s", got, want)
	}

	// LIKE's wildcards in the query match themselves.
	list, err = db.SearchConversations(ctx, alice.ID, "0%", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 1; got != want {
		t.Fatalf("%q found %d conversations, want %d", "0%", got, want)
	}
	if got, want := list[0].ID, wild; got != want {
		t.Errorf("%q found %s, want %s", "0%", got, want)
	}
	if list, _ := db.SearchConversations(ctx, alice.ID, "_", 10); len(list) != 0 {
		t.Errorf("%q found %d conversations, want none", "_", len(list))
	}

	if _, err := db.SearchConversations(ctx, alice.ID, "  ", 10); claudebridge.ErrorCode(err) != claudebridge.EINVALID {
		t.Errorf("empty query: %v, want EINVALID", err)
	}
}

func TestCountedOutputTokensAreMarkedInMessagesAndUsage(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	alice, _ := users(t, db)
	c := &claudebridge.Conversation{UserID: alice.ID, Title: "t", Model: "m"}
	if err := db.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	m := &claudebridge.Message{ConversationID: c.ID, Role: "assistant", Status: claudebridge.MessageStreaming}
	if err := db.AddMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	m.Status, m.Usage.OutputTokens, m.OutputTokensCounted = claudebridge.MessageStopped, 12, true
	if err := db.UpdateMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	msgs, err := db.Messages(ctx, alice.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := msgs[0].OutputTokensCounted, true; got != want {
		t.Errorf("stored OutputTokensCounted %v, want %v", got, want)
	}

	db.AddUsage(ctx, alice.ID, "2026-03-01", "m", claudebridge.Usage{InputTokens: 5, OutputTokens: 30}, 0.1, false)
	db.AddUsage(ctx, alice.ID, "2026-03-01", "m", claudebridge.Usage{InputTokens: 5, OutputTokens: 12}, 0.05, true)
	rows, err := db.Usage(ctx, alice.ID, "2026-03-01", "2026-03-01")
	if err != nil || len(rows) != 1 {
		t.Fatalf("usage rows %+v, %v", rows, err)
	}
	if got, want := rows[0].Usage.OutputTokens, 42; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
	if got, want := rows[0].CountedOutputTokens, 12; got != want {
		t.Errorf("counted output tokens %d, want %d", got, want)
	}
}

func TestMigrationTwoKeepsAVersionOneDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		migrations[0],
		`INSERT INTO schema_migrations VALUES (1, 0)`,
		`INSERT INTO users (id, name, created_at) VALUES (1, 'alice', 0)`,
		`INSERT INTO conversations VALUES ('conv_1', 1, 't', 'm', '', 0, 0)`,
		`INSERT INTO messages (id, conversation_id, seq, role, content, status, output_tokens, created_at, updated_at)
			VALUES ('msg_1', 'conv_1', 1, 'assistant', 'old answer', 'complete', 9, 0, 0)`,
		`INSERT INTO usage (user_id, day, model, output_tokens) VALUES (1, '2026-01-01', 'm', 9)`,
	} {
		if _, err := old.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	msgs, err := db.Messages(context.Background(), 1, "conv_1")
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages after migrating: %+v, %v", msgs, err)
	}
	if got, want := msgs[0].OutputTokensCounted, false; got != want {
		t.Errorf("an old answer's OutputTokensCounted %v, want %v", got, want)
	}
	rows, err := db.Usage(context.Background(), 1, "", "")
	if err != nil || len(rows) != 1 {
		t.Fatalf("usage after migrating: %+v, %v", rows, err)
	}
	if got, want := rows[0].CountedOutputTokens, 0; got != want {
		t.Errorf("old usage's counted output tokens %d, want %d", got, want)
	}
}
