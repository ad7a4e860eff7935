package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

func TestMigrationThreeMovesTheChatsUsageIntoTheLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		migrations[0], migrations[1],
		`INSERT INTO schema_migrations VALUES (1, 0), (2, 0)`,
		`INSERT INTO users (id, name, created_at) VALUES (1, 'alice', 0)`,
		`INSERT INTO usage (user_id, day, model, input_tokens, output_tokens, cache_creation_input_tokens,
			cache_read_input_tokens, counted_output_tokens, cost_usd) VALUES (1, '2026-01-02', 'm', 10, 20, 30, 40, 5, 0.25)`,
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

	rows, err := db.Usage(context.Background(), 1, "", "")
	if err != nil || len(rows) != 1 {
		t.Fatalf("usage after migrating: %+v, %v", rows, err)
	}
	r := rows[0]
	if got, want := r.Day, "2026-01-02"; got != want {
		t.Errorf("day %q, want %q", got, want)
	}
	if got, want := r.Usage.InputTokens, 10; got != want {
		t.Errorf("input %d, want %d", got, want)
	}
	if got, want := r.Usage.OutputTokens, 20; got != want {
		t.Errorf("output %d, want %d", got, want)
	}
	if got, want := r.Usage.CacheCreationInputTokens, 30; got != want {
		t.Errorf("cache writes %d, want %d", got, want)
	}
	if got, want := r.Usage.CacheReadInputTokens, 40; got != want {
		t.Errorf("cache reads %d, want %d", got, want)
	}
	if got, want := r.CountedOutputTokens, 5; got != want {
		t.Errorf("counted %d, want %d", got, want)
	}
	if got, want := r.CostUSD, 0.25; got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
	totals, err := db.LedgerTotals(context.Background(), claudebridge.ByUser, time.Time{}, time.Time{})
	if err != nil || len(totals) != 1 {
		t.Fatalf("ledger after migrating: %+v, %v", totals, err)
	}
	if got, want := totals[0].Group, "alice"; got != want {
		t.Errorf("the migrated row's user %q, want %q", got, want)
	}
}

func TestTheChatsUsageIsAViewOfItsLedgerRows(t *testing.T) {
	db, _ := open(t)
	alice, _ := users(t, db)
	ctx := context.Background()
	day := time.Now().UTC().Format(time.DateOnly)
	u := claudebridge.Usage{InputTokens: 1, OutputTokens: 2, CacheCreationInputTokens: 7, CacheReadInputTokens: 4,
		CacheCreation: claudebridge.CacheCreation{Ephemeral5mInputTokens: 4, Ephemeral1hInputTokens: 3}}
	for range 2 {
		if err := db.AddUsage(ctx, alice.ID, day, "m", u, 0.5, false); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Usage(ctx, alice.ID, day, day)
	if err != nil || len(rows) != 1 {
		t.Fatalf("usage: %+v, %v", rows, err)
	}
	if got, want := rows[0].Usage.CacheCreation.Ephemeral1hInputTokens, 6; got != want {
		t.Errorf("1-hour cache writes %d, want %d", got, want)
	}
	if got, want := rows[0].Usage.CacheCreationInputTokens, 14; got != want {
		t.Errorf("cache writes %d, want %d", got, want)
	}
	if got, want := rows[0].CostUSD, 1.0; got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
	spent, err := db.SpentByUser(ctx, alice.ID, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spent, 1.0; got != want {
		t.Errorf("spent %v, want %v", got, want)
	}
}

func TestLedgerTotalsGroupByKeyModelAndDayWithinTheBounds(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	day1 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	entries := []claudebridge.LedgerEntry{
		{Time: day1, Key: "ci", Model: "a", Door: "messages", InputTokens: 1, CacheWrite1hTokens: 5, CostUSD: 1, Status: 200},
		{Time: day1, Key: "ci", Model: "b", Door: "messages", InputTokens: 2, CostUSD: 2, Status: 200},
		{Time: day2, Key: "bob", Model: "a", Door: "bedrock_invoke", InputTokens: 4, CostUSD: 4, Status: 200},
	}
	if err := db.AppendLedger(ctx, entries); err != nil {
		t.Fatal(err)
	}
	byKey, err := db.LedgerTotals(ctx, claudebridge.ByKey, time.Time{}, time.Time{})
	if err != nil || len(byKey) != 2 {
		t.Fatalf("by key: %+v, %v", byKey, err)
	}
	if got, want := byKey[1].Group, "ci"; got != want {
		t.Errorf("second key %q, want %q", got, want)
	}
	if got, want := byKey[1].Calls, 2; got != want {
		t.Errorf("ci's calls %d, want %d", got, want)
	}
	if got, want := byKey[1].CacheWrite1hTokens, 5; got != want {
		t.Errorf("ci's 1-hour cache writes %d, want %d", got, want)
	}
	byDay, err := db.LedgerTotals(ctx, claudebridge.ByDay, day2.Add(-time.Hour), time.Time{})
	if err != nil || len(byDay) != 1 {
		t.Fatalf("by day from day 2: %+v, %v", byDay, err)
	}
	if got, want := byDay[0].Group, "2026-03-02"; got != want {
		t.Errorf("day %q, want %q", got, want)
	}
	spent, err := db.SpentByKey(ctx, "ci", day1.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spent, 3.0; got != want {
		t.Errorf("ci spent %v, want %v", got, want)
	}
	if _, err := db.LedgerTotals(ctx, "colour", time.Time{}, time.Time{}); claudebridge.ErrorCode(err) != claudebridge.EINVALID {
		t.Errorf("grouping by colour: %v, want EINVALID", err)
	}
}
