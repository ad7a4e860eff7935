package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// startBatchServe starts a serve of its own on the built-in emulator and
// the database db, running 4 batch calls at once and logging each result.
func startBatchServe(t *testing.T, name, db string) (string, *server) {
	t.Helper()
	url, err := start(name, claudebridgeBin, []string{
		"AI_PROVIDER=emulator",
		"SHUTDOWN_GRACE=200ms",
		"BATCH_CONCURRENCY=4",
		"LOG_LEVEL=debug",
		"DATABASE_URL=" + filepath.Join(tempDir, db),
	}, "serve", "--listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return url, serverNamed(name)
}

// waitLogCount waits until s has logged n lines containing text; false if
// it exited first, or within passed.
func (s *server) waitLogCount(text string, n int, within time.Duration) bool {
	deadline := time.After(within)
	for {
		s.mu.Lock()
		seen := 0
		for _, line := range s.lines {
			if strings.Contains(line, text) {
				seen++
			}
		}
		more := s.more
		s.mu.Unlock()
		if seen >= n {
			return true
		}
		select {
		case <-more:
		case <-s.done:
			return false
		case <-deadline:
			return false
		}
	}
}

func batchCall(t *testing.T, method, url, body string) []byte {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxFor(t), method, url, strings.NewReader(body))
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return b
}

func TestABatchCutByARestartOfServeHasEachCustomIDOnceInItsResults(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no SIGTERM to send")
	}
	const requests = 200
	var list []string
	for i := range requests {
		// A pause before each answer: 200 × 20 ms over 4 calls lasts 1 s,
		// long enough to stop serve in the middle.
		list = append(list, fmt.Sprintf(`{"custom_id":"req-%03d","params":{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"request %d [[wait=20]] %s"}]}}`, i, i, nonce(t)))
	}
	url, first := startBatchServe(t, "batch serve before", "batches.db")
	var created struct {
		ID string `json:"id"`
	}
	json.Unmarshal(batchCall(t, "POST", url+"/v1/messages/batches", `{"requests":[`+strings.Join(list, ",")+`]}`), &created)
	if !first.waitLogCount("message batch result", requests/4, time.Minute) {
		t.Fatalf("serve did not get a quarter of the batch done:\n%s", first.logTail(20))
	}
	if err := termGroup(first.cmd); err != nil {
		t.Fatal(err)
	}
	if got, want := exited(t, first, 30*time.Second), 0; got != want {
		t.Fatalf("serve exited %d, want %d", got, want)
	}
	if strings.Contains(first.log(), "message batch ended") {
		t.Fatalf("the batch ended before serve was stopped: nothing was cut")
	}

	url, second := startBatchServe(t, "batch serve after", "batches.db")
	if !second.waitLog("message batch ended", time.Minute) {
		t.Fatalf("the restarted serve did not end the batch:\n%s", second.logTail(20))
	}
	var batch struct {
		ProcessingStatus string         `json:"processing_status"`
		RequestCounts    map[string]int `json:"request_counts"`
		ResultsURL       string         `json:"results_url"`
	}
	json.Unmarshal(batchCall(t, "GET", url+"/v1/messages/batches/"+created.ID, ""), &batch)
	if got, want := batch.ProcessingStatus, "ended"; got != want {
		t.Errorf("processing_status %q, want %q", got, want)
	}
	if got, want := batch.RequestCounts["succeeded"], requests; got != want {
		t.Errorf("succeeded %d, want %d (%v)", got, want, batch.RequestCounts)
	}
	results := batchCall(t, "GET", batch.ResultsURL, "")
	count := map[string]int{}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(results), "\n"), "\n") {
		var r struct {
			CustomID string `json:"custom_id"`
			Result   struct {
				Type string `json:"type"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("result line %q: %v", line, err)
		}
		count[r.CustomID]++
		if got, want := r.Result.Type, "succeeded"; got != want {
			t.Errorf("%s: result %q, want %q", r.CustomID, got, want)
		}
	}
	for i := range requests {
		id := fmt.Sprintf("req-%03d", i)
		if got, want := count[id], 1; got != want {
			t.Errorf("%s has %d results, want %d", id, got, want)
		}
	}
	if got, want := len(count), requests; got != want {
		t.Errorf("%d custom_ids in the results, want %d", got, want)
	}
	before, after := strings.Count(first.log(), "message batch result"), strings.Count(second.log(), "message batch result")
	if got, want := before+after, requests; got != want {
		t.Errorf("results stored: %d before the restart and %d after, want %d in all", before, after, want)
	}
}
