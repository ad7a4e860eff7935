//lint:file-ignore SA1019 the table must keep serving the deprecated models the SDK still names

package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/claudebridge/claudebridge"
)

// A thinking block whose signature and odd spacing must reach Bedrock as sent.
const thinkingMessages = `[ {"role":"user","content":"hi"},
  {"role":"assistant","content":[{"type":"thinking","thinking":"a<b & c","signature":"EqQBCkYIARgCKkD+/=="},{"type":"text","text":"ok","cache_control":{"type":"ephemeral","ttl":"1h"}}]},
  {"role":"user","content":"again"} ]`

func TestInvokeBodyRules(t *testing.T) {
	body := `{"model":"claude-sonnet-4-5","stream":true,"max_tokens":10,"messages":` + thinkingMessages +
		`,"output_config":{"effort":"high"},"some_new_field":{"x":[1,2]}}`
	r := request(t, body)
	got := invokeBody(r, []string{"interleaved-thinking-2025-05-14"})
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(got, &fields); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	for _, k := range []string{"model", "stream"} {
		if _, ok := fields[k]; ok {
			t.Errorf("%s sent", k)
		}
	}
	if string(fields["anthropic_version"]) != `"bedrock-2023-05-31"` || string(fields["anthropic_beta"]) != `["interleaved-thinking-2025-05-14"]` {
		t.Errorf("version/betas: %s %s", fields["anthropic_version"], fields["anthropic_beta"])
	}
	if !bytes.Contains(got, []byte(thinkingMessages)) {
		t.Error("messages were re-serialized")
	}
	if string(fields["some_new_field"]) != `{"x":[1,2]}` || string(fields["output_config"]) != `{"effort":"high"}` {
		t.Error("unknown fields changed")
	}
	if bytes.Contains(invokeBody(r, nil), []byte("anthropic_beta")) {
		t.Error("empty anthropic_beta sent")
	}
}

func TestDropFieldsKeepsTheRestByteForByte(t *testing.T) {
	body := []byte(`{"messages":` + thinkingMessages + `,"tools":[{"name":"a","eager_input_streaming":true},{"name":"b"},{"name":"c","eager_input_streaming":false}]}`)
	g, ok := generalise(body, "tools.0.custom.eager_input_streaming")
	if !ok || g != "tools.*.eager_input_streaming" {
		t.Fatalf("generalise = %q %v", g, ok)
	}
	if _, ok := generalise(body, "tools.0.custom.no_such_field"); ok {
		t.Error("a path to nothing generalised")
	}
	ttl, ok := generalise(body, "messages.1.content.1.cache_control.ttl")
	if !ok || ttl != "messages.*.content.*.cache_control.ttl" {
		t.Fatalf("generalise ttl = %q", ttl)
	}
	out, removed := dropFields(body, []string{g, ttl})
	if len(removed) != 3 {
		t.Errorf("removed %v", removed)
	}
	if bytes.Contains(out, []byte("eager_input_streaming")) || bytes.Contains(out, []byte(`"ttl"`)) {
		t.Errorf("not dropped: %s", out)
	}
	if !bytes.Contains(out, []byte(`{"type":"thinking","thinking":"a<b & c","signature":"EqQBCkYIARgCKkD+/=="}`)) {
		t.Errorf("thinking block changed: %s", out)
	}
	if !json.Valid(out) {
		t.Errorf("invalid JSON: %s", out)
	}
}

func TestExtraInputPaths(t *testing.T) {
	msg := "The model returned the following errors: tools.0.custom.defer_loading: Extra inputs are not permitted, output_config.task_budget: Extra inputs are not permitted"
	got := extraInputPaths(msg)
	if !slices.Equal(got, []string{"tools.0.custom.defer_loading", "output_config.task_budget"}) {
		t.Errorf("paths %v", got)
	}
	if !isInvalidBeta("The model returned the following errors: invalid beta flag") || isInvalidBeta(msg) {
		t.Error("isInvalidBeta")
	}
}

