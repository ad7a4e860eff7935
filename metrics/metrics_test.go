package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/metricstest"
	"github.com/claudebridge/claudebridge/metrics"
	"github.com/claudebridge/claudebridge/mock"
)

func TestACallIsCountedWithItsTokensCostAndLatency(t *testing.T) {
	m := metrics.New("bedrock")
	m.Observe(metrics.Call{Door: metrics.Messages, Model: "claude-sonnet-4-5", Status: 200, Duration: 1500 * time.Millisecond,
		FirstToken: 300 * time.Millisecond, Usage: claudebridge.Usage{InputTokens: 1000, OutputTokens: 200, CacheReadInputTokens: 50,
			CacheCreationInputTokens: 30, CacheCreation: claudebridge.CacheCreation{Ephemeral5mInputTokens: 10, Ephemeral1hInputTokens: 20}}})
	f := metricstest.Scrape(t, m.Handler(""), "")
	call := map[string]string{"door": "messages", "model": "claude-sonnet-4-5-20250929", "upstream": "bedrock"}
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"door": "messages", "model": "claude-sonnet-4-5-20250929", "upstream": "bedrock", "status": "200"}), 1.0; got != want {
		t.Errorf("requests %v, want %v", got, want)
	}
	for kind, want := range map[string]float64{"input": 1000, "output": 200, "cache_read": 50, "cache_write_5m": 10, "cache_write_1h": 20} {
		labels := map[string]string{"kind": kind}
		for k, v := range call {
			labels[k] = v
		}
		if got := f.Value("claudebridge_tokens_total", labels); got != want {
			t.Errorf("%s tokens %v, want %v", kind, got, want)
		}
	}
	// Sonnet 4.5: $3 in, $15 out, $0.30 cache reads, $3.75 and $6 cache writes per million.
	if got, want := f.Value("claudebridge_cost_usd_total", call), (1000*3+200*15+50*0.30+10*3.75+20*6)/1e6; got < want*0.999 || got > want*1.001 {
		t.Errorf("cost %v, want %v", got, want)
	}
	if got, want := f.Observations("claudebridge_request_duration_seconds", call), uint64(1); got != want {
		t.Errorf("latency observations %d, want %d", got, want)
	}
	if got, want := f.Observations("claudebridge_time_to_first_token_seconds", call), uint64(1); got != want {
		t.Errorf("time-to-first-token observations %d, want %d", got, want)
	}
}

// With PriceWith (the ledger's table, PRICES_FILE) the cost counter agrees
// with the ledger rather than with the built-in list prices.
func TestTheCostCounterPricesWithTheTableItIsGiven(t *testing.T) {
	m := metrics.New("bedrock")
	m.PriceWith(func(model string, u claudebridge.Usage) float64 { return float64(u.InputTokens + u.OutputTokens) })
	m.Observe(metrics.Call{Door: metrics.Messages, Model: "claude-sonnet-4-5", Status: 200,
		Usage: claudebridge.Usage{InputTokens: 1000, OutputTokens: 200}})
	f := metricstest.Scrape(t, m.Handler(""), "")
	call := map[string]string{"door": "messages", "model": "claude-sonnet-4-5-20250929", "upstream": "bedrock"}
	if got, want := f.Value("claudebridge_cost_usd_total", call), 1200.0; got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
}

func TestModelsOutsideTheTableAreCountedAsOther(t *testing.T) {
	m := metrics.New("anthropic")
	for _, id := range []string{"claude-made-up-1", "x" + time.Now().String(), ""} {
		m.Observe(metrics.Call{Door: metrics.Messages, Model: id, Status: 200})
	}
	f := metricstest.Scrape(t, m.Handler(""), "")
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"model": "other"}), 3.0; got != want {
		t.Errorf("requests of model other %v, want %v", got, want)
	}
	if got, want := len(f["claudebridge_requests_total"].Metric), 1; got != want {
		t.Errorf("%d series, want %d", got, want)
	}
}

