package bedrockemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge/bedrock"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	testKeyID  = "AKIDEMULATOR"
	testSecret = "emulator-secret-key"
	sonnet45   = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
)

func newBedrockServer(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	if opts.Credentials == nil {
		opts.Credentials = map[string]string{testKeyID: testSecret}
	}
	srv := httptest.NewServer(New(opts))
	t.Cleanup(srv.Close)
	return srv
}

// runtimeClient is the official SDK client pointed at srv, with retries off
// so that each fault is seen once.
func runtimeClient(srv *httptest.Server, keyID, secret string) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		HTTPClient:   bedrock.SDKHTTPClient(srv.Client()),
		Retryer:      aws.NopRetryer{},
	})
}

// invokeBody is an InvokeModel body for Claude asking question.
func invokeBody(question string, extra map[string]any) []byte {
	body := map[string]any{
		"anthropic_version": "bedrock-2023-05-31",
		"max_tokens":        256,
		"messages":          []any{map[string]any{"role": "user", "content": question}},
	}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	return b
}

func TestInvokeModel(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	ctx := context.Background()
	for _, modelID := range []string{
		sonnet45,
		"global.anthropic.claude-sonnet-4-5-20250929-v1:0",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/" + sonnet45,
		"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/emulator-sonnet",
		"anthropic.claude-3-haiku-20240307-v1:0",
		"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
	} {
		t.Run(modelID, func(t *testing.T) {
			out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
				ModelId:     aws.String(modelID),
				ContentType: aws.String("application/json"),
				Body:        invokeBody("Please repeat <script>alert(1)</script> back to me.", nil),
			})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(out.ContentType) != "application/json" {
				t.Errorf("content type %q", aws.ToString(out.ContentType))
			}
			var msg struct {
				Type    string `json:"type"`
				Role    string `json:"role"`
				Model   string `json:"model"`
				Content []struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"content"`
				Usage struct {
					InputTokens  int `json:"input_tokens"`
					OutputTokens int `json:"output_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal(out.Body, &msg); err != nil {
				t.Fatalf("body %s: %v", out.Body, err)
			}
			if msg.Type != "message" || msg.Role != "assistant" || !strings.HasPrefix(msg.Model, "claude-") {
				t.Errorf("unexpected message %s", out.Body)
			}
			if len(msg.Content) == 0 || !strings.Contains(msg.Content[0].Text, "<script>") {
				t.Errorf("answer does not quote the question: %s", out.Body)
			}
			raw, ok := smithyhttpResponse(out.ResultMetadata)
			if !ok {
				t.Fatal("no raw response")
			}
			if got := raw.Header.Get("X-Amzn-Bedrock-Input-Token-Count"); got != strconv.Itoa(msg.Usage.InputTokens) || got == "0" {
				t.Errorf("input token header %q, body usage %d", got, msg.Usage.InputTokens)
			}
			if got := raw.Header.Get("X-Amzn-Bedrock-Output-Token-Count"); got != strconv.Itoa(msg.Usage.OutputTokens) {
				t.Errorf("output token header %q, body usage %d", got, msg.Usage.OutputTokens)
			}
			if raw.Header.Get("X-Amzn-Bedrock-Invocation-Latency") == "" || raw.Header.Get("X-Amzn-RequestId") == "" {
				t.Errorf("missing latency or request id headers: %v", raw.Header)
			}
		})
	}
}

