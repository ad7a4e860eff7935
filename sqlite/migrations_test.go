package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
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
	db := openMigrated(t,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		migrations[0],
		`INSERT INTO schema_migrations VALUES (1, 0)`,
		`INSERT INTO users (id, name, created_at) VALUES (1, 'alice', 0)`,
		`INSERT INTO conversations VALUES ('conv_1', 1, 't', 'm', '', 0, 0)`,
		`INSERT INTO messages (id, conversation_id, seq, role, content, status, output_tokens, created_at, updated_at)
			VALUES ('msg_1', 'conv_1', 1, 'assistant', 'old answer', 'complete', 9, 0, 0)`,
		`INSERT INTO usage (user_id, day, model, output_tokens) VALUES (1, '2026-01-01', 'm', 9)`,
	)
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

func TestMigrationTwelveKeepsSlotsAndHoldsAndNeverGivesTheirIdsAgain(t *testing.T) {
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`}
	for i, m := range migrations[:11] {
		stmts = append(stmts, m, fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, 0)`, i+1))
	}
	stmts = append(stmts,
		`INSERT INTO lease_holders VALUES ('p1', 9000000000000000000)`,
		`INSERT INTO limit_slots (id, key, holder) VALUES (7, 'k', 'p1')`,
		`INSERT INTO budget_holds (id, caller, amount, holder) VALUES (5, 'key:k', 0.5, 'p1')`)
	db := openMigrated(t, stmts...)
	ctx := context.Background()
	if _, ok, err := db.AcquireSlot(ctx, "k", 1, "p1", now()); err != nil || ok {
		t.Fatalf("a slot of 1 beside the migrated one: granted %v, %v", ok, err)
	}
	if _, held, _, err := db.HoldBudget(ctx, claudebridge.Caller{Key: "k"}, now().Add(-time.Hour), 1, 1, "p1", now()); err != nil || held != 0.5 {
		t.Fatalf("held beside the migrated hold: %v, %v; want 0.5", held, err)
	}
	// The largest ids, deleted, are not given again.
	if err := db.ReleaseSlot(ctx, 7); err != nil {
		t.Fatal(err)
	}
	slot, ok, err := db.AcquireSlot(ctx, "k", 1, "p1", now())
	if err != nil || !ok {
		t.Fatalf("slot after the release: %v, %v", ok, err)
	}
	if slot <= 7 {
		t.Errorf("new slot's id %d, want above 7", slot)
	}
	if err := db.SettleHold(ctx, 5, claudebridge.Caller{Key: "k"}, now().Add(-time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	hold, _, ok, err := db.HoldBudget(ctx, claudebridge.Caller{Key: "k"}, now().Add(-time.Hour), 1, 1, "p1", now())
	if err != nil || !ok {
		t.Fatalf("hold after the settle: %v, %v", ok, err)
	}
	if hold <= 5 {
		t.Errorf("new hold's id %d, want above 5", hold)
	}
}

// openMigrated makes a database of an older schema with stmts (the
// schema_migrations table, the migrations it had, rows), then opens it
// with Open, which migrates it; it is closed when the test ends.
func openMigrated(t *testing.T, stmts ...string) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range stmts {
		if _, err := old.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
