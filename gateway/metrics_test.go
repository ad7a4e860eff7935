package gateway_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/internal/metricstest"
	"github.com/claudebridge/claudebridge/internal/syncbuf"
	"github.com/claudebridge/claudebridge/metrics"
)

type usageJSON struct {
	InputTokens  float64 `json:"input_tokens"`
	OutputTokens float64 `json:"output_tokens"`
}

func TestCallsThroughTheGatewayAreCountedWithTheirTokensAndLatency(t *testing.T) {
	m := metrics.New("anthropic")
	srv := newGateway(t, func(g *gateway.Gateway) {
		g.Metrics = m
		g.Keys = claudebridge.NewClientKeys("client-key")
	})
	key := map[string]string{"x-api-key": "client-key"}

	resp := post(t, srv.URL+"/v1/messages", message("hello [[words=20]]", ""), key)
	var answer struct{ Usage usageJSON }
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("non-streaming call: %d %v", resp.StatusCode, err)
	}
	resp = post(t, srv.URL+"/v1/messages", message("hello again [[words=30]]", `"stream":true,`), key)
	var streamed usageJSON
	for _, ev := range readSSE(t, resp.Body) {
		var d struct {
			Message struct{ Usage usageJSON }
			Usage   *usageJSON
		}
		json.Unmarshal([]byte(ev.data), &d)
		switch ev.typ {
		case "message_start":
			streamed = d.Message.Usage
		case "message_delta":
			streamed.OutputTokens = d.Usage.OutputTokens
		}
	}
	if got, want := post(t, srv.URL+"/v1/messages/count_tokens", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`, key).StatusCode, http.StatusOK; got != want {
		t.Fatalf("count_tokens: %d, want %d", got, want)
	}
	if got, want := post(t, srv.URL+"/v1/messages", message("no key", ""), nil).StatusCode, http.StatusUnauthorized; got != want {
		t.Fatalf("without a key: %d, want %d", got, want)
	}
	if got, want := post(t, srv.URL+"/v1/messages", message("[[throttle]]", ""), key).StatusCode, http.StatusTooManyRequests; got != want {
		t.Fatalf("throttled: %d, want %d", got, want)
	}

	// Each call is recorded after its answer is written: Close waits for
	// the handlers to return.
	srv.Close()
	f := metricstest.Scrape(t, m.Handler(""), "")
	sonnet := map[string]string{"door": "messages", "model": "claude-sonnet-4-5-20250929", "upstream": "anthropic"}
	with := func(extra ...string) map[string]string {
		l := map[string]string{}
		for k, v := range sonnet {
			l[k] = v
		}
		for i := 0; i < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	if got, want := f.Value("claudebridge_requests_total", with("status", "200")), 2.0; got != want {
		t.Errorf("messages answered 200: %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_requests_total", with("status", "429")), 1.0; got != want {
		t.Errorf("messages answered 429: %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"door": "messages", "model": "other", "status": "401"}), 1.0; got != want {
		t.Errorf("messages answered 401: %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"door": "count_tokens", "status": "200"}), 1.0; got != want {
		t.Errorf("count_tokens answered 200: %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_tokens_total", with("kind", "input")), answer.Usage.InputTokens+streamed.InputTokens; got != want {
		t.Errorf("input tokens %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_tokens_total", with("kind", "output")), answer.Usage.OutputTokens+streamed.OutputTokens; got != want || got == 0 {
		t.Errorf("output tokens %v, want %v", got, want)
	}
	if got := f.Value("claudebridge_cost_usd_total", sonnet); got <= 0 {
		t.Errorf("cost %v, want more than 0", got)
	}
	if got, want := f.Observations("claudebridge_request_duration_seconds", with("status", "200")), uint64(2); got != want {
		t.Errorf("latency observations %d, want %d", got, want)
	}
	if got, want := f.Observations("claudebridge_time_to_first_token_seconds", sonnet), uint64(1); got != want {
		t.Errorf("time-to-first-token observations %d, want %d (the one stream)", got, want)
	}
	if got, want := f.Value("claudebridge_streams_in_flight", map[string]string{"door": "messages"}), 0.0; got != want {
		t.Errorf("streams in flight after the calls %v, want %v", got, want)
	}
}

func TestThePromptIsNotLoggedUnlessLogBodiesIsSet(t *testing.T) {
	const prompt = "the-secret-plan-of-the-user"
	for _, logBodies := range []bool{false, true} {
		var logs syncbuf.Buffer
		srv := newGateway(t, func(g *gateway.Gateway) {
			g.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			g.LogBodies = logBodies
			g.Keys = claudebridge.NewClientKeys("client-key")
		})
		key := map[string]string{"x-api-key": "client-key"}
		io.Copy(io.Discard, post(t, srv.URL+"/v1/messages", message(prompt, ""), key).Body)
		io.Copy(io.Discard, post(t, srv.URL+"/v1/messages", message(prompt, `"stream":true,`), key).Body)
		io.Copy(io.Discard, post(t, srv.URL+"/v1/messages", message(prompt+" [[error]]", ""), key).Body)
		io.Copy(io.Discard, post(t, srv.URL+"/v1/messages", message(prompt, `"bogus_field":1,`), key).Body)
		io.Copy(io.Discard, post(t, srv.URL+"/v1/messages/count_tokens", message(prompt, ""), key).Body)
		if got, want := strings.Contains(logs.String(), prompt), logBodies; got != want {
			t.Errorf("LogBodies %v: the prompt is in the log: %v, want %v:\n%s", logBodies, got, want, logs.String())
		}
		if got, want := strings.Contains(logs.String(), "client-key"), false; got != want {
			t.Errorf("LogBodies %v: the client key is in the log: %v, want %v", logBodies, got, want)
		}
	}
}
