package anthropicapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
	"github.com/claudebridge/claudebridge/emulator/sim"
	"github.com/claudebridge/claudebridge/internal/syncbuf"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/claudebridge/claudebridge"
)

const emulatorKey = "sk-ant-emulator-key-0001"

// wireTap keeps the bytes the emulator wrote, to compare with what the
// Upstream read.
type wireTap struct {
	mu  sync.Mutex
	out map[string]*bytes.Buffer // by the request's x-request-tag
}

type tappedWriter struct {
	http.ResponseWriter
	buf *bytes.Buffer
	mu  *sync.Mutex
}

func (w *tappedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	return w.ResponseWriter.Write(p)
}

func (w *tappedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (t *wireTap) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.mu.Lock()
		buf := &bytes.Buffer{}
		t.out[r.URL.Path] = buf
		t.mu.Unlock()
		h.ServeHTTP(&tappedWriter{ResponseWriter: w, buf: buf, mu: &t.mu}, r)
	})
}

func (t *wireTap) written(path string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.out[path].String()
}

func newEmulated(t *testing.T, key string) (*Upstream, *wireTap, *syncbuf.Buffer) {
	t.Helper()
	tap := &wireTap{out: map[string]*bytes.Buffer{}}
	srv := httptest.NewServer(tap.wrap(anthropicemu.New(anthropicemu.Options{APIKeys: []string{emulatorKey}})))
	t.Cleanup(srv.Close)
	logs := &syncbuf.Buffer{}
	u := New(Options{BaseURL: srv.URL, Key: StaticKey(key), Logger: slog.New(slog.NewTextHandler(logs, nil))})
	return u, tap, logs
}

func ask(t *testing.T, text string, stream bool) *claudebridge.Request {
	t.Helper()
	q, _ := json.Marshal(text)
	body := `{"model":"claude-sonnet-4-5-20250929","max_tokens":300,"messages":[{"role":"user","content":` + string(q) + `}]`
	if stream {
		body += `,"stream":true`
	}
	return parse(t, body+"}", nil)
}

func TestEmulatorMessages(t *testing.T) {
	u, _, _ := newEmulated(t, emulatorKey)
	resp, err := u.Messages(context.Background(), ask(t, "Please repeat <script>alert(1)</script> back.", false))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Type    string `json:"type"`
		Content []struct {
			Type, Text string
		} `json:"content"`
		Usage claudebridge.Usage `json:"usage"`
	}
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "message" || len(m.Content) == 0 || !strings.Contains(m.Content[0].Text, "<script>") {
		t.Errorf("answer %s", resp.Body)
	}
	if resp.Usage != m.Usage || resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 {
		t.Errorf("usage %+v, body says %+v", resp.Usage, m.Usage)
	}
}

func TestEmulatorStreamIsCopiedByteForByte(t *testing.T) {
	u, tap, _ := newEmulated(t, emulatorKey)
	s, err := u.Stream(context.Background(), ask(t, "Tell me about streams. [[words=60]]", true))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := readStream(t, s)
	if err != io.EOF {
		t.Fatalf("ended with %v", err)
	}
	var got strings.Builder
	types := map[string]int{}
	for _, ev := range evs {
		got.WriteString("event: " + ev.Type + "\ndata: " + string(ev.Data) + "\n\n")
		types[ev.Type]++
	}
	if want := tap.written("/v1/messages"); got.String() != want {
		t.Errorf("events differ from the wire:\n got %q\nwant %q", got.String(), want)
	}
	if types["ping"] == 0 || types["message_stop"] != 1 || types["content_block_delta"] < 10 {
		t.Errorf("event counts %v", types)
	}
}

