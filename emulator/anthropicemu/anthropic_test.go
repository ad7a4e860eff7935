package anthropicemu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge/emulator/sim"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

const testAnthropicKey = "sk-ant-test-key"

// countedHandler counts the requests that reach h.
type countedHandler struct {
	h http.Handler
	n atomic.Int32
}

func (c *countedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}

func newAnthropicServer(t *testing.T) (*httptest.Server, *countedHandler) {
	t.Helper()
	h := &countedHandler{h: New(Options{APIKeys: []string{testAnthropicKey}})}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, h
}

func newAnthropicClient(srv *httptest.Server, opts ...option.RequestOption) *anthropic.Client {
	base := []option.RequestOption{option.WithBaseURL(srv.URL), option.WithAPIKey(testAnthropicKey), option.WithMaxRetries(0)}
	c := anthropic.NewClient(append(base, opts...)...)
	return &c
}

func anthropicUserText(text string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     sonnet,
		MaxTokens: 1024,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	}
}

func anthropicTestContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestAnthropicMessagesText(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	client := newAnthropicClient(srv)
	msg, err := client.Messages.New(anthropicTestContext(t), anthropicUserText("What is <script>alert(1)</script>?"))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Role != "assistant" || msg.Model != sonnet || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Fatalf("unexpected message: %+v", msg)
	}
	if !strings.HasPrefix(msg.ID, "msg_01") {
		t.Errorf("id %q", msg.ID)
	}
	if len(msg.Content) != 1 || !strings.Contains(msg.Content[0].Text, "<script>alert(1)</script>") {
		t.Fatalf("answer does not quote the question: %+v", msg.Content)
	}
	if want := int64(sim.TextTokens(msg.Content[0].Text)); msg.Usage.OutputTokens != want {
		t.Errorf("output_tokens %d, want %d", msg.Usage.OutputTokens, want)
	}
	if msg.Usage.InputTokens <= 0 {
		t.Errorf("input_tokens %d", msg.Usage.InputTokens)
	}
}

func TestAnthropicMessagesStreamMatchesMessage(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	client := newAnthropicClient(srv)
	params := anthropicUserText("Tell me about streams [[words=40]]")
	want, err := client.Messages.New(anthropicTestContext(t), params)
	if err != nil {
		t.Fatal(err)
	}
	stream := client.Messages.NewStreaming(anthropicTestContext(t), params)
	var acc anthropic.Message
	events := 0
	for stream.Next() {
		events++
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if events < 6 {
		t.Errorf("only %d events", events)
	}
	if acc.ID != want.ID || acc.StopReason != want.StopReason || len(acc.Content) != 1 || acc.Content[0].Text != want.Content[0].Text {
		t.Fatalf("stream %s %v differs from message %s %q", acc.ID, acc.Content, want.ID, want.Content[0].Text)
	}
	if acc.Usage.OutputTokens != want.Usage.OutputTokens || acc.Usage.InputTokens != want.Usage.InputTokens {
		t.Errorf("usage %+v vs %+v", acc.Usage, want.Usage)
	}
	if n := len(strings.Fields(acc.Content[0].Text)); n != 40 {
		t.Errorf("words=40 gave %d words", n)
	}
}

func TestAnthropicStreamWireShape(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	body := `{"model":"claude-haiku-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(body))
	req.Header.Set("x-api-key", testAnthropicKey)
	req.Header.Set("anthropic-version", "2023-06-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw := new(strings.Builder)
	if _, err := io.Copy(raw, res.Body); err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("content-type %q", ct)
	}
	if !strings.HasPrefix(res.Header.Get("request-id"), "req_") {
		t.Errorf("request-id %q", res.Header.Get("request-id"))
	}
	text := raw.String()
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01"
	if !strings.HasPrefix(text, start) {
		t.Fatalf("stream starts %q", text[:min(len(text), 120)])
	}
	if !strings.Contains(text, `"model":"claude-haiku-4-5-20251001","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`) {
		t.Errorf("message_start shape: %s", text[:min(len(text), 400)])
	}
	order := []string{"event: message_start", "event: content_block_start", "event: ping", "event: content_block_delta", "event: content_block_stop", "event: message_delta", "event: message_stop"}
	at := 0
	for _, ev := range order {
		i := strings.Index(text[at:], ev)
		if i < 0 {
			t.Fatalf("%q missing or out of order in %s", ev, text)
		}
		at += i
	}
}

