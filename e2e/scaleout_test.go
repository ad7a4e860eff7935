package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge/internal/pgtest"
)

// fleet is several serve processes on one PostgreSQL database behind a
// round-robin TCP proxy, as a load balancer would put them.
type fleet struct {
	db      string // the database's URL
	url     string // the proxy's
	servers []*server
	urls    []string
}

// startFleet starts n serves on the emulator and a new database, with env
// on top, and the proxy in front of them.
func startFleet(t *testing.T, n int, env ...string) *fleet {
	t.Helper()
	f := &fleet{db: pgtest.URL(t)}
	for i := range n {
		name := fmt.Sprintf("%s serve %d", t.Name(), i)
		url, err := start(name, claudebridgeBin, append([]string{
			"AI_PROVIDER=emulator",
			"SHUTDOWN_GRACE=2s",
			"DATABASE_URL=" + f.db,
		}, env...), "serve", "--listen", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f.urls = append(f.urls, url)
		f.servers = append(f.servers, serverNamed(name))
	}
	f.url = roundRobin(t, f.urls)
	return f
}

// roundRobin listens on loopback and hands each new connection to the next
// of urls' addresses, as a TCP load balancer does; closed by t.Cleanup.
func roundRobin(t *testing.T, urls []string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var next atomic.Uint64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			backend := strings.TrimPrefix(urls[next.Add(1)%uint64(len(urls))], "http://")
			go func() {
				defer c.Close()
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer b.Close()
				join(c, b)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// join copies each connection's bytes to the other until both directions
// ended, passing on a half-close as a TCP load balancer does; closing
// either connection ends both directions.
func join(a, b net.Conn) {
	done := make(chan struct{}, 2)
	pass := func(to, from net.Conn) {
		io.Copy(to, from)
		to.(*net.TCPConn).CloseWrite()
		done <- struct{}{}
	}
	go pass(a, b)
	go pass(b, a)
	<-done
	<-done
}

// stop asks every serve of f to stop (SIGTERM) and waits until they exit.
func (f *fleet) stop(t *testing.T) {
	t.Helper()
	for _, s := range f.servers {
		termGroup(s.cmd)
	}
	for _, s := range f.servers {
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s did not stop within 20s of SIGTERM", s.name)
		}
	}
}

// query runs one scalar query on f's database.
func (f *fleet) query(t *testing.T, sql string, args ...any) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), f.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// fleetCLI runs `claudebridge args...` on f's database and returns stdout.
func (f *fleet) cli(t *testing.T, args ...string) string {
	t.Helper()
	return runCLI(t, []string{"DATABASE_URL=" + f.db}, args...)
}

// message makes one /v1/messages call with key (none if "") through url
// and returns its status.
func message(t *testing.T, url, key, text string) int {
	t.Helper()
	body := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":` + quote(text) + `}]}`
	req, _ := http.NewRequest("POST", url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST /v1/messages: %v", err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

func TestThreeServesOnPostgresWriteOneLedgerRowPerCallAndLoseNoneOnSIGTERM(t *testing.T) {
	f := startFleet(t, 3)
	const calls = 90
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range calls {
		wg.Go(func() {
			if message(t, f.url, "", fmt.Sprintf("call %d %s", i, nonce(t))) == http.StatusOK {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if got, want := int(ok.Load()), calls; got != want {
		t.Fatalf("calls answered 200: %d, want %d", got, want)
	}
	f.stop(t)
	if got, want := f.query(t, `SELECT count(*) FROM ledger WHERE door = 'messages'`), calls; got != want {
		t.Errorf("ledger rows after SIGTERM of all three: %d, want %d (one per call)", got, want)
	}
}

func TestAKeyRevokedOnOneServeIsRefusedByEveryServeWithinASecond(t *testing.T) {
	f := startFleet(t, 3)
	secret := strings.TrimSpace(lastLine(f.cli(t, "keys", "create", "--name", "team")))
	f.waitForKeys(t)
	for _, url := range f.urls {
		if got, want := message(t, url, secret, "hello "+nonce(t)), http.StatusOK; got != want {
			t.Fatalf("%s before revoking: status %d, want %d", url, got, want)
		}
	}
	f.cli(t, "keys", "revoke", "team")
	revoked := time.Now()
	for _, url := range f.urls {
		for message(t, url, secret, "hello "+nonce(t)) != http.StatusUnauthorized {
			if time.Since(revoked) > 3*time.Second {
				t.Fatalf("%s still takes the key %s after it was revoked", url, time.Since(revoked))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if took := time.Since(revoked); took > 2*time.Second {
		t.Errorf("revocation reached every serve in %s, want about a second", took)
	}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestAKeyOfRPM10LetsExactly10Of60ConcurrentCallsThroughThreeServes(t *testing.T) {
	f := startFleet(t, 3)
	secret := strings.TrimSpace(lastLine(f.cli(t, "keys", "create", "--name", "ten", "--rpm", "10")))
	f.waitForKeys(t)
	var wg sync.WaitGroup
	statuses := make([]int, 60)
	start := make(chan struct{})
	for i := range statuses {
		wg.Go(func() {
			<-start
			statuses[i] = message(t, f.url, secret, fmt.Sprintf("call %d %s", i, nonce(t)))
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if got, want := count[http.StatusOK], 10; got != want {
		t.Errorf("calls through: %d, want %d (statuses %v)", got, want, count)
	}
	if got, want := count[http.StatusTooManyRequests], 50; got != want {
		t.Errorf("calls refused with 429: %d, want %d (statuses %v)", got, want, count)
	}
}

// waitForKeys waits until every serve of f requires a key: each reads the
// keys within a second of a change, and serves open until it has one.
func (f *fleet) waitForKeys(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, url := range f.urls {
		for modelsStatusAt(t, url, "cb-not-a-key") != http.StatusUnauthorized {
			if time.Now().After(deadline) {
				t.Fatalf("%s still serves without a key 10s after one was made", url)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// modelsStatusAt is the status of GET /v1/models at url with key.
func modelsStatusAt(t *testing.T, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/models", nil)
	req.Header.Set("x-api-key", key)
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestABatchOutlivesTheServeRunningItKilledAndEndsOnAnotherWithEachResultOnce(t *testing.T) {
	f := startFleet(t, 3, "BATCH_CONCURRENCY=4", "LOG_LEVEL=debug")
	const requests = 200
	var list []string
	for i := range requests {
		// 200 × 30 ms over 4 calls: long enough to kill its serve midway.
		list = append(list, fmt.Sprintf(`{"custom_id":"req-%03d","params":{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"request %d [[wait=30]] %s"}]}}`, i, i, nonce(t)))
	}
	var created struct {
		ID string `json:"id"`
	}
	json.Unmarshal(batchCall(t, "POST", f.urls[0]+"/v1/messages/batches", `{"requests":[`+strings.Join(list, ",")+`]}`), &created)
	// Whichever serve claimed it runs it: kill that one, at once, midway.
	var running *server
	deadline := time.Now().Add(time.Minute)
	for running == nil {
		for _, s := range f.servers {
			if strings.Count(s.log(), "message batch result") >= requests/4 {
				running = s
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no serve got a quarter of the batch done within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := killGroup(running.cmd); err != nil {
		t.Fatal(err)
	}
	<-running.done
	if strings.Contains(running.log(), "message batch ended") {
		t.Fatal("the batch ended before its serve was killed: nothing was cut")
	}
	var survivor string
	for i, s := range f.servers {
		if s != running {
			survivor = f.urls[i]
		}
	}
	var batch struct {
		ProcessingStatus string         `json:"processing_status"`
		RequestCounts    map[string]int `json:"request_counts"`
		ResultsURL       string         `json:"results_url"`
	}
	// Another serve takes the batch over once the claim lapses (15 s).
	deadline = time.Now().Add(90 * time.Second)
	for batch.ProcessingStatus != "ended" {
		if time.Now().After(deadline) {
			t.Fatalf("the batch did not end on another serve within 90 s: %+v", batch)
		}
		time.Sleep(200 * time.Millisecond)
		json.Unmarshal(batchCall(t, "GET", survivor+"/v1/messages/batches/"+created.ID, ""), &batch)
	}
	if got, want := batch.RequestCounts["succeeded"], requests; got != want {
		t.Errorf("succeeded %d, want %d (%v)", got, want, batch.RequestCounts)
	}
	count := map[string]int{}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(batchCall(t, "GET", batch.ResultsURL, "")), "\n"), "\n") {
		var r struct {
			CustomID string `json:"custom_id"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("result line %q: %v", line, err)
		}
		count[r.CustomID]++
	}
	for i := range requests {
		if id := fmt.Sprintf("req-%03d", i); count[id] != 1 {
			t.Errorf("%s has %d results, want 1", id, count[id])
		}
	}
}
