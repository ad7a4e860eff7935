package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/pgtest"
)

// Several serve processes share one database and each sweeps at start-up:
// two starting at once must not both count one cut answer.
func TestTwoProcessesSweepingAtOnceReturnEachInterruptedMessageOnce(t *testing.T) {
	url := pgtest.URL(t)
	var procs [2]*DB
	for i := range procs {
		db, err := Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		procs[i] = db
	}
	ctx := t.Context()
	alice, err := procs[0].CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	c := &claudebridge.Conversation{UserID: alice.ID, Title: "chat", Model: "model-a"}
	if err := procs[0].CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	// Rounds, because the two sweeps overlap only as the scheduler has it.
	const rounds, streaming = 10, 20
	for round := range rounds {
		for range streaming {
			m := &claudebridge.Message{ConversationID: c.ID, Role: "assistant", Status: claudebridge.MessageStreaming}
			if err := procs[0].AddMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		var got [2][]claudebridge.InterruptedMessage
		var errs [2]error
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, db := range procs {
			wg.Go(func() {
				<-start
				got[i], errs[i] = db.InterruptStreaming(context.Background())
			})
		}
		close(start)
		wg.Wait()
		seen := map[string]int{}
		for i := range procs {
			if errs[i] != nil {
				t.Fatalf("round %d, process %d: %v", round, i, errs[i])
			}
			for _, im := range got[i] {
				seen[im.Message.ID]++
			}
		}
		if got, want := len(seen), streaming; got != want {
			t.Fatalf("round %d: %d messages interrupted, want %d", round, got, want)
		}
		for id, n := range seen {
			if got, want := n, 1; got != want {
				t.Fatalf("round %d: message %s returned %d times, want %d", round, id, got, want)
			}
		}
	}
}

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