func TestTheModelLabelIsTheTableIDForAliasesBedrockIDsAndProfiles(t *testing.T) {
	for _, id := range []string{"claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "anthropic.claude-sonnet-4-5-20250929-v1:0",
		"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"} {
		if got, want := metrics.ModelLabel(id), "claude-sonnet-4-5-20250929"; got != want {
			t.Errorf("ModelLabel(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestTheHandlerWithAnAdminKeyAnswers401WithoutIt(t *testing.T) {
	h := metrics.New("emulator").Handler("admin-secret")
	for _, auth := range []string{"", "Bearer wrong", "admin-secret", "Basic admin-secret"} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got, want := w.Code, http.StatusUnauthorized; got != want {
			t.Errorf("Authorization %q: status %d, want %d", auth, got, want)
		}
	}
	metricstest.Scrape(t, h, "Bearer admin-secret")
}

func TestANilMetricsRecordsNothingAndDoesNotFail(t *testing.T) {
	var m *metrics.Metrics
	m.Observe(metrics.Call{Door: metrics.Chat, Model: "claude-sonnet-4-5", Status: 200})
	m.StreamOpened(metrics.Messages)
	m.StreamClosed(metrics.Messages)
	m.Retried("stream", claudebridge.Errorf(claudebridge.ERATELIMIT, "slow down"))
	m.ChatTurns(func() int { return 1 })
}

func TestRetriesAreCountedByOperationAndReason(t *testing.T) {
	m := metrics.New("bedrock")
	m.Retried("stream", claudebridge.Errorf(claudebridge.ERATELIMIT, "slow down"))
	m.Retried("stream", claudebridge.Errorf(claudebridge.ERATELIMIT, "slow down"))
	m.Retried("messages", claudebridge.Errorf(claudebridge.EOVERLOADED, "busy"))
	f := metricstest.Scrape(t, m.Handler(""), "")
	if got, want := f.Value("claudebridge_upstream_retries_total", map[string]string{"op": "stream", "reason": "rate_limit", "upstream": "bedrock"}), 2.0; got != want {
		t.Errorf("stream retries %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_upstream_retries_total", map[string]string{"op": "messages", "reason": "overloaded"}), 1.0; got != want {
		t.Errorf("messages retries %v, want %v", got, want)
	}
}

func TestTheChatTurnsGaugeReadsTheChat(t *testing.T) {
	m := metrics.New("bedrock")
	m.ChatTurns(func() int { return 3 })
	f := metricstest.Scrape(t, m.Handler(""), "")
	if got, want := f.Value("claudebridge_chat_turns_in_flight", nil), 3.0; got != want {
		t.Errorf("chat turns %v, want %v", got, want)
	}
}

// streamOf is an upstream stream of the given events.
func streamOf(events ...claudebridge.Event) *mock.Stream {
	return &mock.Stream{Events: events}
}

func TestTheUpstreamDecoratorRecordsAStreamAtItsEndWithItsUsage(t *testing.T) {
	m := metrics.New("emulator")
	up := &metrics.Upstream{Metrics: m, Door: metrics.Chat, Next: &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
		return streamOf(
			claudebridge.Event{Type: "message_start", Data: []byte(`{"type":"message_start","message":{"usage":{"input_tokens":12,"output_tokens":1}}}`)},
			claudebridge.Event{Type: "content_block_delta", Data: []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`)},
			claudebridge.Event{Type: "message_delta", Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}`)},
			claudebridge.Event{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)},
		), nil
	}}}
	s, err := up.Stream(t.Context(), &claudebridge.Request{Model: "claude-haiku-4-5", Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := metricstest.Scrape(t, m.Handler(""), "").Value("claudebridge_streams_in_flight", map[string]string{"door": "chat"}), 1.0; got != want {
		t.Errorf("streams in flight while streaming %v, want %v", got, want)
	}
	for {
		if _, err := s.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	f := metricstest.Scrape(t, m.Handler(""), "")
	chat := map[string]string{"door": "chat", "model": "claude-haiku-4-5-20251001"}
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"door": "chat", "status": "200"}), 1.0; got != want {
		t.Errorf("chat requests %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_tokens_total", map[string]string{"door": "chat", "kind": "output"}), 7.0; got != want {
		t.Errorf("output tokens %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_tokens_total", map[string]string{"door": "chat", "kind": "input"}), 12.0; got != want {
		t.Errorf("input tokens %v, want %v", got, want)
	}
	if got, want := f.Observations("claudebridge_time_to_first_token_seconds", chat), uint64(1); got != want {
		t.Errorf("time-to-first-token observations %d, want %d", got, want)
	}
	if got, want := f.Value("claudebridge_streams_in_flight", map[string]string{"door": "chat"}), 0.0; got != want {
		t.Errorf("streams in flight after the end %v, want %v", got, want)
	}
}

func TestTheUpstreamDecoratorRecordsAFailedCallWithItsAnthropicStatus(t *testing.T) {
	m := metrics.New("emulator")
	up := &metrics.Upstream{Metrics: m, Door: metrics.Chat, Next: &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
		return nil, claudebridge.Errorf(claudebridge.EOVERLOADED, "busy")
	}}}
	if _, err := up.Stream(t.Context(), &claudebridge.Request{Model: "claude-haiku-4-5", Stream: true}); err == nil {
		t.Fatal("the failure was lost")
	}
	f := metricstest.Scrape(t, m.Handler(""), "")
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"door": "chat", "status": "529"}), 1.0; got != want {
		t.Errorf("chat requests answered 529: %v, want %v", got, want)
	}
}

