package postgres

import (
	"testing"

	"github.com/claudebridge/claudebridge"
)

// PostgreSQL's text holds no NUL character, so a message with one fails
// the import's second COPY, after the conversations' went in: the whole
// import is undone.
func TestAnImportThatFailsPartWayStoresNothing(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	alice, err := db.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	err = db.ImportConversations(ctx, []claudebridge.ImportedConversation{
		{
			Conversation: &claudebridge.Conversation{UserID: alice.ID, Title: "fine", Model: "model-a"},
			Messages:     []*claudebridge.Message{{Role: "user", Content: "hello", Status: claudebridge.MessageComplete}},
		},
		{
			Conversation: &claudebridge.Conversation{UserID: alice.ID, Title: "broken", Model: "model-a"},
			Messages:     []*claudebridge.Message{{Role: "user", Content: "nul \x00 here", Status: claudebridge.MessageComplete}},
		},
	})
	if err == nil {
		t.Fatal("ImportConversations with a NUL character: no error")
	}
	list, _, err := db.Conversations(ctx, alice.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 0; got != want {
		t.Errorf("conversations after a failed import %d, want %d", got, want)
	}
}
