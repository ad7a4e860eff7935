package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge/internal/metricstest"
	"github.com/claudebridge/claudebridge/internal/syncbuf"
	"github.com/claudebridge/claudebridge/metrics"
)

func TestMetricsOnTheMainPortNeedTheAdminKeyAndAreNotFoundWithout(t *testing.T) {
	m := metrics.New("emulator")
	get := func(h http.Handler, auth string) int {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	chat := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("the chat page")) })
	withKey := frontDoors(http.NotFoundHandler(), http.NotFoundHandler(), http.NotFoundHandler(), chat, m.Handler("admin-key"))
	if got, want := get(withKey, ""), http.StatusUnauthorized; got != want {
		t.Errorf("ADMIN_KEY set, no key: %d, want %d", got, want)
	}
	if got, want := get(withKey, "Bearer admin-key"), http.StatusOK; got != want {
		t.Errorf("ADMIN_KEY set, with it: %d, want %d", got, want)
	}
	if got, want := get(frontDoors(http.NotFoundHandler(), http.NotFoundHandler(), http.NotFoundHandler(), chat, nil), "Bearer admin-key"), http.StatusNotFound; got != want {
		t.Errorf("no ADMIN_KEY: %d, want %d", got, want)
	}
}

// lines is a log writer that hands each line, as written, to a channel
// and keeps them all.
type lines struct {
	syncbuf.Buffer
	each chan string
}

func (l *lines) Write(p []byte) (int, error) {
	l.Buffer.Write(p)
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		select {
		case l.each <- line:
		default: // nobody waits for it
		}
	}
	return len(p), nil
}

// TestServeWithMetricsAddrAndJSONLogs runs serve on the built-in emulator
// as an operator would set it up for monitoring, and checks what the
// operator sees: /metrics on METRICS_ADDR without authentication, on the
// main port with ADMIN_KEY only, and log lines that are JSON and hold no
// key or prompt.
func TestServeWithMetricsAddrAndJSONLogs(t *testing.T) {
	const (
		apiKey   = "cb-client-key-in-the-test"
		adminKey = "cb-admin-key-in-the-test"
		prompt   = "the-confidential-question-of-the-user"
	)
	for k, v := range map[string]string{
		"AI_PROVIDER": "emulator", "DATABASE_URL": filepath.Join(t.TempDir(), "chat.db"), "HOME": t.TempDir(),
		"API_KEYS": apiKey, "ADMIN_KEY": adminKey, "METRICS_ADDR": "127.0.0.1:0", "LOG_FORMAT": "json", "LOG_LEVEL": "debug",
		"LOG_BODIES": "", "LISTEN_ADDR": "", "BEARER_TOKEN": "", "SHUTDOWN_GRACE": "1s",
	} {
		t.Setenv(k, v)
	}
	logs := &lines{each: make(chan string, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, io.Discard, logs) }()
	var start struct{ Addr, Metrics string }
	for start.Addr == "" {
		select {
		case line := <-logs.each:
			if strings.Contains(line, "claudebridge serving") {
				if err := json.Unmarshal([]byte(line), &start); err != nil {
					t.Fatalf("start-up line %q: %v", line, err)
				}
			}
		case err := <-done:
			t.Fatalf("serve ended before it served: %v\n%s", err, logs.String())
		}
	}
	if got, want := strings.HasSuffix(start.Metrics, "/metrics"), true; got != want {
		t.Fatalf("the start-up line says metrics are at %q, want METRICS_ADDR's URL", start.Metrics)
	}

	call := func(body string) {
		req, _ := http.NewRequest("POST", start.Addr+"/v1/messages", strings.NewReader(body))
		req.Header.Set("x-api-key", apiKey)
		req.Header.Set("anthropic-version", "2023-06-01")
		req.Header.Set("content-type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("call: %d", resp.StatusCode)
		}
	}
	call(`{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"` + prompt + `"}]}`)
	call(`{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"` + prompt + `"}]}`)

	resp, err := http.Get(start.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	f := metricstest.Parse(t, resp)
	resp.Body.Close()
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"door": "messages", "upstream": "emulator", "status": "200"}), 2.0; got != want {
		t.Errorf("messages answered 200 on METRICS_ADDR: %v, want %v", got, want)
	}
	if got := f.Value("claudebridge_tokens_total", map[string]string{"door": "messages", "kind": "output"}); got <= 0 {
		t.Errorf("output tokens %v, want more than 0", got)
	}
	for auth, want := range map[string]int{"": http.StatusUnauthorized, "Bearer " + apiKey: http.StatusUnauthorized, "Bearer " + adminKey: http.StatusOK} {
		req, _ := http.NewRequest("GET", start.Addr+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.StatusCode; got != want {
			t.Errorf("main port's /metrics with %q: %d, want %d", auth, got, want)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	n := 0
	for sc.Scan() {
		n++
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
		}
		for _, secret := range []string{apiKey, adminKey, prompt} {
			if strings.Contains(sc.Text(), secret) {
				t.Errorf("log line holds %q: %s", secret, sc.Text())
			}
		}
	}
	if got, want := n >= 3, true; got != want {
		t.Errorf("%d log lines, want the start-up line and one per call at least", n)
	}
}