func TestEmulatorErrors(t *testing.T) {
	tests := []struct {
		text   string
		code   string
		status int
		retry  time.Duration
	}{
		{"hi [[throttle]]", claudebridge.ERATELIMIT, 429, time.Second},
		{"hi [[throttle]] [[retry-after=7]]", claudebridge.ERATELIMIT, 429, 7 * time.Second},
		{"hi [[overloaded]]", claudebridge.EOVERLOADED, 529, 0},
		{"hi [[error]]", claudebridge.EINTERNAL, 500, 0},
		{"hi [[denied]]", claudebridge.EPERMISSION, 403, 0},
		{"hi [[model-timeout]]", claudebridge.ETIMEOUT, 504, 0},
		{"hi [[reset]]", claudebridge.EINTERNAL, 0, 0},
	}
	u, _, _ := newEmulated(t, emulatorKey)
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			var err error
			if stream {
				var s claudebridge.Stream
				if s, err = u.Stream(context.Background(), ask(t, tt.text, true)); err == nil {
					s.Close()
				}
			} else {
				_, err = u.Messages(context.Background(), ask(t, tt.text, false))
			}
			var e *claudebridge.Error
			if !errors.As(err, &e) || e.Code != tt.code || e.Status != tt.status || e.RetryAfter != tt.retry || e.Message == "" {
				t.Errorf("%s (stream %v): got %#v", tt.text, stream, err)
			}
		}
	}

	// A body that breaks off half way.
	if _, err := u.Messages(context.Background(), ask(t, "hi [[cut]]", false)); claudebridge.ErrorCode(err) != claudebridge.EINTERNAL || !claudebridge.Retryable(err) {
		t.Errorf("cut body: %v", err)
	}

	r := ask(t, "hi", false)
	r.SetField("model", json.RawMessage(`"claude-nonexistent-9"`))
	if _, err := u.Messages(context.Background(), r); claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		t.Errorf("unknown model: %v", err)
	}
	r = ask(t, "hi", false)
	r.SetField("max_tokens", json.RawMessage(`"many"`))
	if _, err := u.Messages(context.Background(), r); claudebridge.ErrorCode(err) != claudebridge.EINVALID || !strings.Contains(claudebridge.ErrorMessage(err), "max_tokens") {
		t.Errorf("bad max_tokens: %v", err)
	}
}

func TestEmulatorWrongKey(t *testing.T) {
	const wrong = "sk-ant-wrong-key-9999"
	u, _, logs := newEmulated(t, wrong)
	_, err := u.Messages(context.Background(), ask(t, "hi", false))
	var e *claudebridge.Error
	if !errors.As(err, &e) || e.Code != claudebridge.EUPSTREAMAUTH || e.Status != 401 {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(e.Message, wrong) || strings.Contains(logs.String(), wrong) {
		t.Error("the key leaked into the error or the log")
	}
}

func TestEmulatorStreamFaults(t *testing.T) {
	u, _, _ := newEmulated(t, emulatorKey)

	s, err := u.Stream(context.Background(), ask(t, "hi [[cut=3]]", true))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := readStream(t, s)
	s.Close()
	var e *claudebridge.Error
	if !errors.As(err, &e) || e.Code != claudebridge.EINTERNAL || len(evs) < 3 || evs[len(evs)-1].Type == "message_stop" {
		t.Fatalf("cut: %d events, %v", len(evs), err)
	}

	s, err = u.Stream(context.Background(), ask(t, "hi [[stream-error=3]]", true))
	if err != nil {
		t.Fatal(err)
	}
	evs, err = readStream(t, s)
	s.Close()
	if !errors.As(err, &e) || e.Code != claudebridge.EOVERLOADED || e.Message != "Overloaded" || len(evs) < 3 {
		t.Fatalf("stream-error: %d events, %v", len(evs), err)
	}
}

func TestEmulatorCountTokens(t *testing.T) {
	u, _, _ := newEmulated(t, emulatorKey)
	count := func(text string) int {
		t.Helper()
		q, _ := json.Marshal(text)
		r, err := parseCount(`{"model":"claude-sonnet-4-5-20250929","messages":[{"role":"user","content":` + string(q) + `}]}`)
		if err != nil {
			t.Fatal(err)
		}
		c, err := u.CountTokens(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if c.Estimated {
			t.Error("the API's count marked as an estimate")
		}
		return c.InputTokens
	}
	short, long := count("hello"), count(strings.Repeat("hello there ", 200))
	if short <= 0 || long <= short+400 {
		t.Errorf("counts %d and %d do not grow with the input", short, long)
	}
	resp, err := u.Messages(context.Background(), ask(t, "hello", false))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.InputTokens != short {
		t.Errorf("count_tokens says %d, the message's usage %d", short, resp.Usage.InputTokens)
	}
}

func TestEmulatorModelsPaging(t *testing.T) {
	u, _, _ := newEmulated(t, emulatorKey)
	u.modelsPage = 2
	models, err := u.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sim.Catalog) < 5 || len(models) != len(sim.Catalog) {
		t.Fatalf("%d models, the catalog has %d", len(models), len(sim.Catalog))
	}
	for i, m := range models {
		c := sim.Catalog[i]
		if m.ID != c.ID || m.DisplayName != c.DisplayName || !m.CreatedAt.Equal(c.CreatedAt) {
			t.Errorf("model %d: %+v, catalog %+v", i, m, c)
		}
	}
}

// switchable serves with whichever handler was set last, so that a test can
// rotate a secret and the API's accepted key between calls.
type switchable struct{ h atomic.Pointer[http.Handler] }

func (s *switchable) set(h http.Handler)                               { s.h.Store(&h) }
func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.h.Load()).ServeHTTP(w, r) }

