package bedrock

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
	"testing"
	"time"

	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
	"github.com/claudebridge/claudebridge/internal/syncbuf"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/claudebridge/claudebridge"
	"github.com/tidwall/gjson"
)

// recorder wraps the emulator and keeps the path and body of every call.
type recorder struct {
	h    http.Handler
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Path string
	Body []byte
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, recorded{Path: r.URL.EscapedPath(), Body: body})
	rc.mu.Unlock()
	rc.h.ServeHTTP(w, r)
}

// calls returns the recorded calls whose path contains part.
func (rc *recorder) calls(part string) []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []recorded
	for _, r := range rc.reqs {
		if strings.Contains(r.Path, part) {
			out = append(out, r)
		}
	}
	return out
}

// emulated starts the Bedrock emulator and an Upstream pointed at it with
// static credentials, and waits for discovery.
func emulated(t *testing.T, region string) (*Upstream, *recorder, *syncbuf.Buffer) {
	t.Helper()
	rc := &recorder{h: bedrockemu.New(bedrockemu.Options{Region: region})}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	logs := &syncbuf.Buffer{}
	u := New(Options{
		AWS: aws.Config{
			Region:       region,
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", ""),
			BaseEndpoint: aws.String(srv.URL),
		},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	select {
	case <-u.discovered:
	case <-time.After(5 * time.Second):
		t.Fatal("discovery did not finish")
	}
	return u, rc, logs
}

func request(t *testing.T, body string, betas ...string) *claudebridge.Request {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &fields); err != nil {
		t.Fatal(err)
	}
	var model string
	_ = json.Unmarshal(fields["model"], &model)
	return &claudebridge.Request{Model: model, Body: []byte(body), Fields: fields, Betas: betas}
}

func userText(model, text string) string {
	b, _ := json.Marshal(text)
	return `{"model":"` + model + `","max_tokens":200,"messages":[{"role":"user","content":` + string(b) + `}]}`
}

func TestEmulatorMessagesNamesTheAskedModel(t *testing.T) {
	u, rc, _ := emulated(t, "us-east-1")
	resp, err := u.Messages(context.Background(), request(t, userText("claude-sonnet-4-5", "Say hello")))
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Model   string            `json:"model"`
		Content []json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(resp.Body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Model != "claude-sonnet-4-5" {
		t.Errorf("model = %q, want the id asked for", msg.Model)
	}
	if resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 {
		t.Errorf("usage not read: %+v", resp.Usage)
	}
	if bytes.Contains(resp.Body, []byte(metricsKey)) {
		t.Error("invocation metrics reached the client")
	}
	calls := rc.calls("/invoke")
	if len(calls) != 1 || !strings.Contains(calls[0].Path, "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke") {
		t.Fatalf("calls = %+v, want one to the us. profile", calls)
	}
	var sent map[string]json.RawMessage
	_ = json.Unmarshal(calls[0].Body, &sent)
	if _, ok := sent["model"]; ok {
		t.Error("model sent in the body")
	}
	if string(sent["anthropic_version"]) != `"bedrock-2023-05-31"` {
		t.Errorf("anthropic_version = %s", sent["anthropic_version"])
	}
}

func TestEmulatorStream(t *testing.T) {
	u, _, _ := emulated(t, "us-east-1")
	s, err := u.Stream(context.Background(), request(t, userText("claude-opus-4-6", "Tell me a story")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var types []string
	for {
		ev, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %v: %v", types, err)
		}
		types = append(types, ev.Type)
		if bytes.Contains(ev.Data, []byte(metricsKey)) {
			t.Errorf("%s carries invocation metrics", ev.Type)
		}
		var probe struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(ev.Data, &probe) != nil || probe.Type != ev.Type {
			t.Errorf("event %q data %s", ev.Type, ev.Data)
		}
		if ev.Type == "message_start" {
			var ms struct {
				Message struct {
					Model string                     `json:"model"`
					Usage map[string]json.RawMessage `json:"usage"`
				} `json:"message"`
			}
			_ = json.Unmarshal(ev.Data, &ms)
			if ms.Message.Model != "claude-opus-4-6" {
				t.Errorf("message_start model = %q", ms.Message.Model)
			}
			for _, f := range []string{"cache_creation_input_tokens", "cache_read_input_tokens"} {
				if _, ok := ms.Message.Usage[f]; !ok {
					t.Errorf("message_start usage lacks %s", f)
				}
			}
		}
	}
	if len(types) < 5 || types[0] != "message_start" || types[len(types)-1] != "message_stop" {
		t.Fatalf("event order %v", types)
	}
	if _, err := s.Next(); err != io.EOF {
		t.Errorf("Next after message_stop = %v, want io.EOF", err)
	}
}

func TestEmulatorStreamFaults(t *testing.T) {
	u, _, _ := emulated(t, "us-east-1")
	for _, tc := range []struct {
		directive string
		code      string
	}{
		{"[[stream-error=3]]", claudebridge.EINTERNAL},
		{"[[cut=3]]", claudebridge.EINTERNAL},
	} {
		s, err := u.Stream(context.Background(), request(t, userText("claude-sonnet-4-5", "Hello "+tc.directive)))
		if err != nil {
			t.Fatalf("%s: %v", tc.directive, err)
		}
		n := 0
		for {
			_, err = s.Next()
			if err != nil {
				break
			}
			n++
		}
		s.Close()
		var ce *claudebridge.Error
		if !errors.As(err, &ce) || ce.Code != tc.code {
			t.Errorf("%s: after %d events err = %v, want code %s", tc.directive, n, err, tc.code)
		}
		if n != 3 {
			t.Errorf("%s: %d events before the failure, want 3", tc.directive, n)
		}
	}
}

func TestEmulatorErrorsKeepStatusAndRetryAfter(t *testing.T) {
	u, _, _ := emulated(t, "us-east-1")
	for _, tc := range []struct {
		directive string
		code      string
		status    int
	}{
		{"[[throttle]] [[retry-after=2]]", claudebridge.ERATELIMIT, 429},
		{"[[overloaded]]", claudebridge.EOVERLOADED, 503},
		{"[[error]]", claudebridge.EINTERNAL, 500},
		{"[[model-timeout]]", claudebridge.ETIMEOUT, 408},
		{"[[denied]]", claudebridge.EPERMISSION, 403},
	} {
		_, err := u.Messages(context.Background(), request(t, userText("claude-sonnet-4-5", "Hi "+tc.directive)))
		var ce *claudebridge.Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s: err = %v", tc.directive, err)
		}
		if ce.Code != tc.code || ce.Status != tc.status || ce.Message == "" {
			t.Errorf("%s: got %+v, want code %s status %d", tc.directive, ce, tc.code, tc.status)
		}
		if strings.Contains(tc.directive, "retry-after") && ce.RetryAfter != 2*time.Second {
			t.Errorf("%s: RetryAfter = %v", tc.directive, ce.RetryAfter)
		}
	}
}

func TestEmulatorLearnsRefusedBetas(t *testing.T) {
	u, rc, logs := emulated(t, "us-east-1")
	const unknown = "made-up-feature-2099-01-01"
	r := request(t, userText("claude-opus-4-8", "Hello"), "interleaved-thinking-2025-05-14", unknown)
	if _, err := u.Messages(context.Background(), r); err != nil {
		t.Fatalf("the user failed for a beta flag: %v", err)
	}
	if !strings.Contains(logs.String(), unknown) {
		t.Error("the dropped flag was not logged")
	}
	before := len(rc.calls("/invoke"))
	if _, err := u.Messages(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	calls := rc.calls("/invoke")
	if len(calls)-before != 1 {
		t.Fatalf("second request took %d calls, want 1 (flag remembered)", len(calls)-before)
	}
	last := calls[len(calls)-1].Body
	if bytes.Contains(last, []byte(unknown)) || !bytes.Contains(last, []byte("interleaved-thinking-2025-05-14")) {
		t.Errorf("second body betas wrong: %s", last)
	}
}

func TestEmulatorLearnsRefusedFields(t *testing.T) {
	u, rc, logs := emulated(t, "us-east-1")
	body := `{"model":"claude-opus-4-8","max_tokens":100,` +
		`"tools":[{"name":"a","input_schema":{"type":"object"},"strict":true},{"name":"b","input_schema":{"type":"object"},"strict":true}],` +
		`"messages":[{"role":"user","content":"use a tool"}]}`
	if _, err := u.Messages(context.Background(), request(t, body)); err != nil {
		t.Fatalf("the user failed for a refused field: %v", err)
	}
	if !strings.Contains(logs.String(), "tools.*.strict") {
		t.Errorf("the dropped field was not logged: %s", logs)
	}
	before := len(rc.calls("/invoke"))
	if _, err := u.Messages(context.Background(), request(t, body)); err != nil {
		t.Fatal(err)
	}
	calls := rc.calls("/invoke")
	if len(calls)-before != 1 || bytes.Contains(calls[len(calls)-1].Body, []byte(`"strict"`)) {
		t.Errorf("field not remembered: %d calls, body %s", len(calls)-before, calls[len(calls)-1].Body)
	}
}

func TestEmulatorApplicationProfileFindsBaseModel(t *testing.T) {
	u, rc, _ := emulated(t, "us-east-1")
	arn := "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/emulator-sonnet"
	if got := u.resolve(context.Background(), arn); got.Base != "anthropic.claude-sonnet-4-5-20250929-v1:0" || got.Invoke != arn {
		t.Fatalf("resolve = %+v", got)
	}
	u.resolve(context.Background(), arn)
	if n := len(rc.calls("/inference-profiles/")); n != 1 {
		t.Errorf("GetInferenceProfile called %d times, want 1 (cached)", n)
	}
}

func TestEmulatorCountTokens(t *testing.T) {
	u, rc, _ := emulated(t, "us-east-1")
	short, err := u.CountTokens(context.Background(), request(t, userText("claude-sonnet-4-5", "Hi")))
	if err != nil {
		t.Fatal(err)
	}
	long, err := u.CountTokens(context.Background(), request(t, userText("claude-sonnet-4-5", strings.Repeat("many words here ", 200))))
	if err != nil {
		t.Fatal(err)
	}
	if short.Estimated || long.Estimated || long.InputTokens <= short.InputTokens {
		t.Fatalf("counts %+v %+v", short, long)
	}
	calls := rc.calls("/count-tokens")
	if len(calls) != 2 || !strings.Contains(calls[0].Path, "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens") {
		t.Fatalf("count-tokens calls %+v, want the base model id", calls)
	}
	again, _ := u.CountTokens(context.Background(), request(t, userText("claude-sonnet-4-5", "Hi")))
	if again.InputTokens != short.InputTokens || len(rc.calls("/count-tokens")) != 2 {
		t.Error("the same count was asked again instead of cached")
	}
}

func TestEmulatorModelsListsTheTable(t *testing.T) {
	u, _, _ := emulated(t, "us-east-1")
	ms, err := u.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i, m := range ms {
		ids[m.ID] = true
		if i > 0 && m.CreatedAt.After(ms[i-1].CreatedAt) {
			t.Errorf("not newest first at %s", m.ID)
		}
		if m.DisplayName == "" {
			t.Errorf("%s has no display name", m.ID)
		}
	}
	for _, id := range []string{"claude-sonnet-4-5-20250929", "claude-opus-4-8", "claude-sonnet-5-5"} {
		if !ids[id] {
			t.Errorf("Models lacks %s", id)
		}
	}
}

func TestCredentialFailureIsUpstreamAuth(t *testing.T) {
	srv := httptest.NewServer(bedrockemu.New(bedrockemu.Options{}))
	defer srv.Close()
	u := New(Options{AWS: aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no credentials in secret-store-xyz")
		})}})
	_, err := u.Messages(context.Background(), request(t, userText("claude-sonnet-4-5", "Hi")))
	var ce *claudebridge.Error
	if !errors.As(err, &ce) || ce.Code != claudebridge.EUPSTREAMAUTH {
		t.Fatalf("err = %v, want EUPSTREAMAUTH", err)
	}
	if !strings.Contains(ce.Message, "AWS default chain") || strings.Contains(ce.Message, "secret-store-xyz") {
		t.Errorf("message %q", ce.Message)
	}
}

func TestConnectionFailureIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	u := New(Options{AWS: aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRETKEYVALUE", "")}})
	_, err := u.Messages(context.Background(), request(t, userText("claude-sonnet-4-5", "Hi")))
	if claudebridge.ErrorCode(err) != claudebridge.EINTERNAL || !claudebridge.Retryable(err) {
		t.Fatalf("err = %v, want retryable EINTERNAL", err)
	}
	if strings.Contains(err.Error(), "SECRETKEYVALUE") {
		t.Error("secret in the message")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := u.Messages(ctx, request(t, userText("claude-sonnet-4-5", "Hi"))); claudebridge.ErrorCode(err) != claudebridge.ECANCELED {
		t.Errorf("canceled: %v", err)
	}
}

func TestEmulatorCloseUnblocksNext(t *testing.T) {
	u, _, _ := emulated(t, "us-east-1")
	s, err := u.Stream(context.Background(), request(t, userText("claude-sonnet-4-5", "Hello [[slow=2000]]")))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := s.Next(); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		// The connection closed under the stream by net/http used to end
		// it here (see SDKHTTPClient); nothing else may.
		t.Fatalf("the stream ended before Close: %v", err)
	default:
	}
	start := time.Now()
	s.Close()
	select {
	case err := <-done:
		if claudebridge.ErrorCode(err) != claudebridge.ECANCELED {
			t.Errorf("Next after Close = %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not unblock Next")
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Error("Close was slow")
	}
	s.Close() // twice is fine
}

func TestEmulatorModelThatCannotCountIsEstimated(t *testing.T) {
	u, rc, _ := emulated(t, "us-east-1")
	const model = "anthropic.claude-3-haiku-20240307-v1:0"
	first, err := u.CountTokens(context.Background(), request(t, userText(model, "How many tokens is this?")))
	if err != nil {
		t.Fatal(err)
	}
	if !first.Estimated || first.InputTokens <= 0 {
		t.Fatalf("count %+v, want an estimate", first)
	}
	n := len(rc.calls("/count-tokens"))
	second, err := u.CountTokens(context.Background(), request(t, userText(model, "Another question entirely")))
	if err != nil || !second.Estimated {
		t.Fatalf("%+v %v", second, err)
	}
	if len(rc.calls("/count-tokens")) != n {
		t.Error("asked Bedrock again for a model that cannot count")
	}
}

// TestEmulatorFoldsSystemTurns: Claude Code's role "system" turns are
// refused by a model that takes only user and assistant turns; the gateway
// folds them into system, and from then on at once.
func TestEmulatorFoldsSystemTurns(t *testing.T) {
	u, rc, logs := emulated(t, "us-east-1")
	body := `{"model":"claude-opus-4-8","max_tokens":100,"system":"You are terse.",` +
		`"messages":[{"role":"user","content":"Hello"},{"role":"system","content":[{"type":"text","text":"MCP server notes"}]},{"role":"user","content":"Again"}]}`
	if _, err := u.Messages(context.Background(), request(t, body)); err != nil {
		t.Fatalf("the user failed for a system turn: %v", err)
	}
	if !strings.Contains(logs.String(), "folding") {
		t.Errorf("the fold was not logged: %s", logs)
	}
	before := len(rc.calls("/invoke"))
	if _, err := u.Messages(context.Background(), request(t, body)); err != nil {
		t.Fatal(err)
	}
	calls := rc.calls("/invoke")
	if len(calls)-before != 1 {
		t.Fatalf("second request took %d calls, want 1 (remembered)", len(calls)-before)
	}
	sent := calls[len(calls)-1].Body
	if gjson.GetBytes(sent, `messages.#(role=="system")`).Exists() || gjson.GetBytes(sent, "messages.#").Int() != 2 ||
		gjson.GetBytes(sent, "system.0.text").String() != "You are terse." || gjson.GetBytes(sent, "system.1.text").String() != "MCP server notes" {
		t.Errorf("sent %s", sent)
	}
}

func TestFoldSystemKeepsARequestWithoutSystemTurns(t *testing.T) {
	r := request(t, `{"model":"m","max_tokens":5,"system":"s","messages":[{"role":"user","content":"hi"}]}`)
	if foldSystem(r) != r {
		t.Error("a request without system turns was copied")
	}
	r = request(t, `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":""},{"role":"user","content":"hi"}]}`)
	f := foldSystem(r)
	if _, ok := f.Fields["system"]; ok || string(f.Fields["messages"]) != `[{"role":"user","content":"hi"}]` {
		t.Errorf("empty system turn: %s", f.JSON())
	}
	if _, ok := r.Fields["system"]; ok || !strings.Contains(string(r.Fields["messages"]), `"system"`) {
		t.Error("the caller's request was changed")
	}
}
