package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/sqlite"
)

// TestTheLedgerHoldsEveryCallOfALoadRunAfterTheServerStops runs serve on
// the built-in emulator, makes 10,000 calls (half streams) from 32
// clients, sums the usage the clients saw, stops the server as SIGTERM
// does, and finds one ledger row per call whose tokens sum to the
// clients'.
func TestTheLedgerHoldsEveryCallOfALoadRunAfterTheServerStops(t *testing.T) {
	calls := 10_000
	if testing.Short() {
		calls = 500
	}
	dbPath := filepath.Join(t.TempDir(), "ledger.db")
	serveEnv(t, dbPath, nil)
	addr, stop := startServe(t)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	var seen claudebridge.Usage
	work := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range work {
				u, err := ledgerCall(client, addr, i%2 == 0, i)
				if err != nil {
					t.Error(err)
					continue
				}
				mu.Lock()
				seen.InputTokens += u.InputTokens
				seen.OutputTokens += u.OutputTokens
				mu.Unlock()
			}
		})
	}
	for i := range calls {
		work <- i
	}
	close(work)
	wg.Wait()
	stop() // as SIGTERM does
	db, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	totals, err := db.LedgerTotals(context.Background(), claudebridge.ByModel, time.Time{}, time.Time{})
	if err != nil || len(totals) != 1 {
		t.Fatalf("ledger: %+v, %v", totals, err)
	}
	if got, want := totals[0].Calls, calls; got != want {
		t.Errorf("ledger rows %d, want %d", got, want)
	}
	if got, want := totals[0].InputTokens, seen.InputTokens; got != want {
		t.Errorf("ledger input tokens %d, want the clients' %d", got, want)
	}
	if got, want := totals[0].OutputTokens, seen.OutputTokens; got != want {
		t.Errorf("ledger output tokens %d, want the clients' %d", got, want)
	}
	if totals[0].CostUSD <= 0 {
		t.Errorf("ledger cost %v, want more than 0", totals[0].CostUSD)
	}
}

// startServe runs serve with the environment the test set, on a loopback
// port, until stop, which returns once serve has, as after SIGTERM.
func startServe(t testing.TB) (addr string, stop func()) {
	t.Helper()
	addr, _, stop = startServeLogged(t)
	return addr, stop
}

// startServeLogged is startServe that also gives serve's log lines, the
// first 4,096 of them each on logs.each.
func startServeLogged(t testing.TB) (addr string, logs *lines, stop func()) {
	t.Helper()
	logs = &lines{each: make(chan string, 4096)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, io.Discard, logs) }()
	var start struct{ Addr string }
	for start.Addr == "" {
		select {
		case line := <-logs.each:
			if strings.Contains(line, "claudebridge serving") {
				if err := json.Unmarshal([]byte(line), &start); err != nil {
					t.Fatalf("start-up line %q: %v", line, err)
				}
			}
		case err := <-done:
			cancel()
			t.Fatalf("serve ended before it served: %v\n%s", err, logs.String())
		}
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			t.Fatal("serve did not stop")
		}
	}
	t.Cleanup(stop)
	return start.Addr, logs, stop
}