// Every Claude model the Anthropic Go SDK names must map to a Bedrock id.
func TestTableCoversTheSDKModels(t *testing.T) {
	sdk := []anthropic.Model{
		anthropic.ModelClaudeHaiku5_5, anthropic.ModelClaudeSonnet5_5, anthropic.ModelClaudeFable5_1,
		anthropic.ModelClaudeOpus5_5, anthropic.ModelClaudeMythos5_1, anthropic.ModelClaudeSonnet5,
		anthropic.ModelClaudeFable5, anthropic.ModelClaudeMythos5, anthropic.ModelClaudeOpus5,
		anthropic.ModelClaudeOpus4_8, anthropic.ModelClaudeOpus4_7, anthropic.ModelClaudeMythosPreview,
		anthropic.ModelClaudeOpus4_6, anthropic.ModelClaudeSonnet4_6, anthropic.ModelClaudeHaiku4_5,
		anthropic.ModelClaudeHaiku4_5_20251001, anthropic.ModelClaudeOpus4_5, anthropic.ModelClaudeOpus4_5_20251101,
		anthropic.ModelClaudeSonnet4_5, anthropic.ModelClaudeSonnet4_5_20250929,
	}
	m := newCatalog()
	for _, id := range sdk {
		tg, ok := m.lookup(id, "us-east-1")
		if !ok || !strings.HasPrefix(tg.Base, "anthropic.claude-") || !strings.HasPrefix(tg.Invoke, "us.") {
			t.Errorf("%s → %+v %v", id, tg, ok)
		}
	}
	if tg, _ := m.lookup("claude-sonnet-4-5", "us-east-1"); tg.Invoke != "us.anthropic.claude-sonnet-4-5-20250929-v1:0" {
		t.Errorf("alias → %s", tg.Invoke)
	}
}