func TestACallIsCountedByItsKeyAndTheMemberThatServedIt(t *testing.T) {
	m := metrics.New("bedrock")
	m.Observe(metrics.Call{Door: metrics.Messages, Model: "claude-sonnet-4-5", Status: 200, Key: "team-a", Member: "bedrock:us-west-2",
		Usage: claudebridge.Usage{OutputTokens: 5}})
	f := metricstest.Scrape(t, m.Handler(""), "")
	labels := map[string]string{"key": "team-a", "member": "bedrock:us-west-2", "status": "200"}
	if got, want := f.Value("claudebridge_requests_total", labels), 1.0; got != want {
		t.Errorf("requests %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_tokens_total", map[string]string{"key": "team-a", "member": "bedrock:us-west-2", "kind": "output"}), 5.0; got != want {
		t.Errorf("output tokens %v, want %v", got, want)
	}
	if got, want := f.Observations("claudebridge_request_duration_seconds", labels), uint64(1); got != want {
		t.Errorf("latency observations %d, want %d", got, want)
	}
}

func TestACallWithoutKeyOrMemberIsCountedAsNoneOnTheOneUpstream(t *testing.T) {
	m := metrics.New("anthropic")
	m.Observe(metrics.Call{Door: metrics.Messages, Model: "claude-sonnet-4-5", Status: 200})
	f := metricstest.Scrape(t, m.Handler(""), "")
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"key": "none", "member": "anthropic"}), 1.0; got != want {
		t.Errorf("requests %v, want %v", got, want)
	}
}

func TestKeyLabelIsTheVirtualKeysNameElseStaticElseNone(t *testing.T) {
	for _, c := range []struct {
		virtual string
		keyed   bool
		want    string
	}{{"team-a", true, "team-a"}, {"", true, "static"}, {"", false, "none"}} {
		if got := metrics.KeyLabel(c.virtual, c.keyed); got != c.want {
			t.Errorf("KeyLabel(%q, %v) = %q, want %q", c.virtual, c.keyed, got, c.want)
		}
	}
}

func TestTheUpstreamDecoratorRecordsItsKeyAndTheMemberThePoolNoted(t *testing.T) {
	m := metrics.New("emulator")
	up := &metrics.Upstream{Metrics: m, Door: metrics.Batch, Key: "team-a", Next: &mock.Upstream{
		MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
			claudebridge.ServedByFrom(ctx).Set("anthropic")
			return &claudebridge.Response{}, nil
		}}}
	if _, err := up.Messages(t.Context(), &claudebridge.Request{Model: "claude-haiku-4-5"}); err != nil {
		t.Fatal(err)
	}
	f := metricstest.Scrape(t, m.Handler(""), "")
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"door": "batch", "key": "team-a", "member": "anthropic"}), 1.0; got != want {
		t.Errorf("batch requests of team-a served by anthropic %v, want %v", got, want)
	}
}