func TestAnthropicToolRoundTrip(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	client := newAnthropicClient(srv)
	weather := anthropic.ToolParam{
		Name: "get_weather",
		InputSchema: anthropic.ToolInputSchemaParam{
			Properties: map[string]any{
				"location": map[string]any{"type": "string"},
				"unit":     map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}},
			},
			Required: []string{"location", "unit"},
		},
	}
	params := anthropicUserText("Use get_weather for Paris")
	params.Tools = []anthropic.ToolUnionParam{{OfTool: &weather}}
	first, err := client.Messages.New(anthropicTestContext(t), params)
	if err != nil {
		t.Fatal(err)
	}
	if first.StopReason != anthropic.StopReasonToolUse {
		t.Fatalf("stop_reason %q, content %+v", first.StopReason, first.Content)
	}
	use := first.Content[len(first.Content)-1]
	if use.Type != "tool_use" || use.Name != "get_weather" || !strings.HasPrefix(use.ID, "toolu_01") {
		t.Fatalf("tool_use block %+v", use)
	}
	var input map[string]string
	if err := json.Unmarshal(use.Input, &input); err != nil {
		t.Fatal(err)
	}
	if input["unit"] != "celsius" || !strings.Contains(input["location"], "Paris") {
		t.Errorf("input %v", input)
	}

	// The streamed call carries the same tool call.
	stream := client.Messages.NewStreaming(anthropicTestContext(t), params)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Content[len(acc.Content)-1]; string(got.Input) != string(use.Input) || got.ID != use.ID {
		t.Errorf("streamed tool_use %s %s, want %s %s", got.ID, got.Input, use.ID, use.Input)
	}

	params.Messages = append(params.Messages, first.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "18 degrees and sunny", false)))
	final, err := client.Messages.New(anthropicTestContext(t), params)
	if err != nil {
		t.Fatal(err)
	}
	if final.StopReason != anthropic.StopReasonEndTurn || !strings.Contains(final.Content[0].Text, "18 degrees and sunny") {
		t.Fatalf("final answer %+v", final)
	}

	// A tool_result with no tool_use before it is refused as the API does.
	params.Messages = params.Messages[:1]
	params.Messages = append(params.Messages, anthropic.NewAssistantMessage(anthropic.NewTextBlock("ok")),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_missing", "x", false)))
	_, err = client.Messages.New(anthropicTestContext(t), params)
	wantAnthropicError(t, err, 400, "invalid_request_error")
}

func TestAnthropicForcedToolChoice(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	client := newAnthropicClient(srv)
	lookup := anthropic.ToolParam{Name: "lookup", InputSchema: anthropic.ToolInputSchemaParam{
		Properties: map[string]any{"count": map[string]any{"type": "integer", "minimum": 3}},
	}}
	params := anthropicUserText("Hello there")
	params.Tools = []anthropic.ToolUnionParam{{OfTool: &lookup}}
	msg, err := client.Messages.New(anthropicTestContext(t), params)
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != anthropic.StopReasonEndTurn {
		t.Fatalf("tool used without being asked: %+v", msg.Content)
	}
	params.ToolChoice = anthropic.ToolChoiceParamOfTool("lookup")
	msg, err = client.Messages.New(anthropicTestContext(t), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "tool_use" || string(msg.Content[0].Input) != `{"count":3}` {
		t.Fatalf("forced tool call %+v", msg.Content)
	}
}

func TestAnthropicThinkingWithSignature(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	client := newAnthropicClient(srv)
	params := anthropicUserText("Why is the sky blue? [[redacted]]")
	params.MaxTokens = 4096
	params.Thinking = anthropic.ThinkingConfigParamOfEnabled(2048)
	stream := client.Messages.NewStreaming(anthropicTestContext(t), params)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Content) != 3 || acc.Content[0].Type != "redacted_thinking" || acc.Content[1].Type != "thinking" || acc.Content[2].Type != "text" {
		t.Fatalf("content %+v", acc.Content)
	}
	th := acc.Content[1]
	if th.Signature == "" || !strings.Contains(th.Thinking, "sky blue") {
		t.Fatalf("thinking block %+v", th)
	}
	// The thinking block goes back with the next turn; a changed one is refused.
	next := params
	next.Messages = append(next.Messages, acc.ToParam(), anthropic.NewUserMessage(anthropic.NewTextBlock("And at sunset?")))
	if _, err := client.Messages.New(anthropicTestContext(t), next); err != nil {
		t.Fatalf("thinking block sent back refused: %v", err)
	}
	next.Messages[1] = anthropic.NewAssistantMessage(anthropic.NewThinkingBlock(th.Signature, th.Thinking+" (edited)"), anthropic.NewTextBlock("Rayleigh."))
	_, err := client.Messages.New(anthropicTestContext(t), next)
	wantAnthropicError(t, err, 400, "invalid_request_error")
}

