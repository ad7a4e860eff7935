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

func TestMigrationsIdempotent(t *testing.T) {
	db, path := open(t)
	alice, _ := users(t, db)
	db.Close()
	for range 2 {
		again, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := again.r.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
			t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(migrations))
		}
		u, _, err := again.UserByName(context.Background(), "alice")
		if err != nil || u.ID != alice.ID {
			t.Fatalf("user after reopening: %+v, %v", u, err)
		}
		again.Close()
	}
}

func TestUsersAndSessions(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	alice, bob := users(t, db)
	if _, err := db.CreateUser(ctx, "alice", "x"); claudebridge.ErrorCode(err) != claudebridge.EINVALID {
		t.Fatalf("duplicate user: %v", err)
	}
	if again, err := db.EnsureUser(ctx, "bob"); err != nil || again.ID != bob.ID {
		t.Fatalf("EnsureUser twice: %+v %v", again, err)
	}
	if n, err := db.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("CountUsers = %d, %v; want 1 (bob has no password)", n, err)
	}
	if _, hash, err := db.UserByName(ctx, "alice"); err != nil || hash != "hash-a" {
		t.Fatalf("UserByName: %q %v", hash, err)
	}
	if _, _, err := db.UserByName(ctx, "carol"); claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		t.Fatalf("absent user: %v", err)
	}
	if err := db.CreateSession(ctx, alice.ID, "live", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, alice.ID, "old", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if u, err := db.SessionUser(ctx, "live"); err != nil || u.ID != alice.ID {
		t.Fatalf("SessionUser: %+v %v", u, err)
	}
	if _, err := db.SessionUser(ctx, "old"); claudebridge.ErrorCode(err) != claudebridge.EAUTH {
		t.Fatalf("expired session: %v", err)
	}
	db.DeleteSession(ctx, "live")
	if _, err := db.SessionUser(ctx, "live"); claudebridge.ErrorCode(err) != claudebridge.EAUTH {
		t.Fatalf("deleted session: %v", err)
	}
}

func TestConversationsMessagesIsolationPaging(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	alice, bob := users(t, db)
	var ids []string
	for i := range 5 {
		c := &claudebridge.Conversation{UserID: alice.ID, Title: "t", Model: "m"}
		if err := db.CreateConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
		_ = i
	}
	// Touch the oldest: it must come first.
	if err := db.AddMessage(ctx, &claudebridge.Message{ConversationID: ids[0], Role: "user", Content: "hi", Status: claudebridge.MessageComplete}); err != nil {
		t.Fatal(err)
	}
	want := []string{ids[0], ids[4], ids[3], ids[2], ids[1]}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		list, next, err := db.Conversations(ctx, alice.ID, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			got = append(got, c.ID)
		}
		if next == "" {
			if pages != 2 {
				t.Fatalf("%d pages, want 3", pages+1)
			}
			break
		}
		cursor = next
	}
	if len(got) != len(want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("paged %v, want %v", got, want)
		}
	}
	// Bob sees none of it.
	if list, _, _ := db.Conversations(ctx, bob.ID, "", 10); len(list) != 0 {
		t.Fatalf("bob lists %d conversations", len(list))
	}
	if _, err := db.Conversation(ctx, bob.ID, ids[0]); claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		t.Fatalf("bob reads alice's conversation: %v", err)
	}
	if _, err := db.Messages(ctx, bob.ID, ids[0]); claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		t.Fatalf("bob reads alice's messages: %v", err)
	}
	if err := db.DeleteConversation(ctx, bob.ID, ids[0]); claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		t.Fatalf("bob deletes alice's conversation: %v", err)
	}
	if err := db.UpdateConversation(ctx, &claudebridge.Conversation{ID: ids[0], UserID: bob.ID, Title: "x"}); claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		t.Fatalf("bob renames alice's conversation: %v", err)
	}

	// Messages: seq order, update, delete from, interrupt.
	a := &claudebridge.Message{ConversationID: ids[0], Role: "assistant", Status: claudebridge.MessageStreaming, TurnID: "turn_1", Model: "m"}
	if err := db.AddMessage(ctx, a); err != nil || a.Seq != 2 {
		t.Fatalf("AddMessage: seq %d, %v", a.Seq, err)
	}
	a.Content, a.Usage.OutputTokens = "partial", 7
	if err := db.UpdateMessage(ctx, a); err != nil {
		t.Fatal(err)
	}
	if list, err := db.InterruptStreaming(ctx); err != nil || len(list) != 1 || list[0].UserID != alice.ID || list[0].Message.ID != a.ID {
		t.Fatalf("InterruptStreaming = %+v, %v", list, err)
	}
	msgs, err := db.Messages(ctx, alice.ID, ids[0])
	if err != nil || len(msgs) != 2 {
		t.Fatalf("messages: %d, %v", len(msgs), err)
	}
	if m := msgs[1]; m.Content != "partial" || m.Status != claudebridge.MessageInterrupted || m.Usage.OutputTokens != 7 || m.TurnID != "turn_1" {
		t.Fatalf("message after interrupt: %+v", m)
	}
	if err := db.DeleteMessagesFrom(ctx, ids[0], 2); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := db.Messages(ctx, alice.ID, ids[0]); len(msgs) != 1 || msgs[0].Role != "user" {
		t.Fatalf("after DeleteMessagesFrom: %+v", msgs)
	}
	if err := db.DeleteConversation(ctx, alice.ID, ids[0]); err != nil {
		t.Fatal(err)
	}
	var left int
	db.r.QueryRow(`SELECT count(*) FROM messages`).Scan(&left)
	if left != 0 {
		t.Fatalf("%d messages left after deleting their conversation", left)
	}
}