func TestSecretsManagerKeyRotation(t *testing.T) {
	const oldKey, newKey = "sk-ant-old-0000000001", "sk-ant-new-0000000002"
	creds := map[string]string{"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	var secretCalls, apiCalls atomic.Int32
	aws, api := &switchable{}, &switchable{}
	rotate := func(key string) {
		aws.set(bedrockemu.New(bedrockemu.Options{
			Credentials: creds,
			Secrets:     map[string]string{"prod/anthropic": `{"api_key":"` + key + `"}`},
		}))
		api.set(anthropicemu.New(anthropicemu.Options{APIKeys: []string{key}}))
	}
	rotate(oldKey)
	awsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secretCalls.Add(1)
		aws.ServeHTTP(w, r)
	}))
	defer awsSrv.Close()
	apiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiCalls.Add(1)
		api.ServeHTTP(w, r)
	}))
	defer apiSrv.Close()

	sm := secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		BaseEndpoint: &awsSrv.URL,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", creds["AKIDEXAMPLE"], ""),
	})
	logs := &syncbuf.Buffer{}
	u := New(Options{BaseURL: apiSrv.URL, Key: SecretsManagerKey(sm, "prod/anthropic"), Logger: slog.New(slog.NewTextHandler(logs, nil))})

	for i := 0; i < 2; i++ {
		if _, err := u.Messages(context.Background(), ask(t, "hi", false)); err != nil {
			t.Fatal(err)
		}
	}
	if secretCalls.Load() != 1 || apiCalls.Load() != 2 {
		t.Fatalf("before rotation: %d secret reads, %d API calls; want the key kept", secretCalls.Load(), apiCalls.Load())
	}

	rotate(newKey)
	s, err := u.Stream(context.Background(), ask(t, "hi", true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readStream(t, s); err != io.EOF {
		t.Fatal(err)
	}
	s.Close()
	if secretCalls.Load() != 2 || apiCalls.Load() != 4 {
		t.Fatalf("after rotation: %d secret reads, %d API calls; want 2 and 4", secretCalls.Load(), apiCalls.Load())
	}

	// A key the API refuses even fresh from the secret: one refresh, one
	// retry, then the API's error.
	api.set(anthropicemu.New(anthropicemu.Options{APIKeys: []string{"sk-ant-someone-else"}}))
	_, err = u.Messages(context.Background(), ask(t, "hi", false))
	if claudebridge.ErrorCode(err) != claudebridge.EUPSTREAMAUTH || secretCalls.Load() != 3 || apiCalls.Load() != 5 {
		t.Fatalf("got %v after %d secret reads, %d API calls", err, secretCalls.Load(), apiCalls.Load())
	}

	// A secret that is gone: the client sees no secret name, the log does.
	aws.set(bedrockemu.New(bedrockemu.Options{Credentials: creds}))
	u2 := New(Options{BaseURL: apiSrv.URL, Key: SecretsManagerKey(sm, "prod/anthropic"), Logger: slog.New(slog.NewTextHandler(logs, nil))})
	_, err = u2.Messages(context.Background(), ask(t, "hi", false))
	if claudebridge.ErrorCode(err) != claudebridge.EINTERNAL || strings.Contains(err.Error(), "prod/anthropic") || !strings.Contains(logs.String(), "prod/anthropic") {
		t.Fatalf("missing secret: %v", err)
	}
	for _, k := range []string{oldKey, newKey} {
		if strings.Contains(logs.String(), k) {
			t.Errorf("log carries a key:\n%s", logs)
		}
	}
}

func TestSecretsManagerConcurrentRefreshesShareOneRead(t *testing.T) {
	creds := map[string]string{"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	aws := bedrockemu.New(bedrockemu.Options{Credentials: creds, Secrets: map[string]string{"k": "sk-ant-plain-string-key"}})
	var reads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reads.Add(1)
		time.Sleep(100 * time.Millisecond) // long enough for every caller to be waiting
		aws.ServeHTTP(w, r)
	}))
	defer srv.Close()
	keys := SecretsManagerKey(secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		BaseEndpoint: &srv.URL,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", creds["AKIDEXAMPLE"], ""),
	}), "k")

	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if k, err := keys.Refresh(context.Background()); err != nil || k != "sk-ant-plain-string-key" {
				t.Errorf("got %q, %v", k, err)
			}
		}()
	}
	wg.Wait()
	if n := reads.Load(); n != 1 {
		t.Errorf("%d reads of the secret for 10 concurrent refreshes", n)
	}
	if k, _ := keys.Key(context.Background()); k != "sk-ant-plain-string-key" || reads.Load() != 1 {
		t.Errorf("Key after Refresh read the secret again")
	}
}
