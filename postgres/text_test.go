package postgres

import (
	"testing"

	"github.com/claudebridge/claudebridge"
)

// PostgreSQL's text holds neither the NUL character nor invalid UTF-8,
// which SQLite stores: a client sending them gets its own error, not a
// server failure.
func TestTextPostgreSQLCannotHoldIsTheClientsError(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	alice, err := db.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	c := &claudebridge.Conversation{UserID: alice.ID, Title: "chat", Model: "model-a"}
	if err := db.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	m := &claudebridge.Message{ConversationID: c.ID, Role: "user", Content: "fine", Status: claudebridge.MessageComplete}
	if err := db.AddMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		err  error
	}{
		{"a title with NUL", db.CreateConversation(ctx, &claudebridge.Conversation{UserID: alice.ID, Title: "a\x00b", Model: "model-a"})},
		{"a title of invalid UTF-8", db.UpdateConversation(ctx, &claudebridge.Conversation{ID: c.ID, UserID: alice.ID, Title: "a\xffb", Model: "model-a"})},
		{"a message with NUL", db.UpdateMessage(ctx, &claudebridge.Message{ID: m.ID, Content: "a\x00b", Status: claudebridge.MessageComplete})},
		{"a search with NUL", func() error { _, err := db.SearchConversations(ctx, alice.ID, "\x00", 10); return err }()},
		{"a cursor with NUL", func() error { _, _, err := db.Conversations(ctx, alice.ID, "1.\x00", 10); return err }()},
	} {
		if got, want := claudebridge.ErrorCode(tc.err), claudebridge.EINVALID; got != want {
			t.Errorf("%s: code %q (%v), want %q", tc.what, got, tc.err, want)
		}
	}
}
