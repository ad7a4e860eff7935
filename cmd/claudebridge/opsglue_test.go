package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/metricstest"
	"github.com/claudebridge/claudebridge/sqlite"
)

// TestServeRecordsCallsByKeyAndPoolMemberAndKeepsBatchesToTheirKey runs
// serve on a pool of two Bedrock emulators with a virtual key and a
// static one: the first member throttles (a directive aimed at it), so
// that the second serves, and the metrics name the key and that member,
// for the batch door too; a batch of the virtual key is not found with
// the static key.
func TestServeRecordsCallsByKeyAndPoolMemberAndKeepsBatchesToTheirKey(t *testing.T) {
	const staticKey = "cb-static-key-in-the-test"
	dbPath := filepath.Join(t.TempDir(), "serve.db")
	db, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	secret, prefix, hash := claudebridge.NewKeySecret()
	if err := db.CreateKey(context.Background(), &claudebridge.Key{Name: "team-a", Prefix: prefix, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for k, v := range map[string]string{
		"UPSTREAMS": "emulator:us-east-1,emulator:us-west-2", "DATABASE_URL": dbPath, "HOME": t.TempDir(),
		"API_KEYS": staticKey, "METRICS_ADDR": "127.0.0.1:0", "LOG_FORMAT": "json", "ADMIN_KEY": "",
		"LOG_BODIES": "", "LISTEN_ADDR": "", "BEARER_TOKEN": "", "SHUTDOWN_GRACE": "1s",
	} {
		t.Setenv(k, v)
	}
	logs := &lines{each: make(chan string, 256)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, io.Discard, logs) }()
	var start struct{ Addr, Metrics string }
	for start.Addr == "" {
		select {
		case line := <-logs.each:
			if strings.Contains(line, "claudebridge serving") {
				json.Unmarshal([]byte(line), &start)
			}
		case err := <-done:
			t.Fatalf("serve ended before it served: %v\n%s", err, logs.String())
		}
	}
	call := func(method, path, key, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, start.Addr+path, strings.NewReader(body))
		req.Header.Set("x-api-key", key)
		req.Header.Set("anthropic-version", "2023-06-01")
		req.Header.Set("content-type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	const params = `{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"hi [[throttle@us-east-1]]"}]}`
	if status, body := call("POST", "/v1/messages", secret, params); status != http.StatusOK {
		t.Fatalf("call of team-a: %d %s", status, body)
	}
	if status, body := call("POST", "/v1/messages", staticKey, params); status != http.StatusOK {
		t.Fatalf("call of the static key: %d %s", status, body)
	}
	status, body := call("POST", "/v1/messages/batches", secret, `{"requests":[{"custom_id":"r0","params":`+params+`}]}`)
	if status != http.StatusOK {
		t.Fatalf("create batch: %d %s", status, body)
	}
	var batch struct{ ID string }
	json.Unmarshal(body, &batch)
	for ended := false; !ended; {
		select {
		case line := <-logs.each:
			ended = strings.Contains(line, "message batch ended") && strings.Contains(line, batch.ID)
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		}
	}
	if got, want := func() int { s, _ := call("GET", "/v1/messages/batches/"+batch.ID, staticKey, ""); return s }(), http.StatusNotFound; got != want {
		t.Errorf("team-a's batch with the static key: %d, want %d", got, want)
	}
	if got, want := func() int { s, _ := call("GET", "/v1/messages/batches/"+batch.ID, secret, ""); return s }(), http.StatusOK; got != want {
		t.Errorf("team-a's batch with its key: %d, want %d", got, want)
	}

	resp, err := http.Get(start.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	f := metricstest.Parse(t, resp)
	resp.Body.Close()
	for _, c := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"door": "messages", "key": "team-a", "member": "emulator:us-west-2", "status": "200"}, 1},
		{map[string]string{"door": "messages", "key": "static", "member": "emulator:us-west-2", "status": "200"}, 1},
		{map[string]string{"door": "batch", "key": "team-a", "member": "emulator:us-west-2", "status": "200"}, 1},
	} {
		if got := f.Value("claudebridge_requests_total", c.labels); got != c.want {
			t.Errorf("requests %v: %v, want %v", c.labels, got, c.want)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the virtual key's secret is in the log")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
