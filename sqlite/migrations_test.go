package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

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
