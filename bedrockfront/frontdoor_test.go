package bedrockfront

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/auth/bearer"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/bedrock"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
)

const (
	testKeyID  = "AKIDFRONTDOOR"
	testSecret = "front-door-secret"
	sonnetBR   = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	sonnetID   = "claude-sonnet-4-5-20250929"
)

// recording is an Upstream that remembers the last request it was given.
type recording struct {
	claudebridge.Upstream
	mu   sync.Mutex
	last *claudebridge.Request
}

func (r *recording) keep(req *claudebridge.Request) {
	r.mu.Lock()
	r.last = req.Clone()
	r.mu.Unlock()
}

func (r *recording) request() *claudebridge.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *recording) Messages(ctx context.Context, req *claudebridge.Request) (*claudebridge.Response, error) {
	r.keep(req)
	return r.Upstream.Messages(ctx, req)
}

func (r *recording) Stream(ctx context.Context, req *claudebridge.Request) (claudebridge.Stream, error) {
	r.keep(req)
	return r.Upstream.Stream(ctx, req)
}

func (r *recording) CountTokens(ctx context.Context, req *claudebridge.Request) (*claudebridge.TokenCount, error) {
	r.keep(req)
	return r.Upstream.CountTokens(ctx, req)
}

// frontDoor serves the front door on the Anthropic API emulator, with the
// test access key pair (and the given bearer keys).
func frontDoor(t *testing.T, keys ...string) (*Handler, *recording) {
	t.Helper()
	api := httptest.NewServer(anthropicemu.New(anthropicemu.Options{APIKeys: []string{"sk-upstream"}}))
	t.Cleanup(api.Close)
	up := &recording{Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: api.URL, Key: anthropicapi.StaticKey("sk-upstream"), Transport: api.Client().Transport})}
	return New(Options{Upstream: up, Keys: claudebridge.NewClientKeys(keys...), AccessKeys: map[string]string{testKeyID: testSecret}}), up
}

func sigv4Client(url string, httpClient *http.Client, keyID, secret string) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-west-2",
		BaseEndpoint: aws.String(url),
		HTTPClient:   bedrock.SDKHTTPClient(httpClient),
		Retryer:      aws.NopRetryer{},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, nil
		}),
	})
}

// bearerClient is an SDK client of srv, a TLS server (the SDK sends bearer
// tokens over HTTPS only), that sends token as its bearer token.
func bearerClient(srv *httptest.Server, token string) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:                  "us-east-1",
		BaseEndpoint:            aws.String(srv.URL),
		HTTPClient:              bedrock.SDKHTTPClient(srv.Client()),
		Retryer:                 aws.NopRetryer{},
		BearerAuthTokenProvider: bearer.StaticTokenProvider{Token: bearer.Token{Value: token}},
		AuthSchemePreference:    []string{"httpBearerAuth"},
	})
}

// served starts h on HTTP/1.1 and returns an SDK client signing with the
// test key pair.
func served(t *testing.T, h http.Handler) *bedrockruntime.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return sigv4Client(srv.URL, srv.Client(), testKeyID, testSecret)
}

func userText(text string) types.Message {
	return types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: text}}}
}

func TestConverse(t *testing.T) {
	h, up := frontDoor(t)
	client := served(t, h)
	out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId:         aws.String(sonnetBR),
		System:          []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "You are terse."}},
		Messages:        []types.Message{userText("Hello there")},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(300), Temperature: aws.Float32(0.5)},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok || len(msg.Value.Content) == 0 {
		t.Fatalf("output %#v", out.Output)
	}
	if text, ok := msg.Value.Content[0].(*types.ContentBlockMemberText); !ok || text.Value == "" {
		t.Errorf("first block %#v", msg.Value.Content[0])
	}
	if out.StopReason != types.StopReasonEndTurn || out.Usage == nil || *out.Usage.InputTokens == 0 || *out.Usage.OutputTokens == 0 {
		t.Errorf("stop %s usage %+v", out.StopReason, out.Usage)
	}
	req := up.request()
	if req.Model != sonnetID || string(req.Fields["max_tokens"]) != "300" || string(req.Fields["temperature"]) != "0.5" || !bytes.Contains(req.Fields["system"], []byte("You are terse.")) {
		t.Errorf("upstream got model %q fields %s", req.Model, req.JSON())
	}
}

