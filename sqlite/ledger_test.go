package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

func TestMigrationThreeMovesTheChatsUsageIntoTheLedger(t *testing.T) {
	db := openMigrated(t,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		migrations[0], migrations[1],
		`INSERT INTO schema_migrations VALUES (1, 0), (2, 0)`,
		`INSERT INTO users (id, name, created_at) VALUES (1, 'alice', 0)`,
		`INSERT INTO usage (user_id, day, model, input_tokens, output_tokens, cache_creation_input_tokens,
			cache_read_input_tokens, counted_output_tokens, cost_usd) VALUES (1, '2026-01-02', 'm', 10, 20, 30, 40, 5, 0.25)`,
	)

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
