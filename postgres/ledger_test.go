package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// ledgerRows counts the ledger's rows.
func ledgerRows(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.pool.QueryRow(t.Context(), `SELECT count(*) FROM ledger`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

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

func TestAnEntryThatCannotBeStoredLeavesNoneOfItsBatchStored(t *testing.T) {
	db := open(t)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	entries := []claudebridge.LedgerEntry{
		{Time: at, Model: "m", Door: "messages"},
		{Time: at, UserID: 404, Model: "m", Door: "chat"}, // no such user
		{Time: at, Model: "m", Door: "messages"},
	}
	if err := db.AppendLedger(t.Context(), entries); err == nil {
		t.Fatal("AppendLedger of an entry of no user: no error")
	}
	if got, want := ledgerRows(t, db), 0; got != want {
		t.Errorf("rows stored %d, want %d", got, want)
	}
}

func TestAnEntrysDayIsTheUTCDateOfItsTime(t *testing.T) {
	db := open(t)
	newYork := time.FixedZone("EST", -5*3600)
	late := time.Date(2026, 3, 1, 22, 0, 0, 0, newYork) // 03:00 on the 2nd in UTC
	if err := db.AppendLedger(t.Context(), []claudebridge.LedgerEntry{{Time: late, Model: "m", Door: "messages"}}); err != nil {
		t.Fatal(err)
	}
	byDay, err := db.LedgerTotals(t.Context(), claudebridge.ByDay, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(byDay), 1; got != want {
		t.Fatalf("days %d, want %d", got, want)
	}
	if got, want := byDay[0].Group, "2026-03-02"; got != want {
		t.Errorf("day %q, want %q", got, want)
	}
}

func TestLedgerBoundsIncludeFromAndExcludeToAndAZeroBoundIsOpen(t *testing.T) {
	db := open(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var entries []claudebridge.LedgerEntry
	for i, at := range []time.Time{t0.AddDate(-100, 0, 0), t0, t0.Add(time.Hour), t0.AddDate(100, 0, 0)} {
		entries = append(entries, claudebridge.LedgerEntry{Time: at, Model: fmt.Sprint("m", i), Door: "messages"})
	}
	if err := db.AppendLedger(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     string
	}{
		{"both open", time.Time{}, time.Time{}, "m0 m1 m2 m3"},
		{"from t0", t0, time.Time{}, "m1 m2 m3"},
		{"to t0", time.Time{}, t0, "m0"},
		{"t0 to an hour later", t0, t0.Add(time.Hour), "m1"},
	} {
		totals, err := db.LedgerTotals(t.Context(), claudebridge.ByModel, c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, m := range totals {
			got += " " + m.Group
		}
		if got, want := got, " "+c.want; got != want {
			t.Errorf("%s: models%s, want%s", c.name, got, want)
		}
	}
}

func TestLedgerTotalsByUserNameTheUserAndLeaveCallsWithoutOneUnnamed(t *testing.T) {
	db := open(t)
	var alice int64
	if err := db.pool.QueryRow(t.Context(), `INSERT INTO users (name, created_at) VALUES ('alice', now()) RETURNING id`).Scan(&alice); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := db.AppendLedger(t.Context(), []claudebridge.LedgerEntry{
		{Time: at, UserID: alice, Model: "m", Door: "chat", CostUSD: 0.5},
		{Time: at, Key: "ci", Model: "m", Door: "messages", CostUSD: 2},
	}); err != nil {
		t.Fatal(err)
	}
	byUser, err := db.LedgerTotals(t.Context(), claudebridge.ByUser, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(byUser), 2; got != want {
		t.Fatalf("groups %d, want %d", got, want)
	}
	if got, want := byUser[0].Group, ""; got != want {
		t.Errorf("first group %q, want %q", got, want)
	}
	if got, want := byUser[1].Group, "alice"; got != want {
		t.Errorf("second group %q, want %q", got, want)
	}
	if got, want := byUser[1].CostUSD, 0.5; got != want {
		t.Errorf("alice's cost %v, want %v", got, want)
	}
	spent, err := db.SpentByUser(t.Context(), alice, at)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spent, 0.5; got != want {
		t.Errorf("alice spent %v, want %v", got, want)
	}
	spent, err = db.SpentByKey(t.Context(), "ci", at.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spent, 0.0; got != want {
		t.Errorf("ci spent since after its call %v, want %v", got, want)
	}
}
