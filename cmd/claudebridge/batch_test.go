package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/cost"
	"github.com/claudebridge/claudebridge/sqlite"
)

func TestBatchHasHelpOnStdout(t *testing.T) {
	var out, errOut strings.Builder
	if err := run(t.Context(), []string{"batch", "--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Contains(out.String(), "Usage: claudebridge batch --in FILE --out FILE"), true; got != want {
		t.Errorf("stdout %q has no usage", out.String())
	}
	if got, want := errOut.String(), ""; got != want {
		t.Errorf("stderr %q, want nothing", got)
	}
}

// batchEnv is the environment of a batch on the built-in emulator.
func batchEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "ANTHROPIC_") || strings.HasPrefix(name, "BEDROCK_") {
			t.Setenv(name, "")
		}
	}
	t.Setenv("AI_PROVIDER", "emulator")
	t.Setenv("RETRY_MAX_ATTEMPTS", "3")
	t.Setenv("DATABASE_URL", filepath.Join(t.TempDir(), "ledger.db"))
	t.Setenv("PRICES_FILE", "")
	t.Setenv("MAX_COST_PER_REQUEST", "")
	t.Setenv("LEDGER", "")
}

func TestBatchCallsGoThroughTheGatewaysRetries(t *testing.T) {
	batchEnv(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	// The emulator throttles the first of these calls only: with serve's
	// retries in front of it, the record succeeds.
	line := `{"custom_id":"throttled-once","params":{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"` + t.Name() + ` [[throttle*1]]"}]}}`
	if err := os.WriteFile(in, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if err := run(t.Context(), []string{"batch", "--in", in, "--out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var result struct {
		Result struct {
			Type string `json:"type"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &result); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if got, want := result.Result.Type, "succeeded"; got != want {
		t.Errorf("result.type %q, want %q: %s", got, want, b)
	}
	if got, want := strings.Contains(stdout.String(), "1 succeeded, 0 errored"), true; got != want {
		t.Errorf("summary %q does not count the success", stdout.String())
	}
}

func TestBedrockRecordsWithoutModelAreRefused(t *testing.T) {
	batchEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte(`{"recordId":"R1","modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":8,"messages":[{"role":"user","content":"x"}]}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	err := run(t.Context(), []string{"batch", "--in", in, "--out", filepath.Join(dir, "out.jsonl")}, &stdout, &stderr)
	if got, want := err != nil && strings.Contains(err.Error(), "--model"), true; got != want {
		t.Errorf("error %v, want one asking for --model", err)
	}
}

func TestTheResumeCommandCanBeTypedAgain(t *testing.T) {
	got, want := shellQuote([]string{"--in", "my file.jsonl", "--out", "it's.jsonl", "--concurrency", "4"}),
		`--in 'my file.jsonl' --out 'it'\''s.jsonl' --concurrency 4`
	if got != want {
		t.Errorf("quoted %s, want %s", got, want)
	}
}

func TestBedrockRecordsAreAnsweredByTheUpstreamWithTheModelOfTheFlag(t *testing.T) {
	batchEnv(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	line := `{"recordId":"REC00000001","modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}}`
	if err := os.WriteFile(in, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	args := []string{"batch", "--in", in, "--out", out, "--model", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var result struct {
		RecordID    string `json:"recordId"`
		ModelOutput struct {
			Type  string `json:"type"`
			Model string `json:"model"`
		} `json:"modelOutput"`
	}
	if err := json.Unmarshal(b, &result); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if got, want := result.RecordID, "REC00000001"; got != want {
		t.Errorf("recordId %q, want %q", got, want)
	}
	if got, want := result.ModelOutput.Type, "message"; got != want {
		t.Errorf("modelOutput.type %q, want %q: %s", got, want, b)
	}
	if got, want := result.ModelOutput.Model, "claude-sonnet-4-5-20250929"; got != want {
		t.Errorf("modelOutput.model %q, want %q", got, want)
	}
}

func TestEachCallOfABatchIsOneLedgerRowWithItsTokens(t *testing.T) {
	batchEnv(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	const n = 12
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"custom_id":"r%d","params":{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"question %d [[words=%d]]"}]}}`, i, i, 5+i))
	}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if err := run(t.Context(), []string{"batch", "--in", in, "--out", out, "--concurrency", "4"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	// The tokens the results say the calls used.
	results, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var input, output int
	for _, line := range strings.Split(strings.TrimSpace(string(results)), "\n") {
		var r struct {
			Result struct {
				Message struct{ Usage claudebridge.Usage }
			}
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		input += r.Result.Message.Usage.InputTokens
		output += r.Result.Message.Usage.OutputTokens
	}
	// run returned: the ledger was drained before it did.
	db, err := sqlite.Open(os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	totals, err := db.LedgerTotals(context.Background(), claudebridge.ByModel, time.Time{}, time.Time{})
	if err != nil || len(totals) != 1 {
		t.Fatalf("ledger: %+v, %v", totals, err)
	}
	if got, want := totals[0].Calls, n; got != want {
		t.Errorf("ledger rows %d, want %d", got, want)
	}
	if got, want := totals[0].InputTokens, input; got != want {
		t.Errorf("input tokens %d, want %d", got, want)
	}
	if got, want := totals[0].OutputTokens, output; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
	if got, want := totals[0].CostUSD, cost.Builtin().Cost("claude-sonnet-4-5", "emulator", claudebridge.Usage{InputTokens: input, OutputTokens: output}, false); math.Abs(got-want) > 1e-9 {
		t.Errorf("cost $%v, want $%v", got, want)
	}
	doors := ledgerDoors(t, os.Getenv("DATABASE_URL"))
	if got, want := doors["batch_cli"], n; got != want {
		t.Errorf("rows of the door batch_cli %d, want %d (all: %v)", got, want, doors)
	}
}

// ledgerDoors counts the ledger's rows by door, which no LedgerService
// method groups by.
func ledgerDoors(t *testing.T, path string) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT door, count(*) FROM ledger GROUP BY door`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	doors := map[string]int{}
	for rows.Next() {
		var door string
		var n int
		if err := rows.Scan(&door, &n); err != nil {
			t.Fatal(err)
		}
		doors[door] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return doors
}

func TestABatchSummaryCostsAtThePricesOfTheLedger(t *testing.T) {
	batchEnv(t)
	dir := t.TempDir()
	prices := filepath.Join(dir, "prices.json")
	// $1 a token of output, input free.
	if err := os.WriteFile(prices, []byte(`{"version":"team-prices","models":{"claude-sonnet-4-5":{"input":0,"output":1000000}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PRICES_FILE", prices)
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	line := `{"custom_id":"one","params":{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi [[words=5]]"}]}}`
	if err := os.WriteFile(in, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if err := run(t.Context(), []string{"batch", "--in", in, "--out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var result struct {
		Result struct {
			Message struct{ Usage claudebridge.Usage }
		}
	}
	if err := json.Unmarshal(b, &result); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	want := fmt.Sprintf("cost: $%.4f at the prices team-prices", float64(result.Result.Message.Usage.OutputTokens))
	if !strings.Contains(stdout.String(), want) {
		t.Errorf("summary %q lacks %q", stdout.String(), want)
	}
}
