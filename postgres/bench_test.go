package postgres

import (
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/pgtest"
)

// BenchmarkAddAndUpdateMessage is a chat turn's writes: its answer
// appended streaming, then saved as it ends.
func BenchmarkAddAndUpdateMessage(b *testing.B) {
	db, err := Open(b.Context(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := b.Context()
	alice, err := db.CreateUser(ctx, "alice", "hash")
	if err != nil {
		b.Fatal(err)
	}
	c := &claudebridge.Conversation{UserID: alice.ID, Title: "chat", Model: "model-a"}
	if err := db.CreateConversation(ctx, c); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m := &claudebridge.Message{ConversationID: c.ID, Role: "assistant", Status: claudebridge.MessageStreaming, Model: "model-a"}
		if err := db.AddMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
		m.Content, m.Status = "An answer of a few words.", claudebridge.MessageComplete
		m.Usage = claudebridge.Usage{InputTokens: 100, OutputTokens: 7}
		if err := db.UpdateMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
