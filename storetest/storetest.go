// Package storetest is the one behaviour suite every store of claudebridge
// passes: SQLite now, PostgreSQL and others later. Same inputs, same
// answers: what a store must do is what the root package's interfaces say,
// and where they are silent, what the chat relies on (each such check says
// so in its comment).
//
// A new engine runs it from a test in its own package:
//
//	func TestPostgresPassesTheStoreSuite(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store {
//			db := openEmptyDatabase(t) // closed by t.Cleanup
//			return db
//		})
//	}
//
// Two rules hold throughout. What a method fills in (IDs, Seq, times) is
// what reading back gives: an engine that keeps microseconds truncates the
// times before it returns them. And one user's IDs are ENOTFOUND to every
// other user in each method that takes a user (the message writers take
// none: the chat checks the conversation is the user's first).
//
// open is called once per behaviour and must return a new, empty store
// (no users, no conversations, no keys, no ledger, no batches), closed by
// t.Cleanup. The suite makes no
// assumption about the engine: no sleeps, no clock of its own beyond
// session expiries an hour away, ordering checked against the times the
// store itself returns. Some checks run goroutines against one store at
// once; run the engine's test under -race now and then.
//
// Each service has its own file (users.go, conversations.go, messages.go,
// prompts.go, usage.go, keys.go, ledger.go, batches.go, sockets.go, ...) with one unexported
// function that Run calls. A new store interface gets a file of its own in
// the same shape, its interface embedded in Store, and a line in Run.
package storetest

import (
	"testing"

	"github.com/claudebridge/claudebridge"
)

// Store is every store interface of the root package (claudebridge.Store
// is the same set, with Close).
type Store interface {
	claudebridge.UserService
	claudebridge.UserAdmin
	claudebridge.ConversationService
	claudebridge.PromptService
	claudebridge.UsageService
	claudebridge.KeyService
	claudebridge.LedgerService
	claudebridge.BatchService
	claudebridge.RecordStore
	claudebridge.SocketService
}

// Run runs the whole suite, each behaviour on a store of its own from open.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Users", func(t *testing.T) { users(t, open) })
	t.Run("Conversations", func(t *testing.T) { conversations(t, open) })
	t.Run("Messages", func(t *testing.T) { messages(t, open) })
	t.Run("Prompts", func(t *testing.T) { prompts(t, open) })
	t.Run("Usage", func(t *testing.T) { usage(t, open) })
	t.Run("Keys", func(t *testing.T) { keys(t, open) })
	t.Run("Ledger", func(t *testing.T) { ledger(t, open) })
	t.Run("Batches", func(t *testing.T) { batches(t, open) })
	t.Run("Records", func(t *testing.T) { records(t, open) })
	t.Run("Limits", func(t *testing.T) { limitsOne(t, open) })
	t.Run("TurnLeases", func(t *testing.T) { turnLeases(t, open) })
	t.Run("TurnStarts", func(t *testing.T) { turnStarts(t, open) })
	t.Run("Sockets", func(t *testing.T) { sockets(t, open) })
}

// behaviour is one check of the suite, named as a sentence.
type behaviour struct {
	name string
	test func(t *testing.T, s Store)
}

// runAll runs each behaviour on a new store.
func runAll(t *testing.T, open func(t *testing.T) Store, list []behaviour) {
	t.Helper()
	for _, b := range list {
		t.Run(b.name, func(t *testing.T) { b.test(t, open(t)) })
	}
}

// wantCode fails t unless err carries code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got, want := claudebridge.ErrorCode(err), code; got != want {
		t.Errorf("%s: code %q (%v), want %q", what, got, err, want)
	}
}

// newUser creates a user with a password and fails t if it cannot.
func newUser(t *testing.T, s Store, name string) *claudebridge.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), name, "hash-"+name)
	if err != nil {
		t.Fatalf("CreateUser %q: %v", name, err)
	}
	return u
}

// newConversation creates a conversation of userID and fails t if it
// cannot.
func newConversation(t *testing.T, s Store, userID int64, title string) *claudebridge.Conversation {
	t.Helper()
	c := &claudebridge.Conversation{UserID: userID, Title: title, Model: "model-a"}
	if err := s.CreateConversation(t.Context(), c); err != nil {
		t.Fatalf("CreateConversation %q: %v", title, err)
	}
	return c
}

// addMessage appends a message to a conversation and fails t if it cannot.
func addMessage(t *testing.T, s Store, conversationID, role, content, status string) *claudebridge.Message {
	t.Helper()
	m := &claudebridge.Message{ConversationID: conversationID, Role: role, Content: content, Status: status}
	if err := s.AddMessage(t.Context(), m); err != nil {
		t.Fatalf("AddMessage %q: %v", content, err)
	}
	return m
}

// conversation reads one conversation back and fails t if it cannot.
func conversation(t *testing.T, s Store, userID int64, id string) *claudebridge.Conversation {
	t.Helper()
	c, err := s.Conversation(t.Context(), userID, id)
	if err != nil {
		t.Fatalf("Conversation %s: %v", id, err)
	}
	return c
}

// messageList reads a conversation's messages and fails t if it cannot.
func messageList(t *testing.T, s Store, userID int64, conversationID string) []claudebridge.Message {
	t.Helper()
	list, err := s.Messages(t.Context(), userID, conversationID)
	if err != nil {
		t.Fatalf("Messages %s: %v", conversationID, err)
	}
	return list
}

// ids returns the IDs of conversations, in order.
func ids(list []claudebridge.Conversation) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.ID
	}
	return out
}