func TestInvokeModelWithResponseStream(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	out, err := client.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String(sonnet45),
		Body:    invokeBody("Tell me about streams. [[words=40]]", nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	events, err := readChunks(out.GetStream())
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 5 {
		t.Fatalf("only %d events", len(events))
	}
	if events[0]["type"] != "message_start" || events[len(events)-1]["type"] != "message_stop" {
		t.Errorf("sequence starts with %v and ends with %v", events[0]["type"], events[len(events)-1]["type"])
	}
	var text strings.Builder
	for _, ev := range events {
		if ev["type"] == "content_block_delta" {
			delta := ev["delta"].(map[string]any)
			if delta["type"] == "text_delta" {
				text.WriteString(delta["text"].(string))
			}
		}
	}
	if n := len(strings.Fields(text.String())); n < 30 {
		t.Errorf("streamed text has %d words, want about 40: %q", n, text.String())
	}
	metrics, ok := events[len(events)-1]["amazon-bedrock-invocationMetrics"].(map[string]any)
	if !ok {
		t.Fatalf("no invocation metrics on message_stop: %v", events[len(events)-1])
	}
	start := events[0]["message"].(map[string]any)["usage"].(map[string]any)
	if metrics["inputTokenCount"] != start["input_tokens"] || metrics["inputTokenCount"].(float64) <= 0 {
		t.Errorf("metrics %v, message_start usage %v", metrics, start)
	}
	for _, k := range []string{"outputTokenCount", "invocationLatency", "firstByteLatency"} {
		if _, ok := metrics[k]; !ok {
			t.Errorf("metrics lack %s: %v", k, metrics)
		}
	}
}

// readChunks reads a response stream to its end and decodes every chunk.
func readChunks(stream *bedrockruntime.InvokeModelWithResponseStreamEventStream) ([]map[string]any, error) {
	defer stream.Close()
	var events []map[string]any
	for ev := range stream.Events() {
		chunk, ok := ev.(*types.ResponseStreamMemberChunk)
		if !ok {
			return events, fmt.Errorf("unexpected event %T", ev)
		}
		var m map[string]any
		if err := json.Unmarshal(chunk.Value.Bytes, &m); err != nil {
			return events, err
		}
		events = append(events, m)
	}
	return events, stream.Err()
}

func TestBedrockFaults(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	cases := []struct {
		directive string
		target    any
		status    int
	}{
		{"throttle", new(*types.ThrottlingException), 429},
		{"quota", new(*types.ServiceQuotaExceededException), 400},
		{"overloaded", new(*types.ServiceUnavailableException), 503},
		{"error", new(*types.InternalServerException), 500},
		{"not-ready", new(*types.ModelNotReadyException), 429},
		{"model-timeout", new(*types.ModelTimeoutException), 408},
		{"denied", new(*types.AccessDeniedException), 403},
	}
	for _, c := range cases {
		t.Run(c.directive, func(t *testing.T) {
			_, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
				ModelId: aws.String(sonnet45),
				Body:    invokeBody("hello [["+c.directive+"]]", nil),
			})
			assertAPIError(t, err, c.target, c.status)
		})
	}
}

// assertAPIError checks that err unwraps to the typed exception target
// points to and came with status.
func assertAPIError(t *testing.T, err error, target any, status int) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.As(err, target) {
		t.Fatalf("error %v (%T) is not %T", err, err, target)
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("status %d, want %d", re.HTTPStatusCode(), status)
	}
}

func TestFaultFiresOnlyNTimes(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	in := &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: invokeBody("count me [[throttle*2]]", nil)}
	for i := 0; i < 2; i++ {
		_, err := client.InvokeModel(context.Background(), in)
		assertAPIError(t, err, new(*types.ThrottlingException), 429)
	}
	if _, err := client.InvokeModel(context.Background(), in); err != nil {
		t.Fatalf("third identical request: %v", err)
	}
}

func TestStreamFaults(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	stream := func(question string) ([]map[string]any, error) {
		out, err := client.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
			ModelId: aws.String(sonnet45), Body: invokeBody(question, nil),
		})
		if err != nil {
			return nil, err
		}
		return readChunks(out.GetStream())
	}

	events, err := stream("hello [[stream-error=2]]")
	var mse *types.ModelStreamErrorException
	if !errors.As(err, &mse) {
		t.Fatalf("stream-error: got %v (%T)", err, err)
	}
	if len(events) != 2 {
		t.Errorf("stream-error=2 delivered %d events", len(events))
	}

	// The Go SDK takes a connection closed between frames for the end of
	// the stream, so the cut shows as a stream without message_stop; the
	// raw read below sees the truncated body.
	events, _ = stream("hello [[cut=3]]")
	if len(events) != 3 || events[len(events)-1]["type"] == "message_stop" {
		t.Errorf("cut=3 delivered %d events: %v", len(events), events)
	}
	req := signedRequest(t, srv.URL+"/model/"+sonnet45+"/invoke-with-response-stream", invokeBody("hello again [[cut=3]]", nil))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading a cut stream: %v, want unexpected EOF", err)
	}

	// A fresh server and client, so that the connections cut above play
	// no part in timing this one.
	srv = newBedrockServer(t, Options{})
	client = runtimeClient(srv, testKeyID, testSecret)
	start := time.Now()
	if _, err := stream("hello [[slow=30]] [[words=3]]"); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Errorf("slow=30 stream took only %v", time.Since(start))
	}
}

