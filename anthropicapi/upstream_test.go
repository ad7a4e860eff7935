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

	"github.com/claudebridge/claudebridge/internal/syncbuf"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// seenRequest is what the fake API received.
type seenRequest struct {
	Path   string
	Header http.Header
	Body   []byte
	From   string // the client's address: one per connection
}

// fakeAPI is an Anthropic API whose answers a test writes byte by byte.
type fakeAPI struct {
	mu     sync.Mutex
	seen   []seenRequest
	answer func(w http.ResponseWriter, r *http.Request, body []byte)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body, From: r.RemoteAddr})
	f.mu.Unlock()
	f.answer(w, r, body)
}

func (f *fakeAPI) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func newFake(t *testing.T, keys KeySource, answer func(w http.ResponseWriter, r *http.Request, body []byte)) (*Upstream, *fakeAPI, *syncbuf.Buffer) {
	t.Helper()
	f := &fakeAPI{answer: answer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	logs := &syncbuf.Buffer{}
	u := New(Options{
		BaseURL: srv.URL + "/",
		Key:     keys,
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return u, f, logs
}

func parse(t *testing.T, body string, header http.Header) *claudebridge.Request {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	r, err := anthropic.ParseRequest([]byte(body), header, false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const oddBody = `{ "model" : "claude-sonnet-4-5-20250929",
  "max_tokens": 64, "top_p": 0.9, "temperature": 1,
  "messages": [{"role":"user","content":"caf\u00e9 <b>"}], "unknown_field": {"z":1, "a":2} }`

func TestMessagesSendsTheBodyAndHeaders(t *testing.T) {
	const key = "sk-ant-test-headers"
	answer := `{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":11,"output_tokens":3,"cache_creation_input_tokens":2,"cache_read_input_tokens":5}}`
	u, f, _ := newFake(t, StaticKey(key), func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	})

	h := http.Header{"Anthropic-Version": {"2023-01-01"}, "Anthropic-Beta": {"b1, b2", "b1,b3"}}
	resp, err := u.Messages(context.Background(), parse(t, oddBody, h))
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != answer {
		t.Errorf("body changed: %s", resp.Body)
	}
	if want := (claudebridge.Usage{InputTokens: 11, OutputTokens: 3, CacheCreationInputTokens: 2, CacheReadInputTokens: 5}); resp.Usage != want {
		t.Errorf("usage %+v, want %+v", resp.Usage, want)
	}

	// Without headers from the client: the default version and no beta header.
	if _, err := u.Messages(context.Background(), parse(t, oddBody, nil)); err != nil {
		t.Fatal(err)
	}

	seen := f.requests()
	if len(seen) != 2 {
		t.Fatalf("%d calls", len(seen))
	}
	got := seen[0]
	if got.Path != "/v1/messages" || string(got.Body) != oddBody {
		t.Errorf("sent %s %q, want the client's bytes", got.Path, got.Body)
	}
	for name, want := range map[string]string{"X-Api-Key": key, "Anthropic-Version": "2023-01-01", "Anthropic-Beta": "b1,b2,b3", "Content-Type": "application/json"} {
		if v := got.Header.Values(name); len(v) != 1 || v[0] != want {
			t.Errorf("header %s: %q, want %q", name, v, want)
		}
	}
	if v := seen[1].Header.Get("Anthropic-Version"); v != DefaultVersion {
		t.Errorf("default version %q", v)
	}
	if v, ok := seen[1].Header["Anthropic-Beta"]; ok {
		t.Errorf("beta header sent without betas: %q", v)
	}
}

func TestChangedFieldsAreSent(t *testing.T) {
	u, f, _ := newFake(t, StaticKey("k"), func(w http.ResponseWriter, r *http.Request, body []byte) {
		io.WriteString(w, `{"type":"message","usage":{"input_tokens":1,"output_tokens":1}}`)
	})
	r := parse(t, strings.Replace(oddBody, "claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929[1m]", 1), nil)
	r.SetField("top_p", nil) // as a sampling rule does
	if _, err := u.Messages(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(f.requests()[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	if _, ok := sent["top_p"]; ok {
		t.Error("top_p still sent")
	}
	if string(sent["model"]) != `"claude-sonnet-4-5-20250929"` {
		t.Errorf("model sent as %s", sent["model"])
	}
	if string(sent["unknown_field"]) != `{"z":1, "a":2}` {
		t.Errorf("unknown field re-encoded: %s", sent["unknown_field"])
	}
}

// rotatingKey is a KeySource whose key changes when the test says so.
type rotatingKey struct {
	mu        sync.Mutex
	current   string
	refreshes int
}

func (k *rotatingKey) Key(context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.current, nil
}

func (k *rotatingKey) Refresh(ctx context.Context) (string, error) {
	k.mu.Lock()
	k.refreshes++
	k.mu.Unlock()
	return k.Key(ctx)
}

func TestUnauthorizedRetriesOnceWithAFreshKey(t *testing.T) {
	var valid atomic.Value
	valid.Store("key-2")
	u, f, logs := newFake(t, nil, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("X-Api-Key") != valid.Load().(string) {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)
			return
		}
		io.WriteString(w, `{"input_tokens":42}`)
	})
	keys := &rotatingKey{current: "key-1"}
	u.keys = keys
	r := parse(t, oddBody, nil)

	// The source still gives the refused key: no second call.
	_, err := u.CountTokens(context.Background(), r)
	var e *claudebridge.Error
	if !errors.As(err, &e) || e.Code != claudebridge.EUPSTREAMAUTH || e.Status != 401 || e.Message != "The Anthropic API refused claudebridge's API key: invalid x-api-key" {
		t.Fatalf("got %v", err)
	}
	if n := len(f.requests()); n != 1 || keys.refreshes != 1 {
		t.Fatalf("%d calls, %d refreshes; want 1 and 1", n, keys.refreshes)
	}

	// The secret was rotated: the second try with the new key succeeds.
	keys.mu.Lock()
	keys.current = "key-2"
	keys.mu.Unlock()
	valid.Store("key-3")
	u.keys = &lateRotation{rotatingKey: keys, next: "key-3"}
	c, err := u.CountTokens(context.Background(), r)
	if err != nil || c.InputTokens != 42 || c.Estimated {
		t.Fatalf("got %+v, %v", c, err)
	}
	seen := f.requests()
	if len(seen) != 3 || seen[1].Header.Get("X-Api-Key") != "key-2" || seen[2].Header.Get("X-Api-Key") != "key-3" {
		t.Fatalf("calls: %d", len(seen))
	}
	if !bytes.Equal(seen[2].Body, seen[1].Body) {
		t.Error("the retry sent another body")
	}
	for _, k := range []string{"key-1", "key-2", "key-3"} {
		if strings.Contains(logs.String(), k) {
			t.Errorf("log carries key %s:\n%s", k, logs)
		}
	}
}

// lateRotation gives next once refreshed, as a secret rotated after the key
// was cached.
type lateRotation struct {
	*rotatingKey
	next string
}

func (k *lateRotation) Refresh(context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.current = k.next
	return k.current, nil
}

func TestErrorAnswerKeepsRetryAfterAndStatus(t *testing.T) {
	u, _, _ := newFake(t, StaticKey("k"), func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Retry-After", "12")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`)
	})
	_, err := u.Stream(context.Background(), parse(t, oddBody, nil))
	var e *claudebridge.Error
	if !errors.As(err, &e) || e.Code != claudebridge.ERATELIMIT || e.Status != 429 || e.RetryAfter != 12*time.Second ||
		!strings.Contains(e.Message, "per-minute rate limit") {
		t.Fatalf("got %#v", err)
	}
}

func TestUnreachableAPI(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	u := New(Options{BaseURL: srv.URL, Key: StaticKey("sk-unreachable"), Logger: slog.New(slog.DiscardHandler)})
	_, err := u.Messages(context.Background(), parse(t, oddBody, nil))
	if claudebridge.ErrorCode(err) != claudebridge.EINTERNAL || !claudebridge.Retryable(err) {
		t.Fatalf("got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := u.Messages(ctx, parse(t, oddBody, nil)); claudebridge.ErrorCode(err) != claudebridge.ECANCELED {
		t.Fatalf("canceled: got %v", err)
	}
}

func parseCount(body string) (*claudebridge.Request, error) {
	return anthropic.ParseRequest([]byte(body), http.Header{}, true)
}

func TestCountTokensLeavesOutMessagesOnlyFields(t *testing.T) {
	u, f, _ := newFake(t, StaticKey("k"), func(w http.ResponseWriter, r *http.Request, body []byte) {
		io.WriteString(w, `{"input_tokens":9}`)
	})
	countBody := `{"model":"claude-sonnet-4-5-20250929", "messages":[{"role":"user","content":"hi"}]}`
	r, err := parseCount(countBody)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.CountTokens(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	msg := parse(t, streamBody, nil)
	if _, err := u.CountTokens(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	seen := f.requests()
	if seen[0].Path != "/v1/messages/count_tokens" || string(seen[0].Body) != countBody {
		t.Errorf("count_tokens body changed: %s", seen[0].Body)
	}
	var sent map[string]json.RawMessage
	json.Unmarshal(seen[1].Body, &sent)
	if _, ok := sent["max_tokens"]; ok || sent["stream"] != nil || sent["messages"] == nil {
		t.Errorf("sent %s", seen[1].Body)
	}
	if _, ok := msg.Fields["max_tokens"]; !ok || msg.Body == nil {
		t.Error("the caller's request was changed")
	}
}

func TestMessagesRefusesAnAnswerThatIsNotJSON(t *testing.T) {
	for _, answer := range []string{`<html>proxy error</html>`, `{"type":"message","usage":"lots"}`} {
		u, _, _ := newFake(t, StaticKey("k"), func(w http.ResponseWriter, r *http.Request, body []byte) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, answer)
		})
		_, err := u.Messages(context.Background(), parse(t, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, nil))
		if claudebridge.ErrorCode(err) != claudebridge.EINTERNAL {
			t.Errorf("%s: %v, want EINTERNAL", answer, err)
		}
	}
	u, _, _ := newFake(t, StaticKey("k"), func(w http.ResponseWriter, r *http.Request, body []byte) {
		io.WriteString(w, `{"type":"message","content":[{"type":"text","text":"usage"}],"usage":{"input_tokens":7,"output_tokens":3,"cache_read_input_tokens":2}}`)
	})
	resp, err := u.Messages(context.Background(), parse(t, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, nil))
	if err != nil || resp.Usage != (claudebridge.Usage{InputTokens: 7, OutputTokens: 3, CacheReadInputTokens: 2}) {
		t.Fatalf("%+v %v", resp, err)
	}
}
