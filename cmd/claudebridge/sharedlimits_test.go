package main

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/claudebridge/claudebridge/internal/pgtest"
)

func TestSharedLimitsIsReadAndABadValueRefused(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{"SHARED_LIMITS": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.SharedLimits, true; got != want {
		t.Errorf("shared limits %v, want %v", got, want)
	}
	if got, want := cfg.SharedLimitsSet, true; got != want {
		t.Errorf("shared limits set %v, want %v", got, want)
	}
	if _, err := loadConfig(env(map[string]string{"SHARED_LIMITS": "sometimes"})); err == nil {
		t.Error("SHARED_LIMITS=sometimes was accepted")
	}
}

func TestSharedLimitsIsOnByDefaultOnPostgreSQLAndDynamoDBAndOffOnSQLite(t *testing.T) {
	for _, c := range []struct {
		vars map[string]string
		want bool
	}{
		{map[string]string{"DATABASE_URL": "postgres://db.internal/claudebridge"}, true},
		{map[string]string{"DATABASE_URL": "postgresql://db.internal/claudebridge", "SHARED_LIMITS": "false"}, false},
		{map[string]string{"DATABASE_URL": "dynamodb://claudebridge"}, true},
		{map[string]string{"DATABASE_URL": "/var/lib/claudebridge.db"}, false},
		{map[string]string{"DATABASE_URL": "/var/lib/claudebridge.db", "SHARED_LIMITS": "true"}, true},
	} {
		cfg, err := loadConfig(env(c.vars))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cfg.SharedLimits, c.want; got != want {
			t.Errorf("%v: shared limits %v, want %v", c.vars, got, want)
		}
	}
}

func TestRPM10AcrossThreeServeProcessesOnOneSQLiteFileLetsExactly10Of60ConcurrentCallsThrough(t *testing.T) {
	rpm10AcrossThreeServes(t, filepath.Join(t.TempDir(), "shared.db"), map[string]string{"SHARED_LIMITS": "true"})
}

// rpm10AcrossThreeServes makes a key of --rpm 10 in the database at
// dbPath, starts three serves on it with vars and sends them 60 calls at
// once. (Once serve opens PostgreSQL, the same with pgtest.URL and no
// vars: shared there by default.)
func rpm10AcrossThreeServes(t *testing.T, dbPath string, vars map[string]string) {
	out, err := runKeys(t, dbPath, "create", "--name", "ci", "--rpm", "10")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	serveEnv(t, dbPath, vars)
	var addrs []string
	for range 3 {
		addr, stop := startServe(t)
		defer stop()
		addrs = append(addrs, addr)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := `{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	var mu sync.Mutex
	statuses := map[int]int{}
	var throttled http.Header
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 60 {
		wg.Go(func() {
			<-start
			status, _, h := post(t, client, addrs[i%3]+"/v1/messages", key, body)
			mu.Lock()
			defer mu.Unlock()
			statuses[status]++
			if status == http.StatusTooManyRequests {
				throttled = h
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := statuses[http.StatusOK], 10; got != want {
		t.Errorf("calls through %d of 60, want %d (statuses %v)", got, want, statuses)
	}
	if got, want := statuses[http.StatusTooManyRequests], 50; got != want {
		t.Fatalf("calls throttled %d of 60, want %d (statuses %v)", got, want, statuses)
	}
	if got := throttled.Get("retry-after"); got == "" {
		t.Error("a 429 without retry-after")
	}
	if got, want := throttled.Get("anthropic-ratelimit-requests-limit"), "10"; got != want {
		t.Errorf("anthropic-ratelimit-requests-limit %q, want %q", got, want)
	}
	if got, want := throttled.Get("anthropic-ratelimit-requests-remaining"), "0"; got != want {
		t.Errorf("anthropic-ratelimit-requests-remaining %q, want %q", got, want)
	}
}

func TestAKeysBudgetForThreeCallsLetsExactlyThreeOf20ConcurrentCallsThroughTwoServeProcesses(t *testing.T) {
	budgetOfThreeAcrossTwoServes(t, filepath.Join(t.TempDir(), "shared.db"))
}

func TestOnPostgreSQLAKeysBudgetForThreeCallsLetsExactlyThreeOf20ConcurrentCallsThroughTwoServes(t *testing.T) {
	budgetOfThreeAcrossTwoServes(t, pgtest.URL(t))
}

func TestOnPostgreSQLRPM10AcrossThreeServesLetsExactly10Of60ConcurrentCallsThrough(t *testing.T) {
	rpm10AcrossThreeServes(t, pgtest.URL(t), nil)
}

// budgetOfThreeAcrossTwoServes makes a key whose budget holds 3 calls'
// worst case in the database at dbPath, and checks that 3 of 20
// concurrent calls through two serves on it pass.
func budgetOfThreeAcrossTwoServes(t *testing.T, dbPath string) {
	// Room for 3 calls at their worst case and half of one.
	budget := 3.5 * max(worstOf(budgetBody(true)), worstOf(budgetBody(false)))
	out, err := runKeys(t, dbPath, "create", "--name", "ci", "--budget-usd", strconv.FormatFloat(budget, 'f', -1, 64), "--period", "day")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	serveEnv(t, dbPath, map[string]string{"SHARED_LIMITS": "true"})
	var addrs []string
	for range 2 {
		addr, stop := startServe(t)
		defer stop()
		addrs = append(addrs, addr)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 20 {
		wg.Go(func() {
			<-start
			status, _, _ := post(t, client, addrs[i%2]+"/v1/messages", key, budgetBody(i%4 < 2))
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if got, want := statuses[http.StatusOK], 3; got != want {
		t.Errorf("calls through %d of 20, want %d (statuses %v)", got, want, statuses)
	}
	if got, want := statuses[http.StatusBadRequest], 17; got != want {
		t.Errorf("calls refused %d of 20, want %d (statuses %v)", got, want, statuses)
	}
}