func TestAnthropicImageInput(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	client := newAnthropicClient(srv)
	png := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nnot really a picture"))
	params := anthropicUserText("What is in this picture?")
	params.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(
		anthropic.NewImageBlockBase64("image/png", png), anthropic.NewTextBlock("What is in this picture?"))}
	msg, err := client.Messages.New(anthropicTestContext(t), params)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Content[0].Text, "image") || msg.Usage.InputTokens < sim.ImageTokens {
		t.Fatalf("image answer %q, input_tokens %d", msg.Content[0].Text, msg.Usage.InputTokens)
	}
	params.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewImageBlockBase64("image/tiff", png))}
	_, err = client.Messages.New(anthropicTestContext(t), params)
	wantAnthropicError(t, err, 400, "invalid_request_error")
}

func TestAnthropicCountTokens(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	client := newAnthropicClient(srv)
	count := func(text string) int64 {
		res, err := client.Messages.CountTokens(anthropicTestContext(t), anthropic.MessageCountTokensParams{
			Model:    anthropic.ModelClaudeOpus4_6,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
		})
		if err != nil {
			t.Fatal(err)
		}
		return res.InputTokens
	}
	short, long := count("hello"), count(strings.Repeat("hello world ", 100))
	if short <= 0 || long < short+250 {
		t.Fatalf("counts %d and %d do not grow with the input", short, long)
	}
	msg, err := client.Messages.New(anthropicTestContext(t), anthropic.MessageNewParams{Model: anthropic.ModelClaudeOpus4_6, MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))}})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Usage.InputTokens != short {
		t.Errorf("messages counts %d input tokens, count_tokens %d", msg.Usage.InputTokens, short)
	}
}

