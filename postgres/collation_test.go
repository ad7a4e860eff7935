package postgres

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/pgtest"
)

// openICU returns a store on a new database whose collation is ICU's
// root locale, which folds and sorts as people expect (É with é, alice
// before Zed): what a database made with a real locale does, and the
// test cluster's C locale does not.
func openICU(t *testing.T) *DB {
	t.Helper()
	plain := pgtest.Database(t)
	conn, err := pgx.Connect(t.Context(), plain)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	u, err := url.Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/") + "_icu"
	if _, err := conn.Exec(t.Context(), `CREATE DATABASE `+name+` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C'`); err != nil {
		t.Skipf("no ICU collation in this PostgreSQL: %v", err)
	}
	u.Path = "/" + name
	db, err := Open(t.Context(), u.String())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// SQLite's LIKE folds ASCII letters only; the interface promises that,
// and a database's locale must not widen it.
func TestSearchFoldsOnlyASCIILettersWhateverTheDatabasesCollation(t *testing.T) {
	db := openICU(t)
	ctx := t.Context()
	alice, err := db.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	c := &claudebridge.Conversation{UserID: alice.ID, Title: "Éclair recipes", Model: "model-a"}
	if err := db.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := db.AddMessage(ctx, &claudebridge.Message{ConversationID: c.ID, Role: "user", Content: "ÜBER CAKE", Status: claudebridge.MessageComplete}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"ÉCLAIR", 1},
		{"éclair", 0},
		{"über", 0},
		{"Üb", 1},
		{"cake", 1},
	} {
		found, err := db.SearchConversations(ctx, alice.ID, tc.query, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(found), tc.want; got != want {
			t.Errorf("search %q: %d found, want %d", tc.query, got, want)
		}
	}
}

func TestUsersPromptsAndUsageModelsListInByteOrderWhateverTheDatabasesCollation(t *testing.T) {
	db := openICU(t)
	ctx := t.Context()
	var last *claudebridge.User
	for _, name := range []string{"bob", "Zed", "alice"} {
		u, err := db.CreateUser(ctx, name, "hash")
		if err != nil {
			t.Fatal(err)
		}
		last = u
	}
	users, err := db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if got, want := names, []string{"Zed", "alice", "bob"}; !slices.Equal(got, want) {
		t.Errorf("users %v, want %v", got, want)
	}
	for _, name := range []string{"terse", "Formal", "casual"} {
		if err := db.CreatePrompt(ctx, &claudebridge.Prompt{UserID: last.ID, Name: name, Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	prompts, err := db.Prompts(ctx, last.ID)
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, p := range prompts {
		names = append(names, p.Name)
	}
	if got, want := names, []string{"Formal", "casual", "terse"}; !slices.Equal(got, want) {
		t.Errorf("prompts %v, want %v", got, want)
	}
	for _, model := range []string{"model-b", "Model-c", "model-a"} {
		if err := db.AddUsage(ctx, last.ID, "2026-01-02", model, claudebridge.Usage{InputTokens: 1}, 0.5, false); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Usage(ctx, last.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, r := range rows {
		names = append(names, r.Model)
	}
	if got, want := names, []string{"Model-c", "model-a", "model-b"}; !slices.Equal(got, want) {
		t.Errorf("usage models %v, want %v", got, want)
	}
}
