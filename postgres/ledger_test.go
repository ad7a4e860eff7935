package postgres

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// ledgerRows counts the ledger's rows.
func TestTenThousandEntriesAppendedAtOnceAddUpExactly(t *testing.T) {
	db := open(t)
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	entries := make([]claudebridge.LedgerEntry, 10_000)
	for i := range entries {
		entries[i] = claudebridge.LedgerEntry{
			Time: day.Add(time.Duration(i) * time.Minute), // 10,000 minutes: 7 days
			Key:  fmt.Sprint("key-", i%4), Model: "m", Door: "messages", Status: 200,
			InputTokens: i, OutputTokens: 2, CacheReadTokens: 3, CacheWrite5mTokens: 4, CacheWrite1hTokens: 5,
			CostUSD: 0.25, Latency: time.Duration(i) * time.Millisecond,
		}
	}
	if err := db.AppendLedger(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
	byKey, err := db.LedgerTotals(t.Context(), claudebridge.ByKey, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(byKey), 4; got != want {
		t.Fatalf("keys %d, want %d", got, want)
	}
	// key-1 has the entries i = 1, 5, 9, ..., 9997: 2,500 of them.
	k := byKey[1]
	if got, want := k.Group, "key-1"; got != want {
		t.Errorf("second group %q, want %q", got, want)
	}
	if got, want := k.Calls, 2500; got != want {
		t.Errorf("calls %d, want %d", got, want)
	}
	if got, want := k.InputTokens, 2500*(1+9997)/2; got != want {
		t.Errorf("input tokens %d, want %d", got, want)
	}
	if got, want := k.OutputTokens, 2500*2; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
	if got, want := k.CacheReadTokens, 2500*3; got != want {
		t.Errorf("cache reads %d, want %d", got, want)
	}
	if got, want := k.CacheWrite5mTokens, 2500*4; got != want {
		t.Errorf("5-minute cache writes %d, want %d", got, want)
	}
	if got, want := k.CacheWrite1hTokens, 2500*5; got != want {
		t.Errorf("1-hour cache writes %d, want %d", got, want)
	}
	if got, want := k.CostUSD, 2500*0.25; got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
	byDay, err := db.LedgerTotals(t.Context(), claudebridge.ByDay, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, d := range byDay {
		calls += d.Calls
	}
	if got, want := calls, 10_000; got != want {
		t.Errorf("calls over every day %d, want %d", got, want)
	}
	if got, want := byDay[0].Calls, 24*60; got != want {
		t.Errorf("calls of the first day %d, want %d", got, want)
	}
}

func TestLedgerGroupsAreInByteOrderWhateverTheDatabasesCollation(t *testing.T) {
	db := openICU(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var entries []claudebridge.LedgerEntry
	for _, name := range []string{"model-b", "Model-c", "model-a"} {
		entries = append(entries, claudebridge.LedgerEntry{Time: at, Key: name, Model: name, Door: "messages"})
	}
	if err := db.AppendLedger(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
	for _, by := range []claudebridge.LedgerGroup{claudebridge.ByKey, claudebridge.ByModel} {
		totals, err := db.LedgerTotals(t.Context(), by, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var groups []string
		for _, g := range totals {
			groups = append(groups, g.Group)
		}
		if got, want := strings.Join(groups, ","), "Model-c,model-a,model-b"; got != want {
			t.Errorf("by %s: groups %s, want %s", by, got, want)
		}
	}
}