func TestAnthropicModels(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	client := newAnthropicClient(srv)
	var ids []string
	iter := client.Models.ListAutoPaging(anthropicTestContext(t), anthropic.ModelListParams{Limit: anthropic.Int(5)})
	for iter.Next() {
		ids = append(ids, iter.Current().ID)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(sim.Catalog) || ids[0] != sim.Catalog[0].ID || ids[len(ids)-1] != sim.Catalog[len(sim.Catalog)-1].ID {
		t.Fatalf("paged ids %v", ids)
	}
	page, err := client.Models.List(anthropicTestContext(t), anthropic.ModelListParams{Limit: anthropic.Int(2), BeforeID: anthropic.String(sim.Catalog[3].ID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.Data[0].ID != sim.Catalog[1].ID || !page.HasMore {
		t.Errorf("before_id page %+v", page)
	}
	m, err := client.Models.Get(anthropicTestContext(t), "claude-sonnet-4-5", anthropic.ModelGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "claude-sonnet-4-5-20250929" || m.DisplayName != "Claude Sonnet 4.5" || m.CreatedAt.IsZero() {
		t.Errorf("model %+v", m)
	}
	_, err = client.Models.Get(anthropicTestContext(t), "claude-nonexistent", anthropic.ModelGetParams{})
	wantAnthropicError(t, err, 404, "not_found_error")
}

func TestAnthropicAuthAndVersion(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	_, err := newAnthropicClient(srv, option.WithAPIKey("wrong")).Messages.New(anthropicTestContext(t), anthropicUserText("hi"))
	wantAnthropicError(t, err, 401, "authentication_error")
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error shows the key: %v", err)
	}
	bearer := anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAuthToken(testAnthropicKey), option.WithMaxRetries(0))
	if _, err := bearer.Messages.New(anthropicTestContext(t), anthropicUserText("hi")); err != nil {
		t.Errorf("bearer token refused: %v", err)
	}

	for _, tc := range []struct {
		name, key, version string
		status             int
		typ, message       string
	}{
		{"no key", "", "2023-06-01", 401, "authentication_error", "x-api-key header is required"},
		{"no version", testAnthropicKey, "", 400, "invalid_request_error", "anthropic-version: header is required"},
		{"bad version", testAnthropicKey, "1999-01-01", 400, "invalid_request_error", `anthropic-version: "1999-01-01" is not a valid version`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(`{}`))
			if tc.key != "" {
				req.Header.Set("x-api-key", tc.key)
			}
			if tc.version != "" {
				req.Header.Set("anthropic-version", tc.version)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var e anthropicError
			if err := json.NewDecoder(res.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.status || e.Type != "error" || e.Error.Type != tc.typ || e.RequestID != res.Header.Get("request-id") || e.RequestID == "" {
				t.Errorf("got %d %+v", res.StatusCode, e)
			}
			if got, want := e.Error.Message, tc.message; got != want {
				t.Errorf("message %q, want %q", got, want)
			}
		})
	}
}

func TestAnthropicUnknownModel(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	params := anthropicUserText("hi")
	params.Model = "claude-imaginary-9"
	_, err := newAnthropicClient(srv).Messages.New(anthropicTestContext(t), params)
	wantAnthropicError(t, err, 404, "not_found_error")
	if !strings.Contains(err.Error(), "model: claude-imaginary-9") {
		t.Errorf("message: %v", err)
	}
}

func TestAnthropicFaults(t *testing.T) {
	for _, tc := range []struct {
		directive string
		status    int
		typ       string
	}{
		{"[[throttle]]", 429, "rate_limit_error"},
		{"[[quota]]", 429, "rate_limit_error"},
		{"[[overloaded]]", 529, "overloaded_error"},
		{"[[error]]", 500, "api_error"},
		{"[[model-timeout]]", 504, "timeout_error"},
		{"[[denied]]", 403, "permission_error"},
		{"[[too-long]]", 400, "invalid_request_error"},
	} {
		t.Run(tc.directive, func(t *testing.T) {
			srv, _ := newAnthropicServer(t)
			_, err := newAnthropicClient(srv).Messages.New(anthropicTestContext(t), anthropicUserText("hi "+tc.directive))
			apiErr := wantAnthropicError(t, err, tc.status, tc.typ)
			if apiErr != nil && tc.status == 429 && apiErr.Response.Header.Get("retry-after") == "" {
				t.Error("no retry-after")
			}
			// Streaming calls fail the same way, before the stream starts.
			stream := newAnthropicClient(srv).Messages.NewStreaming(anthropicTestContext(t), anthropicUserText("hi "+tc.directive))
			for stream.Next() {
			}
			wantAnthropicError(t, stream.Err(), tc.status, tc.typ)
		})
	}
}

func TestAnthropicFaultTimes(t *testing.T) {
	srv, counter := newAnthropicServer(t)
	client := newAnthropicClient(srv)
	params := anthropicUserText("count me [[throttle*2]] [[retry-after=7]]")
	for i := range 2 {
		_, err := client.Messages.New(anthropicTestContext(t), params)
		if e := wantAnthropicError(t, err, 429, "rate_limit_error"); e != nil && e.Response.Header.Get("retry-after") != "7" {
			t.Errorf("call %d: retry-after %q", i, e.Response.Header.Get("retry-after"))
		}
	}
	if _, err := client.Messages.New(anthropicTestContext(t), params); err != nil {
		t.Fatalf("third call: %v", err)
	}
	// The SDK's own retries see the fault fire exactly twice for a new body.
	counter.n.Store(0)
	retrying := newAnthropicClient(srv, option.WithMaxRetries(3))
	if _, err := retrying.Messages.New(anthropicTestContext(t), anthropicUserText("again [[overloaded*2]]")); err != nil {
		t.Fatal(err)
	}
	if n := counter.n.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestAnthropicStreamCutIsAnError(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	stream := newAnthropicClient(srv).Messages.NewStreaming(anthropicTestContext(t), anthropicUserText("hi [[cut=3]]"))
	var acc anthropic.Message
	events := 0
	for stream.Next() {
		events++
		_ = acc.Accumulate(stream.Current())
	}
	if stream.Err() == nil {
		t.Fatal("cut stream ended without an error")
	}
	if events != 3 {
		t.Errorf("%d events before the cut, want 3", events)
	}
	_, err := newAnthropicClient(srv).Messages.New(anthropicTestContext(t), anthropicUserText("hi [[cut]]"))
	if err == nil {
		t.Error("cut JSON response read without an error")
	}
}

func TestAnthropicStreamErrorEvent(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	stream := newAnthropicClient(srv).Messages.NewStreaming(anthropicTestContext(t), anthropicUserText("hi [[stream-error=2]]"))
	events := 0
	for stream.Next() {
		events++
	}
	if events != 2 {
		t.Errorf("%d events before the error, want 2", events)
	}
	wantAnthropicError(t, stream.Err(), 200, "overloaded_error")
}

func TestAnthropicResetClosesConnection(t *testing.T) {
	srv, counter := newAnthropicServer(t)
	_, err := newAnthropicClient(srv).Messages.New(anthropicTestContext(t), anthropicUserText("hi [[reset*1]]"))
	var apiErr *anthropic.Error
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("reset gave %v", err)
	}
	if _, err := newAnthropicClient(srv).Messages.New(anthropicTestContext(t), anthropicUserText("hi [[reset*1]]")); err != nil {
		t.Fatalf("second call: %v", err)
	}
	if counter.n.Load() != 2 {
		t.Errorf("%d requests", counter.n.Load())
	}
}

func TestAnthropicDelaysEndWithTheClient(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	client := newAnthropicClient(srv)
	start := time.Now()
	if _, err := client.Messages.New(anthropicTestContext(t), anthropicUserText("hi [[wait=150]]")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("wait=150 answered in %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := client.Messages.New(ctx, anthropicUserText("hi [[wait=60000]]"))
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("a cancelled call took %v: %v", time.Since(start), err)
	}
	start = time.Now()
	stream := client.Messages.NewStreaming(anthropicTestContext(t), anthropicUserText("hi [[slow=20]] [[words=9]]"))
	events := 0
	for stream.Next() {
		events++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Duration(events-1)*20*time.Millisecond {
		t.Errorf("%d events with slow=20 took %v", events, d)
	}
	// The server closes cleanly with no handler left waiting.
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("a handler outlived its client")
	}
}

func TestAnthropicPromptCache(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	client := newAnthropicClient(srv)
	// The emulator's prompt cache lives as long as the process: a prompt of
	// this run's own keeps -count=N runs apart.
	system := time.Now().String() + strings.Repeat(" You are a careful assistant.", 200)
	params := anthropicUserText("First question")
	params.System = []anthropic.TextBlockParam{{Text: system, CacheControl: anthropic.NewCacheControlEphemeralParam()}}
	first, err := client.Messages.New(anthropicTestContext(t), params)
	if err != nil {
		t.Fatal(err)
	}
	params.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Another question"))}
	second, err := client.Messages.New(anthropicTestContext(t), params)
	if err != nil {
		t.Fatal(err)
	}
	if first.Usage.CacheCreationInputTokens < int64(len(system)/4) || first.Usage.CacheReadInputTokens != 0 {
		t.Errorf("first usage %+v", first.Usage)
	}
	if second.Usage.CacheReadInputTokens != first.Usage.CacheCreationInputTokens || second.Usage.CacheCreationInputTokens != 0 {
		t.Errorf("second usage %+v", second.Usage)
	}
	if first.Usage.CacheCreation.Ephemeral5mInputTokens != first.Usage.CacheCreationInputTokens {
		t.Errorf("cache_creation %+v", first.Usage.CacheCreation)
	}
}

// wantAnthropicError checks that err is an API error with the given status and
// error type, and returns it.
func wantAnthropicError(t *testing.T, err error, status int, typ string) *anthropic.Error {
	t.Helper()
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Errorf("want %d %s, got %v", status, typ, err)
		return nil
	}
	if apiErr.StatusCode != status || string(apiErr.Type()) != typ {
		t.Errorf("want %d %s, got %d %s: %v", status, typ, apiErr.StatusCode, apiErr.Type(), err)
	}
	return apiErr
}

// sonnet is the model the tests ask for.
const sonnet = "claude-sonnet-4-5-20250929"
