package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/mock"
)

// keyed serves a gateway whose keys are "static" and the stored key k,
// and returns k's secret.
func keyed(t *testing.T, k claudebridge.Key) (srv string, secret string) {
	t.Helper()
	store := &mock.Keys{}
	secret, err := store.Add(k)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := limits.NewKeyring(context.Background(), claudebridge.NewClientKeys("static"), store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newGateway(t, func(g *gateway.Gateway) {
		g.Upstream = limits.Upstream{Upstream: g.Upstream}
		g.Keyring = ring
	})
	return s.URL, secret
}

func TestAKeyWithRPM2Gets200Then200Then429WithRetryAfterAndTheRatelimitHeaders(t *testing.T) {
	url, secret := keyed(t, claudebridge.Key{Name: "ci", RPM: 2, TPM: 100000})
	var last *http.Response
	for i, want := range []int{200, 200, 429} {
		last = post(t, url+"/v1/messages", message("hi", ""), map[string]string{"x-api-key": secret})
		if got := last.StatusCode; got != want {
			t.Fatalf("request %d: status %d, want %d", i+1, got, want)
		}
		if got, want := last.Header.Get("anthropic-ratelimit-requests-limit"), "2"; got != want {
			t.Errorf("request %d: requests-limit = %q, want %q", i+1, got, want)
		}
		if got, want := last.Header.Get("anthropic-ratelimit-tokens-limit"), "100000"; got != want {
			t.Errorf("request %d: tokens-limit = %q, want %q", i+1, got, want)
		}
		if _, err := time.Parse(time.RFC3339, last.Header.Get("anthropic-ratelimit-requests-reset")); err != nil {
			t.Errorf("request %d: requests-reset: %v", i+1, err)
		}
	}
	if got, want := last.Header.Get("anthropic-ratelimit-requests-remaining"), "0"; got != want {
		t.Errorf("remaining = %q, want %q", got, want)
	}
	if got := last.Header.Get("retry-after"); got == "" || got == "0" {
		t.Errorf("retry-after = %q, want seconds", got)
	}
	if got, want := readError(t, last).Error.Type, "rate_limit_error"; got != want {
		t.Errorf("error type = %q, want %q", got, want)
	}
}

func TestFiftyConcurrentCallsOfAKeyWithRPM10LetExactlyTenThrough(t *testing.T) {
	url, secret := keyed(t, claudebridge.Key{Name: "ci", RPM: 10})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 50 {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", url+"/v1/messages", strings.NewReader(message("hi", "")))
			req.Header.Set("anthropic-version", "2023-06-01")
			req.Header.Set("x-api-key", secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if got, want := codes[200], 10; got != want {
		t.Errorf("200s = %d, want %d", got, want)
	}
	if got, want := codes[429], 40; got != want {
		t.Errorf("429s = %d, want %d", got, want)
	}
}

func TestAKeyCallingAModelOffItsListGetsPermissionErrorNamingTheModel(t *testing.T) {
	url, secret := keyed(t, claudebridge.Key{Name: "ci", Models: []string{"claude-haiku-4-5"}})
	for _, path := range []string{"/v1/messages", "/v1/messages/count_tokens"} {
		resp := post(t, url+path, message("hi", ""), map[string]string{"Authorization": "Bearer " + secret})
		if got, want := resp.StatusCode, 403; got != want {
			t.Fatalf("%s: status %d, want %d", path, got, want)
		}
		e := readError(t, resp)
		if got, want := e.Error.Type, "permission_error"; got != want {
			t.Errorf("%s: type = %q, want %q", path, got, want)
		}
		if got, want := e.Error.Message, "This API key may not use the model claude-sonnet-4-5"; got != want {
			t.Errorf("%s: message = %q, want %q", path, got, want)
		}
	}
}

func TestStaticKeysStillWorkWithoutLimitsBesideStoredOnes(t *testing.T) {
	url, _ := keyed(t, claudebridge.Key{Name: "ci", RPM: 1})
	for i := range 3 {
		resp := post(t, url+"/v1/messages", message("hi", ""), map[string]string{"x-api-key": "static"})
		if got, want := resp.StatusCode, 200; got != want {
			t.Fatalf("request %d: status %d, want %d", i+1, got, want)
		}
		if got := resp.Header.Get("anthropic-ratelimit-requests-limit"); got != "" {
			t.Errorf("static key: requests-limit = %q, want none", got)
		}
	}
	resp := post(t, url+"/v1/messages", message("hi", ""), map[string]string{"x-api-key": "cb-not-a-key"})
	if got, want := resp.StatusCode, 401; got != want {
		t.Errorf("unknown key: status %d, want %d", got, want)
	}
}

func TestTheModelListOfAKeyedCallCarriesTheRatelimitHeaders(t *testing.T) {
	url, secret := keyed(t, claudebridge.Key{Name: "ci", RPM: 5})
	req, _ := http.NewRequest("GET", url+"/v1/models", nil)
	req.Header.Set("x-api-key", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Header.Get("anthropic-ratelimit-requests-remaining"), "5"; got != want {
		t.Errorf("remaining = %q, want %q", got, want)
	}
}

func TestAStreamHoldsItsKeysConcurrencySlotUntilItEnds(t *testing.T) {
	store := &mock.Keys{}
	secret, _ := store.Add(claudebridge.Key{Name: "ci", Concurrency: 1})
	ring, _ := limits.NewKeyring(context.Background(), nil, store, nil, nil)
	events := []claudebridge.Event{
		{Type: "message_start", Data: []byte(`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":5,"output_tokens":1}}}`)},
		{Type: "message_delta", Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}`)},
		{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)},
	}
	started, gate := make(chan struct{}), make(chan struct{})
	calls := 0
	g := &gateway.Gateway{Keyring: ring, Upstream: limits.Upstream{Upstream: &mock.Upstream{
		StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
			calls++
			if calls == 1 {
				close(started)
				return &mock.Stream{Events: events, Gate: gate}, nil
			}
			return &mock.Stream{Events: events}, nil
		},
	}}}
	call := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(message("hi", `"stream":true,`)))
		r.Header.Set("anthropic-version", "2023-06-01")
		r.Header.Set("x-api-key", secret)
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		return w
	}
	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- call() }()
	<-started
	if got, want := call().Code, 429; got != want {
		t.Errorf("a second stream while the first runs: status %d, want %d", got, want)
	}
	close(gate)
	if got, want := (<-first).Code, 200; got != want {
		t.Errorf("first stream: status %d, want %d", got, want)
	}
	if got, want := call().Code, 200; got != want {
		t.Errorf("a stream after the first ended: status %d, want %d", got, want)
	}
}