func TestRegionProfiles(t *testing.T) {
	m := newCatalog()
	for _, tc := range []struct{ model, region, want string }{
		{"claude-sonnet-4-5-20250929", "eu-west-1", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"claude-sonnet-4-5-20250929", "ap-northeast-1", "jp.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"claude-sonnet-4-6", "ap-southeast-2", "au.anthropic.claude-sonnet-4-6"},
		{"claude-sonnet-4-6", "ap-south-1", "global.anthropic.claude-sonnet-4-6"},
		{"claude-opus-4-6", "ap-south-1", "apac.anthropic.claude-opus-4-6-v1"},
		{"claude-opus-4-5", "ap-northeast-1", "global.anthropic.claude-opus-4-5-20251101-v1:0"},
		{"claude-opus-4-7", "sa-east-1", "global.anthropic.claude-opus-4-7"},
		{"claude-haiku-4-5", "ca-central-1", "us.anthropic.claude-haiku-4-5-20251001-v1:0"},
	} {
		if tg, _ := m.lookup(tc.model, tc.region); tg.Invoke != tc.want {
			t.Errorf("%s in %s → %s, want %s", tc.model, tc.region, tg.Invoke, tc.want)
		}
	}
}

func TestRawIDsPassThrough(t *testing.T) {
	u := &Upstream{models: newCatalog(), region: "us-east-1", opts: Options{Models: map[string]string{"house-model": "eu.anthropic.claude-opus-4-7"}}}
	for _, tc := range []struct{ id, invoke, base string }{
		{"anthropic.claude-sonnet-4-6", "anthropic.claude-sonnet-4-6", "anthropic.claude-sonnet-4-6"},
		{"global.anthropic.claude-opus-4-7", "global.anthropic.claude-opus-4-7", "anthropic.claude-opus-4-7"},
		{"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
			"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0"},
		{"arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-opus-4-8",
			"arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-opus-4-8", "anthropic.claude-opus-4-8"},
		{"house-model", "eu.anthropic.claude-opus-4-7", "anthropic.claude-opus-4-7"},
		{"claude-opus-6", "us.anthropic.claude-opus-6", "anthropic.claude-opus-6"},
	} {
		if got := u.resolve(context.Background(), tc.id); got.Invoke != tc.invoke || got.Base != tc.base {
			t.Errorf("%s → %+v", tc.id, got)
		}
	}
}

// A model released after this build, listed by the account, is served by the
// Anthropic id derived from its Bedrock id.
func TestDiscoveredModelByRule(t *testing.T) {
	for _, tc := range []struct{ base, alias, dated string }{
		{"anthropic.claude-opus-6-v1", "claude-opus-6", ""},
		{"anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"},
		{"anthropic.claude-haiku-7", "claude-haiku-7", ""},
	} {
		a, d, ok := anthropicIDs(tc.base)
		if !ok || a != tc.alias || d != tc.dated {
			t.Errorf("%s → %q %q %v", tc.base, a, d, ok)
		}
	}
	if _, _, ok := anthropicIDs("amazon.nova-pro-v1:0"); ok {
		t.Error("a non-Claude model was taken")
	}
	m := newCatalog()
	e := m.ensure("anthropic.claude-opus-6-v1")
	e.profiles["eu"] = "eu.anthropic.claude-opus-6-v1"
	if tg, ok := m.lookup("claude-opus-6", "eu-central-1"); !ok || tg.Invoke != "eu.anthropic.claude-opus-6-v1" {
		t.Errorf("lookup → %+v %v", tg, ok)
	}
}

func TestBetaRules(t *testing.T) {
	u := &Upstream{rules: map[string]*rules{}}
	asked := []string{"interleaved-thinking-2025-05-14", context1M, "oauth-2025-04-20", "claude-code-20250219"}
	if got := u.rulesFor("anthropic.claude-sonnet-4-5-20250929-v1:0").betas(asked, []string{"claude-code-20250219"}); !slices.Equal(got, []string{"interleaved-thinking-2025-05-14", context1M}) {
		t.Errorf("sonnet 4.5: %v", got)
	}
	if got := u.rulesFor("anthropic.claude-haiku-4-5-20251001-v1:0").betas(asked, nil); slices.Contains(got, context1M) {
		t.Errorf("context-1m sent to a 200k model: %v", got)
	}
	if got := u.rulesFor("anthropic.claude-opus-4-7").betas(asked, nil); !slices.Equal(got, []string{"interleaved-thinking-2025-05-14"}) {
		t.Errorf("opus 4.7: %v", got)
	}
	r := u.rulesFor("anthropic.claude-unknown-9")
	dropped, remembered := r.learnBetas([]string{"a-1", "b-2"})
	if !remembered || len(dropped) != 2 || len(r.betas([]string{"a-1", "c-3"}, nil)) != 1 {
		t.Errorf("learning: %v %v", dropped, remembered)
	}
}

func TestMessageStartRewrite(t *testing.T) {
	in := []byte(`{"type":"message_start","message":{"id":"msg_1","model":"anthropic.claude-x","usage":{"input_tokens":5,"output_tokens":1}}}`)
	out := messageStart(in, "claude-x")
	var ev struct {
		Message struct {
			ID    string         `json:"id"`
			Model string         `json:"model"`
			Usage map[string]int `json:"usage"`
		} `json:"message"`
	}
	if err := json.Unmarshal(out, &ev); err != nil {
		t.Fatal(err)
	}
	u := ev.Message.Usage
	if ev.Message.Model != "claude-x" || ev.Message.ID != "msg_1" || u["input_tokens"] != 5 {
		t.Errorf("%s", out)
	}
	if _, ok := u["cache_creation_input_tokens"]; !ok {
		t.Errorf("no cache_creation_input_tokens: %s", out)
	}
	keep := []byte(`{"type":"message_start","message":{"model":"m","usage":{"cache_read_input_tokens":7,"cache_creation_input_tokens":3}}}`)
	if got := messageStart(keep, "m"); !bytes.Contains(got, []byte(`"cache_read_input_tokens":7`)) {
		t.Errorf("present fields changed: %s", got)
	}
	stop := []byte(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":5}}`)
	if got := stripMetrics(stop); string(got) != `{"type":"message_stop"}` {
		t.Errorf("stripMetrics: %s", got)
	}
}

func apiErr(code string, status int, header http.Header) error {
	return &smithy.OperationError{ServiceID: "Bedrock Runtime", OperationName: "InvokeModel", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: header}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "upstream says " + code},
		}}}
}

func TestMapError(t *testing.T) {
	for code, want := range map[string]string{
		"ValidationException": claudebridge.EINVALID, "AccessDeniedException": claudebridge.EPERMISSION,
		"ResourceNotFoundException": claudebridge.ENOTFOUND, "ThrottlingException": claudebridge.ERATELIMIT,
		"ServiceQuotaExceededException": claudebridge.ERATELIMIT, "ServiceUnavailableException": claudebridge.EOVERLOADED,
		"ModelNotReadyException": claudebridge.EOVERLOADED, "ModelTimeoutException": claudebridge.ETIMEOUT,
		"InternalServerException": claudebridge.EINTERNAL, "ModelErrorException": claudebridge.EINTERNAL,
		"ModelStreamErrorException": claudebridge.EINTERNAL, "SomethingNewException": claudebridge.EINTERNAL,
	} {
		err := mapError(apiErr(code, 400, http.Header{"Retry-After": {"3"}}))
		var ce *claudebridge.Error
		if !errors.As(err, &ce) || ce.Code != want || ce.Message != "upstream says "+code || ce.Status != 400 || ce.RetryAfter != 3*time.Second {
			t.Errorf("%s → %+v, want %s", code, ce, want)
		}
	}
	if got := mapError(fmt.Errorf("wrapped: %w", context.Canceled)); claudebridge.ErrorCode(got) != claudebridge.ECANCELED {
		t.Errorf("canceled → %v", got)
	}
	if mapError(nil) != nil {
		t.Error("nil")
	}
}

