package bedrockfront

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/internal/metricstest"
	"github.com/claudebridge/claudebridge/internal/syncbuf"
	"github.com/claudebridge/claudebridge/metrics"
)

// frontDoorWith serves the front door on the Anthropic API emulator with
// the test access key pair and opts' Metrics, Logger and LogBodies. wait
// closes the server once the handlers have returned: a call is recorded
// after its answer is written.
func frontDoorWith(t *testing.T, opts Options) (client *bedrockruntime.Client, wait func()) {
	t.Helper()
	api := httptest.NewServer(anthropicemu.New(anthropicemu.Options{APIKeys: []string{"sk-upstream"}}))
	t.Cleanup(api.Close)
	opts.Upstream = anthropicapi.New(anthropicapi.Options{BaseURL: api.URL, Key: anthropicapi.StaticKey("sk-upstream"), Transport: api.Client().Transport})
	opts.AccessKeys = map[string]string{testKeyID: testSecret}
	srv := httptest.NewServer(New(opts))
	t.Cleanup(srv.Close)
	return sigv4Client(srv.URL, srv.Client(), testKeyID, testSecret), srv.Close
}

func TestFrontDoorCallsAreCountedByDoorWithTheirTokens(t *testing.T) {
	m := metrics.New("anthropic")
	client, wait := frontDoorWith(t, Options{Metrics: m})
	ctx := context.Background()
	conv, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(sonnetBR), Messages: []types.Message{userText("Hello [[words=20]]")}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(sonnetBR), Body: invokeBody(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var invocation struct {
		Metrics struct {
			InputTokenCount  float64 `json:"inputTokenCount"`
			OutputTokenCount float64 `json:"outputTokenCount"`
		} `json:"amazon-bedrock-invocationMetrics"`
	}
	for ev := range out.GetStream().Events() {
		if chunk, ok := ev.(*types.ResponseStreamMemberChunk); ok && strings.Contains(string(chunk.Value.Bytes), "invocationMetrics") {
			json.Unmarshal(chunk.Value.Bytes, &invocation)
		}
	}
	out.GetStream().Close()
	if _, err := client.CountTokens(ctx, &bedrockruntime.CountTokensInput{ModelId: aws.String(sonnetBR),
		Input: &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: invokeBody(nil)}}}); err != nil {
		t.Fatal(err)
	}
	wrongKey := sigv4Client(strings.TrimSuffix(*client.Options().BaseEndpoint, "/"), nil, testKeyID, "not-the-secret")
	if _, err := wrongKey.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(sonnetBR), Messages: []types.Message{userText("Hello")}}); err == nil {
		t.Fatal("a wrong signature was accepted")
	}

	wait()
	f := metricstest.Scrape(t, m.Handler(""), "")
	sonnet := "claude-sonnet-4-5-20250929"
	for _, c := range []struct {
		door, status string
		want         float64
	}{{"bedrock_converse", "200", 1}, {"bedrock_invoke", "200", 1}, {"bedrock_count_tokens", "200", 1}, {"bedrock_converse", "403", 1}} {
		if got := f.Value("claudebridge_requests_total", map[string]string{"door": c.door, "status": c.status}); got != c.want {
			t.Errorf("%s answered %s: %v, want %v", c.door, c.status, got, c.want)
		}
	}
	converse := map[string]string{"door": "bedrock_converse", "model": sonnet, "kind": "output"}
	if got, want := f.Value("claudebridge_tokens_total", converse), float64(*conv.Usage.OutputTokens); got != want || got == 0 {
		t.Errorf("Converse output tokens %v, want %v", got, want)
	}
	invoke := map[string]string{"door": "bedrock_invoke", "model": sonnet}
	if got, want := f.Value("claudebridge_tokens_total", with(invoke, "kind", "input")), invocation.Metrics.InputTokenCount; got != want || got == 0 {
		t.Errorf("stream input tokens %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_tokens_total", with(invoke, "kind", "output")), invocation.Metrics.OutputTokenCount; got != want || got == 0 {
		t.Errorf("stream output tokens %v, want %v", got, want)
	}
	if got, want := f.Observations("claudebridge_time_to_first_token_seconds", invoke), uint64(1); got != want {
		t.Errorf("time-to-first-token observations %d, want %d", got, want)
	}
	if got, want := f.Value("claudebridge_streams_in_flight", map[string]string{"door": "bedrock_invoke"}), 0.0; got != want {
		t.Errorf("streams in flight after the calls %v, want %v", got, want)
	}
}

func with(labels map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for k, v := range labels {
		out[k] = v
	}
	return out
}

func TestFrontDoorLogsNoPromptUnlessLogBodiesIsSet(t *testing.T) {
	const prompt = "the-secret-plan-of-the-user"
	for _, logBodies := range []bool{false, true} {
		var logs syncbuf.Buffer
		client, _ := frontDoorWith(t, Options{LogBodies: logBodies, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		ctx := context.Background()
		client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(sonnetBR), Messages: []types.Message{userText(prompt)}})
		client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(sonnetBR), Messages: []types.Message{userText(prompt + " [[error]]")}})
		client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnetBR), Body: invokeBody(map[string]any{"messages": []any{map[string]any{"role": "user", "content": prompt}}})})
		if got, want := strings.Contains(logs.String(), prompt), logBodies; got != want {
			t.Errorf("LogBodies %v: the prompt is in the log: %v, want %v:\n%s", logBodies, got, want, logs.String())
		}
		if got, want := strings.Contains(logs.String(), testSecret), false; got != want {
			t.Errorf("LogBodies %v: the secret key is in the log: %v, want %v", logBodies, got, want)
		}
	}
}
