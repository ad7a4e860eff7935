package dynamo

import (
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/dynalitetest"
	"github.com/claudebridge/claudebridge/storetest"
)

// Two handles on one prefix are two processes (two Lambda invocations)
// sharing the store: limits and budgets hold across them.
func TestLimitsHoldAcrossTwoHandlesOfOneStore(t *testing.T) {
	storetest.RunLimits(t, func(t *testing.T) (a, b storetest.LimitStore) {
		url := dynalitetest.URL(t)
		x, err := Open(t.Context(), url)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		y, err := Open(t.Context(), url)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return x, y
	})
}

func TestKeysVersionMovesForAKeyCreatedThroughAnotherHandle(t *testing.T) {
	url := dynalitetest.URL(t)
	a, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	before, err := a.KeysVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, prefix, hash := claudebridge.NewKeySecret()
	if err := b.CreateKey(t.Context(), &claudebridge.Key{Name: "ci", Prefix: prefix, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	after, err := a.KeysVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := after, before+1; got != want {
		t.Errorf("version %d after a create, want %d", got, want)
	}
}

func TestAUsersLedgerEntriesGoWithTheUser(t *testing.T) {
	db := open(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := db.AppendLedger(t.Context(), []claudebridge.LedgerEntry{
		{Time: at, UserID: 7, Model: "model-a", Door: "chat", CostUSD: 1, Status: 200},
		{Time: at, UserID: 8, Model: "model-a", Door: "chat", CostUSD: 2, Status: 200},
		{Time: at, Key: "ci", Model: "model-a", Door: "messages", CostUSD: 4, Status: 200},
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.deleteLedgerOf(t.Context(), 7); err != nil {
		t.Fatal(err)
	}
	list, err := db.LedgerTotals(t.Context(), claudebridge.ByModel, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 1; got != want {
		t.Fatalf("groups %d, want %d", got, want)
	}
	if got, want := list[0].Calls, 2; got != want {
		t.Errorf("calls %d, want %d", got, want)
	}
	if got, want := list[0].CostUSD, 6.0; got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
}

// An append longer than BatchWriteItem's 25 items is written whole.
func TestALongAppendIsStoredWhole(t *testing.T) {
	db := open(t)
	entries := make([]claudebridge.LedgerEntry, 60)
	for i := range entries {
		entries[i] = claudebridge.LedgerEntry{Time: time.Date(2026, 3, 1, 0, i, 0, 0, time.UTC), Key: "ci", Model: "model-a", Door: "messages", CostUSD: 0.5, Status: 200}
	}
	if err := db.AppendLedger(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
	spent, err := db.SpentByKey(t.Context(), "ci", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spent, 30.0; got != want {
		t.Errorf("spent %v, want %v", got, want)
	}
}

func TestARequestLeftAtTheEndGetsTheLineOfItsType(t *testing.T) {
	got, err := restLine(`a<"b">`, claudebridge.ResultCanceled)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"custom_id":"a<\"b\">","result":{"type":"canceled"}}`; string(got) != want {
		t.Errorf("line %s, want %s", got, want)
	}
}