func TestInvokeModelValidation(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	weather := map[string]any{"name": "weather", "description": "Weather", "input_schema": map[string]any{"type": "object"}}
	deferred := map[string]any{"name": "weather", "description": "Weather", "input_schema": map[string]any{"type": "object"}, "defer_loading": true}
	cases := []struct {
		name, model string
		body        []byte
		message     string
	}{
		{"no version", sonnet45, []byte(`{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`), "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again."},
		{"model and stream", sonnet45, invokeBody("hi", map[string]any{"model": "x", "stream": true}), "Malformed input request: #: extraneous key [model] is not permitted#: extraneous key [stream] is not permitted, please reformat your input and try again."},
		{"bad version", sonnet45, invokeBody("hi", map[string]any{"anthropic_version": "2023-06-01"}), "#/anthropic_version: 2023-06-01 is not a valid enum value"},
		{"unknown beta", sonnet45, invokeBody("hi", map[string]any{"anthropic_beta": []string{"made-up-2025-01-01"}}), msgInvalidBeta},
		{"1m on old model", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", invokeBody("hi", map[string]any{"anthropic_beta": []string{"context-1m-2025-08-07"}}), msgInvalidBeta},
		{"sampling", sonnet45, invokeBody("hi", map[string]any{"temperature": 0.5, "top_p": 0.9}), msgSamplingExclusive},
		{"unknown field", sonnet45, invokeBody("hi", map[string]any{"reasoning": true}), "reasoning: Extra inputs are not permitted"},
		{"defer_loading without beta", sonnet45, invokeBody("hi", map[string]any{"tools": []any{weather, deferred}}), "tools.1.custom.defer_loading: Extra inputs are not permitted"},
		{"on demand", "anthropic.claude-sonnet-4-5-20250929-v1:0", invokeBody("hi", nil), "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn\u2019t supported. Retry your request with the ID or ARN of an inference profile that contains this model."},
		{"unknown model", "anthropic.claude-nonexistent-v1:0", invokeBody("hi", nil), msgInvalidModel},
		{"wrong geography", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", invokeBody("hi", nil), msgInvalidModel},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(c.model), Body: c.body})
			var ve *types.ValidationException
			assertAPIError(t, err, &ve, 400)
			if !strings.Contains(ve.ErrorMessage(), c.message) {
				t.Errorf("message %q, want it to contain %q", ve.ErrorMessage(), c.message)
			}
		})
	}

	// The beta that enables defer_loading makes the same body acceptable.
	_, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
		ModelId: aws.String(sonnet45),
		Body:    invokeBody("hi", map[string]any{"tools": []any{deferred}, "anthropic_beta": []string{"tool-search-tool-2025-10-19"}}),
	})
	if err != nil {
		t.Errorf("defer_loading with its beta: %v", err)
	}
}

func TestCountTokens(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	count := func(model string, body []byte) (int32, error) {
		out, err := client.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
			ModelId: aws.String(model),
			Input:   &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: body}},
		})
		if err != nil {
			return 0, err
		}
		return aws.ToInt32(out.InputTokens), nil
	}
	base := "anthropic.claude-sonnet-4-5-20250929-v1:0"
	short, err := count(base, invokeBody("hi", nil))
	if err != nil {
		t.Fatal(err)
	}
	long, err := count(base, invokeBody(strings.Repeat("a much longer question ", 50), nil))
	if err != nil {
		t.Fatal(err)
	}
	if short <= 0 || long <= short {
		t.Errorf("counts %d (short) and %d (long)", short, long)
	}
	for _, model := range []string{sonnet45, "anthropic.claude-3-haiku-20240307-v1:0", "arn:aws:bedrock:us-east-1::foundation-model/" + base} {
		_, err := count(model, invokeBody("hi", nil))
		var ve *types.ValidationException
		assertAPIError(t, err, &ve, 400)
		if ve.ErrorMessage() != msgCannotCount {
			t.Errorf("%s: message %q", model, ve.ErrorMessage())
		}
	}
}

func smithyhttpResponse(md middleware.Metadata) (*smithyhttp.Response, bool) {
	r, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	return r, ok
}