func TestPromptsAndUsage(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	alice, bob := users(t, db)
	p := &claudebridge.Prompt{UserID: alice.ID, Name: "pirate", Text: "Talk like a pirate."}
	if err := db.CreatePrompt(ctx, p); err != nil {
		t.Fatal(err)
	}
	c := &claudebridge.Conversation{UserID: alice.ID, Title: "t", Model: "m", PromptID: p.ID}
	db.CreateConversation(ctx, c)
	p.Text = "Talk like a parrot."
	if err := db.UpdatePrompt(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Prompt(ctx, alice.ID, p.ID); err != nil || got.Text != p.Text {
		t.Fatalf("Prompt: %+v %v", got, err)
	}
	if _, err := db.Prompt(ctx, bob.ID, p.ID); claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		t.Fatalf("bob reads alice's prompt: %v", err)
	}
	if list, _ := db.Prompts(ctx, bob.ID); len(list) != 0 {
		t.Fatalf("bob lists %d prompts", len(list))
	}
	if err := db.DeletePrompt(ctx, bob.ID, p.ID); claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		t.Fatalf("bob deletes alice's prompt: %v", err)
	}
	if err := db.DeletePrompt(ctx, alice.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Conversation(ctx, alice.ID, c.ID); got.PromptID != "" {
		t.Fatalf("conversation keeps deleted prompt %q", got.PromptID)
	}

	u := claudebridge.Usage{InputTokens: 10, OutputTokens: 20, CacheCreationInputTokens: 3, CacheReadInputTokens: 4}
	db.AddUsage(ctx, alice.ID, "2026-01-02", "m1", u, 0.5, false)
	db.AddUsage(ctx, alice.ID, "2026-01-02", "m1", u, 0.25, false)
	db.AddUsage(ctx, alice.ID, "2026-01-01", "m2", u, 1, false)
	db.AddUsage(ctx, alice.ID, "2026-02-01", "m2", u, 1, false)
	db.AddUsage(ctx, bob.ID, "2026-01-02", "m1", u, 9, false)
	rows, err := db.Usage(ctx, alice.ID, "2026-01-01", "2026-01-31")
	if err != nil || len(rows) != 2 {
		t.Fatalf("Usage: %+v %v", rows, err)
	}
	if rows[0].Day != "2026-01-01" || rows[1].Usage.OutputTokens != 40 || rows[1].Usage.CacheReadInputTokens != 8 || rows[1].CostUSD != 0.75 {
		t.Fatalf("usage rows: %+v", rows)
	}
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