// serveEnv sets serve's environment for a test: the built-in emulator, a
// database of the test's own, no setting of the developer's; more adds or
// replaces settings.
func serveEnv(t *testing.T, dbPath string, more map[string]string) {
	t.Helper()
	env := map[string]string{
		"AI_PROVIDER": "emulator", "DATABASE_URL": dbPath, "HOME": t.TempDir(), "LOG_FORMAT": "json", "LOG_LEVEL": "info",
		"API_KEYS": "", "ADMIN_KEY": "", "METRICS_ADDR": "", "LISTEN_ADDR": "", "BEARER_TOKEN": "", "SHUTDOWN_GRACE": "5s",
		"MAX_COST_PER_REQUEST": "", "PRICES_FILE": "", "CHAT_BUDGET_USD": "", "CHAT_BUDGET_PERIOD": "", "LEDGER": "",
	}
	for k, v := range more {
		env[k] = v
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func TestACallOverMaxCostPerRequestIsRefusedWithBothFiguresAndOneUnderItIsServed(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "cap.db")
	serveEnv(t, dbPath, map[string]string{"MAX_COST_PER_REQUEST": "0.001"})
	addr, stop := startServe(t)
	post := func(maxTokens int) (int, string) {
		body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":%d,"messages":[{"role":"user","content":"hi"}]}`, maxTokens)
		req, _ := http.NewRequest("POST", addr+"/v1/messages", strings.NewReader(body))
		req.Header.Set("anthropic-version", "2023-06-01")
		req.Header.Set("content-type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	// Sonnet 4.5's output is $15 a million: 1,000 tokens are $0.015.
	status, body := post(1000)
	if got, want := status, http.StatusBadRequest; got != want {
		t.Errorf("status over the cap %d, want %d: %s", got, want, body)
	}
	for _, want := range []string{`"invalid_request_error"`, "$0.0010", "$0.015"} {
		if !strings.Contains(body, want) {
			t.Errorf("refusal %s lacks %s", body, want)
		}
	}
	if status, body := post(10); status != http.StatusOK {
		t.Errorf("status under the cap %d, want 200: %s", status, body)
	}
	// The Bedrock front door's calls are rows too, and held to the cap.
	for maxTokens, want := range map[int]int{10: http.StatusOK, 1000: http.StatusBadRequest} {
		body := fmt.Sprintf(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":%d,"messages":[{"role":"user","content":"hi"}]}`, maxTokens)
		resp, err := http.Post(addr+"/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.StatusCode; got != want {
			t.Errorf("Bedrock invoke with max_tokens %d: %d, want %d: %s", maxTokens, got, want, data)
		}
	}
	stop()
	db, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	totals, err := db.LedgerTotals(context.Background(), claudebridge.ByDay, time.Time{}, time.Time{})
	if err != nil || len(totals) != 1 {
		t.Fatalf("ledger: %+v, %v", totals, err)
	}
	if got, want := totals[0].Calls, 4; got != want {
		t.Errorf("ledger rows %d, want %d (the refusals are rows too)", got, want)
	}
}

// ledgerCall makes one call and returns the usage the client saw: the
// answer's, or message_start's input and message_delta's output.
func ledgerCall(client *http.Client, addr string, stream bool, i int) (claudebridge.Usage, error) {
	body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":64,"stream":%v,"messages":[{"role":"user","content":"question %d [[words=%d]]"}]}`,
		stream, i, 5+i%20)
	req, _ := http.NewRequest("POST", addr+"/v1/messages", strings.NewReader(body))
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return claudebridge.Usage{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return claudebridge.Usage{}, fmt.Errorf("call %d: %d %v %s", i, resp.StatusCode, err, data)
	}
	var u claudebridge.Usage
	if !stream {
		var m struct{ Usage claudebridge.Usage }
		err := json.Unmarshal(data, &m)
		return m.Usage, err
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		payload, ok := bytes.CutPrefix(line, []byte("data: "))
		if !ok {
			continue
		}
		var ev struct {
			Type    string
			Message struct{ Usage claudebridge.Usage }
			Usage   claudebridge.Usage
		}
		if json.Unmarshal(payload, &ev) != nil {
			continue
		}
		switch ev.Type {
		case "message_start":
			u.InputTokens = ev.Message.Usage.InputTokens
		case "message_delta":
			u.OutputTokens = ev.Usage.OutputTokens
		}
	}
	return u, nil
}

func TestUsageByKeyPrintsATableWithATotal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	err = db.AppendLedger(context.Background(), []claudebridge.LedgerEntry{
		{Time: at, Key: "ci", Model: "m", Door: "messages", InputTokens: 3, CostUSD: 0.5},
		{Time: at, Key: "ci", Model: "m", Door: "messages", InputTokens: 4, CostUSD: 0.25},
		{Time: at.AddDate(0, 0, 5), Key: "late", Model: "m", Door: "messages", InputTokens: 100, CostUSD: 9},
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", path)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"usage", "--by", "key", "--from", "2026-05-01", "--to", "2026-05-01"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if got, want := len(lines), 3; got != want {
		t.Fatalf("lines %d, want %d:\n%s", got, want, out.String())
	}
	if got, want := strings.Fields(lines[1]), []string{"ci", "2", "7", "0", "0", "0", "0", "0.7500"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ci's line %q, want %q", got, want)
	}
	if got, want := strings.Fields(lines[2])[0], "total"; got != want {
		t.Errorf("last line starts %q, want %q", got, want)
	}
}

func TestUsageByAnUnknownGroupFails(t *testing.T) {
	t.Setenv("DATABASE_URL", filepath.Join(t.TempDir(), "u.db"))
	err := run(context.Background(), []string{"usage", "--by", "colour"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("err %v, want one naming colour", err)
	}
}
