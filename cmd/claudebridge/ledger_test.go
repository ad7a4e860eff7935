package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/ledger"
	"github.com/claudebridge/claudebridge/sqlite"
)

func TestLedgerIsOnUnlessTurnedOff(t *testing.T) {
	for _, c := range []struct {
		value string
		off   bool
	}{{"", false}, {"on", false}, {"off", true}, {"OFF", true}} {
		cfg, err := loadConfig(env(map[string]string{"LEDGER": c.value}))
		if err != nil {
			t.Fatalf("LEDGER=%q: %v", c.value, err)
		}
		if got, want := cfg.LedgerOff, c.off; got != want {
			t.Errorf("LEDGER=%q: off %v, want %v", c.value, got, want)
		}
	}
	if _, err := loadConfig(env(map[string]string{"LEDGER": "false"})); err == nil {
		t.Error("LEDGER=false was accepted")
	}
}

func TestAChatBudgetWithoutALedgerIsRefusedAtStartUp(t *testing.T) {
	_, err := loadConfig(env(map[string]string{"LEDGER": "off", "CHAT_BUDGET_USD": "5"}))
	if err == nil {
		t.Fatal("CHAT_BUDGET_USD with LEDGER=off was accepted")
	}
	if want := "without a ledger it cannot hold"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
}

func TestServeRefusesLedgerOffWhileAKeyHasABudget(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "off.db")
	if _, err := runKeys(t, dbPath, "create", "--name", "capped", "--budget-usd", "5", "--period", "day"); err != nil {
		t.Fatal(err)
	}
	if _, err := runKeys(t, dbPath, "create", "--name", "free"); err != nil {
		t.Fatal(err)
	}
	serveEnv(t, dbPath, map[string]string{"LEDGER": "off"})
	err := run(t.Context(), []string{"serve", "--listen", "127.0.0.1:0"}, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("serve started")
	}
	for _, want := range []string{"LEDGER=off", "virtual keys capped have budgets"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestServeWithLedgerOffWritesNoRow(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "off.db")
	serveEnv(t, dbPath, map[string]string{"LEDGER": "off"})
	addr, stop := startServe(t)
	status, body, _ := post(t, http.DefaultClient, addr+"/v1/messages", "",
		`{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	stop()
	db, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	totals, err := db.LedgerTotals(context.Background(), claudebridge.ByDay, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(totals), 0; got != want {
		t.Errorf("ledger groups %d, want %d: %+v", got, want, totals)
	}
}

func TestTheChatsTurnsLeaveNoRowWithLedgerOff(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "off.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	usage := chatUsage(&Config{LedgerOff: true}, db, nil)
	// The chat writes a turn's row with AppendLedger when it may.
	if _, ok := usage.(claudebridge.LedgerService); ok {
		t.Fatal("the chat's usage is a LedgerService: its turns would be rows")
	}
	if err := usage.AddUsage(context.Background(), 1, "2026-12-03", "claude-sonnet-4-5", claudebridge.Usage{InputTokens: 5, OutputTokens: 7}, 0.1, false); err != nil {
		t.Fatal(err)
	}
	totals, err := db.LedgerTotals(context.Background(), claudebridge.ByDay, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(totals), 0; got != want {
		t.Errorf("ledger groups %d, want %d: %+v", got, want, totals)
	}
}

func TestTheChatsTurnsGoToTheLedgerInTheWritersBatches(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "queued.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := ledger.New(ledger.Options{Store: db, FlushInterval: time.Hour})
	usage, ok := chatUsage(&Config{}, db, w).(claudebridge.LedgerService)
	if !ok {
		t.Fatal("the chat's usage is no LedgerService: its turns would leave no row")
	}
	u, err := db.EnsureUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	e := claudebridge.LedgerEntry{Time: time.Now(), RequestID: "turn_1", UserID: u.ID, Model: "claude-sonnet-4-5", Door: "chat", CostUSD: 0.1}
	if err := usage.AppendLedger(context.Background(), []claudebridge.LedgerEntry{e}); err != nil {
		t.Fatal(err)
	}
	// Written by the writer in its next batch (here at Close), not by
	// AppendLedger.
	spent := func() float64 {
		v, err := db.SpentByUser(context.Background(), u.ID, e.Time.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got, want := spent(), 0.0; got != want {
		t.Errorf("spent before the writer's flush %v, want %v", got, want)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := spent(), 0.1; got != want {
		t.Errorf("spent after the writer's flush %v, want %v", got, want)
	}
}

func TestAKeyGivenABudgetWhileLedgerIsOffHasItsCallsRefused(t *testing.T) {
	budget := keyBudgets(&Config{LedgerOff: true}, nil, sharing{})(&claudebridge.Key{Name: "late", BudgetUSD: 5, BudgetPeriod: "day"})
	_, err := budget.ReserveCall(context.Background(), claudebridge.Caller{Key: "late"}, "claude-sonnet-4-5", []byte("{}"), 16)
	if got, want := claudebridge.ErrorCode(err), claudebridge.EPERMISSION; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
	if want := "LEDGER=off"; !strings.Contains(claudebridge.ErrorMessage(err), want) {
		t.Errorf("message %q lacks %q", claudebridge.ErrorMessage(err), want)
	}
}

func TestABatchRunWithLedgerOffOpensNoDatabase(t *testing.T) {
	batchEnv(t)
	t.Setenv("LEDGER", "off")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	line := `{"custom_id":"one","params":{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}}`
	if err := os.WriteFile(in, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if err := run(t.Context(), []string{"batch", "--in", in, "--out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(os.Getenv("DATABASE_URL")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the database: %v, want none made", err)
	}
}