func TestEstimate(t *testing.T) {
	small := estimate([]byte(`{"messages":[{"role":"user","content":"hello there"}]}`))
	big := estimate([]byte(`{"messages":[{"role":"user","content":"` + strings.Repeat("word ", 400) + `"}]}`))
	img := estimate([]byte(`{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"` + strings.Repeat("A", 40000) + `"}}]}]}`))
	tools := estimate([]byte(`{"messages":[{"role":"user","content":"hello there"}],"tools":[{"name":"x","input_schema":{"type":"object"}}]}`))
	if small <= 0 || big < 450 || big > 550 || img < imageTokens || img > imageTokens+20 || tools < small+toolsOverhead {
		t.Errorf("small %d big %d img %d tools %d", small, big, img, tools)
	}
}

// New returns at once and requests are not held up by a control plane that
// does not answer.
func TestSlowDiscoveryDelaysNothing(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/model/") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(403)
		w.Write([]byte(`{"message":"You don't have access to the model with the specified model ID."}`))
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	u := New(Options{AWS: aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}, DiscoveryTimeout: 10 * time.Second})
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("New took %v", d)
	}
	_, err := u.Messages(context.Background(), request(t, userText("claude-sonnet-4-5", "Hi")))
	if claudebridge.ErrorCode(err) != claudebridge.EPERMISSION || !strings.Contains(claudebridge.ErrorMessage(err), "access to the model") {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("request waited for discovery: %v", d)
	}
}

func validation(msg string) error {
	return &smithy.OperationError{ServiceID: "Bedrock Runtime", OperationName: "InvokeModel", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 400, Header: http.Header{}}},
			Err:      &smithy.GenericAPIError{Code: "ValidationException", Message: msg},
		}}}
}

// A prompt over the context window is the Anthropic API's 400 "prompt is
// too long: N tokens > M maximum", whatever Bedrock's phrasing: clients
// compact their conversation and retry on that text.
func TestPromptOverTheContextWindowIsPromptIsTooLong(t *testing.T) {
	for _, tc := range []struct{ bedrock, want string }{
		{"prompt is too long: 208310 tokens > 200000 maximum", "prompt is too long: 208310 tokens > 200000 maximum"},
		{"The model returned the following errors: prompt is too long: 1000001 tokens > 1000000 maximum", "prompt is too long: 1000001 tokens > 1000000 maximum"},
		{"Input is too long for requested model.", "prompt is too long: the input is over the model's context window (Bedrock: Input is too long for requested model.)"},
		{"The model returned the following errors: Input is too long for requested model.", "prompt is too long: the input is over the model's context window (Bedrock: The model returned the following errors: Input is too long for requested model.)"},
	} {
		err := mapError(validation(tc.bedrock))
		if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
			t.Errorf("%q: code %s, want %s", tc.bedrock, got, want)
		}
		if got, want := claudebridge.ErrorMessage(err), tc.want; got != want {
			t.Errorf("%q: message %q, want %q", tc.bedrock, got, want)
		}
	}
}

// Bedrock's refusal of a body over its 25,000,000 bytes is request_too_large.
func TestBodyOverBedrocksLimitIsTooLarge(t *testing.T) {
	err := mapError(validation("1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 25000000"))
	if got, want := claudebridge.ErrorCode(err), claudebridge.ETOOLARGE; got != want {
		t.Errorf("code %s, want %s", got, want)
	}
}

// Other ValidationExceptions keep Bedrock's text.
func TestOtherValidationMessagesAreKept(t *testing.T) {
	err := mapError(validation("messages.1.content: Field required"))
	if got, want := claudebridge.ErrorMessage(err), "messages.1.content: Field required"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}