func TestConverseStreamWithTools(t *testing.T) {
	h, up := frontDoor(t)
	// ConverseStream over HTTP/2 without TLS, as the JavaScript SDK speaks.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: h, Protocols: p}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	h2 := new(http.Protocols)
	h2.SetUnencryptedHTTP2(true)
	client := sigv4Client("http://"+ln.Addr().String(), &http.Client{Transport: &http.Transport{Protocols: h2}}, testKeyID, testSecret)

	schema := document.NewLazyDocument(map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []any{"city"}})
	out, err := client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId:         aws.String(sonnetBR),
		System:          []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "Use tools."}},
		Messages:        []types.Message{userText("What is the weather in Paris?")},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(500), StopSequences: []string{"STOP"}},
		ToolConfig: &types.ToolConfiguration{
			Tools:      []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("get_weather"), Description: aws.String("Weather of a city"), InputSchema: &types.ToolInputSchemaMemberJson{Value: schema}}}},
			ToolChoice: &types.ToolChoiceMemberAny{},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var toolName, input string
	var stop types.StopReason
	var usage *types.TokenUsage
	for ev := range stream.Events() {
		switch e := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockStart:
			if tu, ok := e.Value.Start.(*types.ContentBlockStartMemberToolUse); ok {
				toolName = *tu.Value.Name
			}
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			if tu, ok := e.Value.Delta.(*types.ContentBlockDeltaMemberToolUse); ok {
				input += *tu.Value.Input
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			stop = e.Value.StopReason
		case *types.ConverseStreamOutputMemberMetadata:
			usage = e.Value.Usage
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	var args map[string]any
	if toolName != "get_weather" || json.Unmarshal([]byte(input), &args) != nil || args["city"] == nil {
		t.Errorf("tool %q input %q", toolName, input)
	}
	if stop != types.StopReasonToolUse || usage == nil || *usage.OutputTokens == 0 {
		t.Errorf("stop %q usage %+v", stop, usage)
	}
	req := up.request()
	if !req.Stream || !bytes.Contains(req.Fields["tool_choice"], []byte(`"any"`)) || !bytes.Contains(req.Fields["stop_sequences"], []byte("STOP")) {
		t.Errorf("upstream got %s", req.JSON())
	}
}

func invokeBody(fields map[string]any) []byte {
	body := map[string]any{
		"anthropic_version": "bedrock-2023-05-31",
		"max_tokens":        200,
		"messages":          []any{map[string]any{"role": "user", "content": "Hello"}},
	}
	for k, v := range fields {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	b, _ := json.Marshal(body)
	return b
}

func TestInvokeModel(t *testing.T) {
	h, up := frontDoor(t)
	client := served(t, h)
	out, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
		ModelId: aws.String("arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Body:    invokeBody(map[string]any{"anthropic_beta": []string{"interleaved-thinking-2025-05-14"}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Type    string
		Content []struct{ Type, Text string }
		Usage   claudebridge.Usage
	}
	if err := json.Unmarshal(out.Body, &msg); err != nil || msg.Type != "message" || len(msg.Content) == 0 || msg.Usage.OutputTokens == 0 {
		t.Errorf("body %s (%v)", out.Body, err)
	}
	req := up.request()
	if req.Model != sonnetID || len(req.Betas) != 1 || req.Betas[0] != "interleaved-thinking-2025-05-14" {
		t.Errorf("upstream got model %q betas %v", req.Model, req.Betas)
	}
	for _, f := range []string{"anthropic_version", "anthropic_beta", "stream"} {
		if _, ok := req.Fields[f]; ok {
			t.Errorf("upstream got field %s: %s", f, req.JSON())
		}
	}
}

func TestInvokeModelWithResponseStream(t *testing.T) {
	h, up := frontDoor(t)
	client := served(t, h)
	out, err := client.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String(sonnetBR), Body: invokeBody(nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var events []map[string]any
	for ev := range stream.Events() {
		chunk, ok := ev.(*types.ResponseStreamMemberChunk)
		if !ok {
			t.Fatalf("event %T", ev)
		}
		var m map[string]any
		if err := json.Unmarshal(chunk.Value.Bytes, &m); err != nil {
			t.Fatalf("chunk %q: %v", chunk.Value.Bytes, err)
		}
		events = append(events, m)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(events) < 3 || events[0]["type"] != "message_start" {
		t.Fatalf("events %v", events)
	}
	last := events[len(events)-1]
	metrics, _ := last["amazon-bedrock-invocationMetrics"].(map[string]any)
	if last["type"] != "message_stop" || metrics == nil || metrics["inputTokenCount"].(float64) == 0 || metrics["outputTokenCount"].(float64) == 0 {
		t.Errorf("last chunk %v", last)
	}
	for _, ev := range events {
		if ev["type"] == "ping" {
			t.Error("ping sent")
		}
	}
	if !up.request().Stream {
		t.Error("upstream call not streamed")
	}
}

func TestCountTokens(t *testing.T) {
	h, _ := frontDoor(t)
	client := served(t, h)
	invoke, err := client.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String("anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Input:   &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: invokeBody(nil)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := client.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String("anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Input:   &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: []types.Message{userText("Hello")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if *invoke.InputTokens == 0 || *invoke.InputTokens != *conv.InputTokens {
		t.Errorf("invoke counts %d, converse %d: the same prompt", *invoke.InputTokens, *conv.InputTokens)
	}
	longer, err := client.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String("anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Input:   &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: []types.Message{userText(strings.Repeat("Hello there, ", 50))}}},
	})
	if err != nil || *longer.InputTokens <= *conv.InputTokens {
		t.Errorf("longer prompt counts %v (%v), shorter %d", longer, err, *conv.InputTokens)
	}
}

// apiError returns the SDK's error code and HTTP status of err.
func apiError(t *testing.T, err error) (string, int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an API error", err, err)
	}
	status := 0
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

func TestErrors(t *testing.T) {
	h, _ := frontDoor(t)
	client := served(t, h)
	ctx := context.Background()
	invoke := func(model string, body []byte) error {
		_, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(model), Body: body})
		return err
	}

	err := invoke(sonnetBR, invokeBody(map[string]any{"model": "claude-sonnet-4-5"}))
	var validation *types.ValidationException
	if !errors.As(err, &validation) || !strings.Contains(validation.ErrorMessage(), "#: extraneous key [model] is not permitted") {
		t.Errorf("extraneous model: %v", err)
	}
	err = invoke(sonnetBR, invokeBody(map[string]any{"stream": true}))
	if !errors.As(err, &validation) || !strings.Contains(validation.ErrorMessage(), "#: extraneous key [stream] is not permitted") {
		t.Errorf("extraneous stream: %v", err)
	}
	err = invoke(sonnetBR, invokeBody(map[string]any{"anthropic_version": nil}))
	if !errors.As(err, &validation) || validation.ErrorMessage() != "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again." {
		t.Errorf("no anthropic_version: %v", err)
	}

	cases := []struct {
		directive string
		target    any
		code      string
		status    int
	}{
		{"[[throttle]]", new(*types.ThrottlingException), "ThrottlingException", 429},
		{"[[overloaded]]", new(*types.ServiceUnavailableException), "ServiceUnavailableException", 503},
		{"[[model-timeout]]", new(*types.ModelTimeoutException), "ModelTimeoutException", 408},
		{"[[denied]]", new(*types.AccessDeniedException), "AccessDeniedException", 403},
		{"[[error]]", new(*types.InternalServerException), "InternalServerException", 500},
	}
	for _, c := range cases {
		err := invoke(sonnetBR, invokeBody(map[string]any{"messages": []any{map[string]any{"role": "user", "content": "fail " + c.directive}}}))
		if !errors.As(err, c.target) {
			t.Errorf("%s: %v, want %s", c.directive, err, c.code)
			continue
		}
		if code, status := apiError(t, err); code != c.code || status != c.status {
			t.Errorf("%s: %s %d", c.directive, code, status)
		}
	}

	err = invoke("anthropic.claude-nonexistent-1-v1:0", invokeBody(nil))
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("unknown model: %v", err)
	}

	// After the stream has started, an error is an exception frame.
	out, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(sonnetBR), Messages: []types.Message{userText("break [[stream-error=3]]")}})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	for range stream.Events() {
	}
	var unavailable *types.ServiceUnavailableException
	if err := stream.Err(); !errors.As(err, &unavailable) {
		t.Errorf("stream error: %v (%T)", err, err)
	}
	stream.Close()
	streamOut, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(sonnetBR),
		Body: invokeBody(map[string]any{"messages": []any{map[string]any{"role": "user", "content": "break [[stream-error=2]]"}}})})
	if err != nil {
		t.Fatal(err)
	}
	chunks := streamOut.GetStream()
	n := 0
	for range chunks.Events() {
		n++
	}
	if err := chunks.Err(); !errors.As(err, &unavailable) || n != 2 {
		t.Errorf("invoke stream error after %d chunks: %v (%T)", n, err, err)
	}
	chunks.Close()
}

