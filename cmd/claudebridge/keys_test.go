package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/ledger"
	"github.com/claudebridge/claudebridge/sqlite"
)

// runKeys runs `claudebridge keys args...` on the database at path and
// returns its stdout.
func runKeys(t *testing.T, path string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("DATABASE_URL", path)
	var out bytes.Buffer
	err := keys(context.Background(), args, &out, io.Discard)
	return out.String(), err
}

func TestKeysCreatePrintsTheSecretOnceAndStoresOnlyItsHash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	out, err := runKeys(t, path, "create", "--name", "ci", "--rpm", "2", "--tpm", "5000", "--concurrency", "3",
		"--budget-usd", "10", "--period", "month", "--max-cost-per-request", "0.5", "--models", "claude-haiku-4-5,claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, "cb-") {
		t.Fatalf("printed %q, want a cb- key", secret)
	}
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	list, _ := db.Keys(context.Background())
	if got, want := len(list), 1; got != want {
		t.Fatalf("keys = %d, want %d", got, want)
	}
	k := list[0]
	if got, want := k.Hash, claudebridge.HashKey(secret); got != want {
		t.Errorf("hash = %q, want %q", got, want)
	}
	if got, want := k.RPM, 2; got != want {
		t.Errorf("rpm = %d, want %d", got, want)
	}
	if got, want := k.BudgetPeriod, "month"; got != want {
		t.Errorf("period = %q, want %q", got, want)
	}
	if got, want := strings.Join(k.Models, ","), "claude-haiku-4-5,claude-sonnet-4-5"; got != want {
		t.Errorf("models = %q, want %q", got, want)
	}
}

func TestKeysListShowsNamePrefixLimitsAndRevocationButNoSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	out, _ := runKeys(t, path, "create", "--name", "ci", "--rpm", "2")
	secret := strings.TrimSpace(out)
	if _, err := runKeys(t, path, "revoke", "ci"); err != nil {
		t.Fatal(err)
	}
	list, err := runKeys(t, path, "list")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(list, secret) {
		t.Error("the list shows the secret")
	}
	for _, want := range []string{"ci", secret[:9] + "…", "rpm=2"} {
		if !strings.Contains(list, want) {
			t.Errorf("list %q lacks %q", list, want)
		}
	}
	if strings.Contains(strings.SplitN(list, "\n", 3)[1], " - ") {
		t.Errorf("the revoked key's row shows no revocation: %q", list)
	}
}

func TestKeysCreateRefusesABudgetWithoutItsPeriodAndAnUnknownRevoke(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	if _, err := runKeys(t, path, "create", "--name", "ci", "--budget-usd", "5"); err == nil {
		t.Error("a budget without a period was taken")
	}
	if _, err := runKeys(t, path, "revoke", "nobody"); err == nil || !strings.Contains(err.Error(), `no key "nobody"`) {
		t.Errorf("unknown key: err = %v", err)
	}
}

func TestKeysListShowsWhatEachKeySpentThisPeriodAndItsBudget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	if _, err := runKeys(t, path, "create", "--name", "ci", "--budget-usd", "10", "--period", "month"); err != nil {
		t.Fatal(err)
	}
	if _, err := runKeys(t, path, "create", "--name", "open"); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err = db.AppendLedger(context.Background(), []claudebridge.LedgerEntry{
		{Time: now, Key: "ci", Model: "claude-sonnet-4-5", CostUSD: 1},
		{Time: now, Key: "ci", Model: "claude-sonnet-4-5", CostUSD: 0.25},
		{Time: ledger.PeriodStart("month", now).Add(-time.Hour), Key: "ci", Model: "claude-sonnet-4-5", CostUSD: 100}, // last month
		{Time: now, Key: "open", Model: "claude-sonnet-4-5", CostUSD: 0.5},
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	list, err := runKeys(t, path, "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SPENT", "$1.2500 of $10 this month", "$0.5000 this month"} {
		if !strings.Contains(list, want) {
			t.Errorf("list %q lacks %q", list, want)
		}
	}
}
