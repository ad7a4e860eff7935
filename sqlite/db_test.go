package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

func open(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chat.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func users(t *testing.T, db *DB) (alice, bob *claudebridge.User) {
	t.Helper()
	ctx := context.Background()
	alice, err := db.CreateUser(ctx, "alice", "hash-a")
	if err != nil {
		t.Fatal(err)
	}
	bob, err = db.EnsureUser(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	return alice, bob
}

func TestImportIsAllOrNothing(t *testing.T) {
	db, _ := open(t)
	alice, _ := users(t, db)
	ctx := context.Background()
	msgs := func() []*claudebridge.Message {
		return []*claudebridge.Message{
			{Role: "user", Content: "q", Status: claudebridge.MessageComplete},
			{Role: "assistant", Content: "a", Status: claudebridge.MessageComplete, Usage: claudebridge.Usage{OutputTokens: 3}},
		}
	}
	good := claudebridge.ImportedConversation{Conversation: &claudebridge.Conversation{UserID: alice.ID, Title: "one", Model: "m"}, Messages: msgs()}
	// A conversation of a user that does not exist fails the foreign key:
	// the first, already written in the transaction, must go too.
	bad := claudebridge.ImportedConversation{Conversation: &claudebridge.Conversation{UserID: 9999, Title: "two", Model: "m"}, Messages: msgs()}
	if err := db.ImportConversations(ctx, []claudebridge.ImportedConversation{good, bad}); err == nil {
		t.Fatal("import with a bad conversation succeeded")
	}
	if list, _, _ := db.Conversations(ctx, alice.ID, "", 10); len(list) != 0 {
		t.Fatalf("a failed import left %d conversations", len(list))
	}
	good = claudebridge.ImportedConversation{Conversation: &claudebridge.Conversation{UserID: alice.ID, Title: "one", Model: "m"}, Messages: msgs()}
	if err := db.ImportConversations(ctx, []claudebridge.ImportedConversation{good}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Messages(ctx, alice.ID, good.Conversation.ID)
	if err != nil || len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 2 || got[1].Usage.OutputTokens != 3 || got[1].ConversationID != good.Conversation.ID {
		t.Fatalf("imported messages: %+v, %v", got, err)
	}
}

// The store suite sees a deleted conversation's messages and a removed
// user's rows gone through the interfaces; this checks the tables, where
// a foreign key left off would leave them behind unseen.
func TestDeletingLeavesNoRowsBehind(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	alice, bob := users(t, db)
	for _, u := range []*claudebridge.User{alice, bob} {
		c := &claudebridge.Conversation{UserID: u.ID, Title: "t", Model: "m"}
		if err := db.CreateConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := db.AddMessage(ctx, &claudebridge.Message{ConversationID: c.ID, Role: "user", Content: "hi", Status: claudebridge.MessageComplete}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreatePrompt(ctx, &claudebridge.Prompt{UserID: u.ID, Name: "p", Text: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := db.AddUsage(ctx, u.ID, "2026-01-01", "m", claudebridge.Usage{InputTokens: 1}, 0, false); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSession(ctx, u.ID, "token-"+u.Name, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	bobs, _, err := db.Conversations(ctx, bob.ID, "", 10)
	if err != nil || len(bobs) != 1 {
		t.Fatalf("bob's conversations: %d, %v", len(bobs), err)
	}
	if err := db.DeleteConversation(ctx, bob.ID, bobs[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		table string
		want  int
	}{{"users", 1}, {"sessions", 1}, {"conversations", 0}, {"messages", 0}, {"prompts", 1}, {"usage", 1}} {
		var n int
		if err := db.r.QueryRow(`SELECT count(*) FROM ` + tc.table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if got, want := n, tc.want; got != want {
			t.Errorf("rows left in %s: %d, want %d", tc.table, got, want)
		}
	}
}