func TestSigV4(t *testing.T) {
	h, _ := frontDoor(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	in := &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnetBR), Body: invokeBody(nil)}
	if _, err := sigv4Client(srv.URL, srv.Client(), testKeyID, testSecret).InvokeModel(context.Background(), in); err != nil {
		t.Fatalf("good signature: %v", err)
	}
	_, err := sigv4Client(srv.URL, srv.Client(), testKeyID, "wrong-secret").InvokeModel(context.Background(), in)
	if code, status := apiError(t, err); code != "InvalidSignatureException" || status != 403 {
		t.Errorf("wrong secret: %s %d", code, status)
	}
	_, err = sigv4Client(srv.URL, srv.Client(), "AKIDUNKNOWN", testSecret).InvokeModel(context.Background(), in)
	if code, status := apiError(t, err); code != "UnrecognizedClientException" || status != 403 {
		t.Errorf("unknown key: %s %d", code, status)
	}
	resp, err := http.Post(srv.URL+"/model/"+sonnetBR+"/invoke", "application/json", bytes.NewReader(invokeBody(nil)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.HasPrefix(resp.Header.Get("X-Amzn-ErrorType"), "MissingAuthenticationTokenException") {
		t.Errorf("unsigned: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

func TestBearer(t *testing.T) {
	h, _ := frontDoor(t, "cb-good-key")
	// The SDK sends bearer tokens over HTTPS only.
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	client := func(token string) *bedrockruntime.Client { return bearerClient(srv, token) }
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnetBR), Messages: []types.Message{userText("Hi")}}
	if _, err := client("cb-good-key").Converse(context.Background(), in); err != nil {
		t.Fatalf("good key: %v", err)
	}
	_, err := client("cb-bad-key").Converse(context.Background(), in)
	var denied *types.AccessDeniedException
	if !errors.As(err, &denied) {
		t.Errorf("bad key: %v", err)
	}
	if code, status := apiError(t, err); code != "AccessDeniedException" || status != 403 {
		t.Errorf("bad key: %s %d", code, status)
	}
}

func TestOpenWithoutKeys(t *testing.T) {
	api := httptest.NewServer(anthropicemu.New(anthropicemu.Options{}))
	defer api.Close()
	h := New(Options{Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: api.URL, Key: anthropicapi.StaticKey("k")})})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/model/"+strings.ReplaceAll(sonnetBR, ":", "%3A")+"/invoke", "application/json", bytes.NewReader(invokeBody(nil)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Amzn-RequestId") == "" || resp.Header.Get("X-Amzn-Bedrock-Output-Token-Count") == "" || !bytes.Contains(body, []byte(`"type":"message"`)) {
		t.Errorf("unsigned on an open door: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, err = http.Post(srv.URL+"/model/"+sonnetBR+"/unknown", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("X-Amzn-ErrorType"), "UnknownOperationException") {
		t.Errorf("unknown operation: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}
