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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
	"github.com/tidwall/gjson"
)

// exchange is one request the emulator received.
type exchange struct {
	Path   string
	Header http.Header
	Body   []byte
}

// exchanges records every request before the emulator serves it.
type exchanges struct {
	h    http.Handler
	mu   sync.Mutex
	list []exchange
}

func (x *exchanges) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	x.mu.Lock()
	x.list = append(x.list, exchange{Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body})
	x.mu.Unlock()
	x.h.ServeHTTP(w, r)
}

// with returns the recorded requests whose path ends with "/"+op.
func (x *exchanges) with(op string) []exchange {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []exchange
	for _, e := range x.list {
		if strings.HasSuffix(e.Path, "/"+op) {
			out = append(out, e)
		}
	}
	return out
}

// converseUpstream starts the Bedrock emulator, which verifies SigV4
// signatures cryptographically against the one key pair given, and an
// Upstream signed with that pair and changed by opts.
func converseUpstream(t testing.TB, opts func(*Options)) (*Upstream, *exchanges) {
	t.Helper()
	const keyID, secret = "AKIDCONVERSE", "c0nverse/secret+KEY"
	x := &exchanges{h: bedrockemu.New(bedrockemu.Options{Credentials: map[string]string{keyID: secret}})}
	srv := httptest.NewServer(x)
	t.Cleanup(srv.Close)
	o := Options{
		AWS: aws.Config{
			Region:       "us-east-1",
			Credentials:  credentials.NewStaticCredentialsProvider(keyID, secret, ""),
			BaseEndpoint: aws.String(srv.URL),
		},
		Logger: slog.New(slog.DiscardHandler),
	}
	if opts != nil {
		opts(&o)
	}
	u := New(o)
	select {
	case <-u.discovered:
	case <-time.After(5 * time.Second):
		t.Fatal("discovery did not finish")
	}
	return u, x
}

func converseAPI(o *Options) { o.API = APIConverse }

// converseCases are the models and settings that go through Converse.
var converseCases = []struct {
	name  string
	model string
	opts  func(*Options)
	path  string // the model id in the Converse path
}{
	{"claude with BEDROCK_API=converse", "claude-sonnet-4-5", converseAPI, "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0"},
	{"nova pro", "amazon.nova-pro-v1:0", nil, "amazon.nova-pro-v1%3A0"},
	{"nova lite profile", "us.amazon.nova-lite-v1:0", nil, "us.amazon.nova-lite-v1%3A0"},
	{"llama", "meta.llama3-3-70b-instruct-v1:0", nil, "meta.llama3-3-70b-instruct-v1%3A0"},
}

type messagesReply struct {
	ID           string            `json:"id"`
	Model        string            `json:"model"`
	Role         string            `json:"role"`
	Content      []json.RawMessage `json:"content"`
	StopReason   string            `json:"stop_reason"`
	StopSequence *string           `json:"stop_sequence"`
	Usage        claudebridge.Usage
}

func TestConverseMessages(t *testing.T) {
	for _, tc := range converseCases {
		t.Run(tc.name, func(t *testing.T) {
			u, x := converseUpstream(t, tc.opts)
			body := `{"model":"` + tc.model + `","max_tokens":300,"system":"You are terse.","temperature":0.5,` +
				`"messages":[{"role":"user","content":"Say hello"}]}`
			resp, err := u.Messages(context.Background(), request(t, body))
			if err != nil {
				t.Fatal(err)
			}
			var msg messagesReply
			if err := json.Unmarshal(resp.Body, &msg); err != nil {
				t.Fatal(err)
			}
			if msg.Model != tc.model || msg.Role != "assistant" || !strings.HasPrefix(msg.ID, "msg_") {
				t.Errorf("model %q role %q id %q", msg.Model, msg.Role, msg.ID)
			}
			if msg.StopReason != "end_turn" || len(msg.Content) == 0 || !strings.Contains(string(msg.Content[0]), `"type":"text"`) {
				t.Errorf("stop %q content %s", msg.StopReason, msg.Content)
			}
			if resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 {
				t.Errorf("usage %+v", resp.Usage)
			}
			if n := len(x.with("invoke")); n != 0 {
				t.Errorf("%d InvokeModel calls", n)
			}
			calls := x.with("converse")
			if len(calls) != 1 || calls[0].Path != "/model/"+tc.path+"/converse" {
				t.Fatalf("converse calls %+v", calls)
			}
			var sent map[string]json.RawMessage
			if err := json.Unmarshal(calls[0].Body, &sent); err != nil {
				t.Fatal(err)
			}
			if string(sent["system"]) != `[{"text":"You are terse."}]` {
				t.Errorf("system sent as %s", sent["system"])
			}
			if !bytes.Contains(sent["inferenceConfig"], []byte(`"maxTokens":300`)) || !bytes.Contains(sent["inferenceConfig"], []byte(`"temperature":0.5`)) {
				t.Errorf("inferenceConfig %s", sent["inferenceConfig"])
			}
			for _, k := range []string{"anthropic_version", "model", "max_tokens"} {
				if _, ok := sent[k]; ok {
					t.Errorf("%s sent to Converse", k)
				}
			}
		})
	}
}

// collect reads a stream to its end.
func collect(t *testing.T, s claudebridge.Stream) ([]claudebridge.Event, error) {
	t.Helper()
	defer s.Close()
	var out []claudebridge.Event
	for {
		ev, err := s.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

// shape summarises a stream: each event's type and index, the text and
// tool input per index, and the final usage and stop reason.
type shape struct {
	order   []string
	text    map[int]string
	input   map[int]string
	blocks  map[int]string // index → content_block type
	stop    string
	usage   claudebridge.Usage
	startUs map[string]json.RawMessage
}

func shapeOf(t *testing.T, events []claudebridge.Event) shape {
	t.Helper()
	sh := shape{text: map[int]string{}, input: map[int]string{}, blocks: map[int]string{}}
	for _, ev := range events {
		var e struct {
			Type    string `json:"type"`
			Index   *int   `json:"index"`
			Message struct {
				Usage map[string]json.RawMessage `json:"usage"`
			} `json:"message"`
			ContentBlock struct {
				Type string `json:"type"`
			} `json:"content_block"`
			Delta struct {
				Type        string `json:"type"`
				Text        string `json:"text"`
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			} `json:"delta"`
			Usage claudebridge.Usage `json:"usage"`
		}
		if err := json.Unmarshal(ev.Data, &e); err != nil || e.Type != ev.Type {
			t.Fatalf("event %q data %s", ev.Type, ev.Data)
		}
		label := ev.Type
		if e.Index != nil {
			label += "[" + strconv.Itoa(*e.Index) + "]"
		}
		if len(sh.order) == 0 || sh.order[len(sh.order)-1] != label || ev.Type != "content_block_delta" {
			sh.order = append(sh.order, label)
		}
		switch ev.Type {
		case "message_start":
			sh.startUs = e.Message.Usage
		case "content_block_start":
			sh.blocks[*e.Index] = e.ContentBlock.Type
		case "content_block_delta":
			sh.text[*e.Index] += e.Delta.Text
			sh.input[*e.Index] += e.Delta.PartialJSON
		case "message_delta":
			sh.stop = e.Delta.StopReason
			sh.usage = e.Usage
		}
	}
	return sh
}

// TestConverseStreamMatchesInvoke: the same request streamed through
// ConverseStream and InvokeModelWithResponseStream gives the same events.
// The emulator's answer follows from a hash of the Messages fields it gets.
// The bodies are written as Messages clients write them (blocks with "type"
// first, tools as name, description, input_schema), which the translation
// to Converse and back gives again byte for byte: both APIs then get the
// same answer.
func TestConverseStreamMatchesInvoke(t *testing.T) {
	const tools = `"tools":[{"name":"get_weather","description":"Weather of a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]`
	for _, tc := range []struct {
		name, body string
		order      []string
		stop       string
	}{
		{"text", `{"model":"claude-sonnet-4-5","max_tokens":300,"system":[{"type":"text","text":"Be kind."}],"messages":[{"role":"user","content":[{"type":"text","text":"Tell me a story"}]}]}`,
			[]string{"message_start", "content_block_start[0]", "content_block_delta[0]", "content_block_stop[0]", "message_delta", "message_stop"}, "end_turn"},
		{"tool use", `{"model":"claude-sonnet-4-5","max_tokens":300,` + tools + `,"messages":[{"role":"user","content":[{"type":"text","text":"Use get_weather for Paris"}]}]}`,
			nil, "tool_use"},
		{"max tokens", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"Talk [[words=80]]"}]}]}`,
			[]string{"message_start", "content_block_start[0]", "content_block_delta[0]", "content_block_stop[0]", "message_delta", "message_stop"}, "max_tokens"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, _ := converseUpstream(t, nil)
			cv, x := converseUpstream(t, converseAPI)
			s, err := inv.Stream(context.Background(), request(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			want, err := collect(t, s)
			if err != nil {
				t.Fatal(err)
			}
			s, err = cv.Stream(context.Background(), request(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := collect(t, s)
			if err != nil {
				t.Fatal(err)
			}
			if len(x.with("converse-stream")) != 1 || len(x.with("invoke-with-response-stream")) != 0 {
				t.Fatal("the stream did not go through ConverseStream")
			}
			w, g := shapeOf(t, want), shapeOf(t, got)
			if tc.order != nil && strings.Join(g.order, " ") != strings.Join(tc.order, " ") {
				t.Errorf("order %v, want %v", g.order, tc.order)
			}
			if strings.Join(g.order, " ") != strings.Join(w.order, " ") {
				t.Errorf("Converse order %v, InvokeModel order %v", g.order, w.order)
			}
			if g.stop != tc.stop || w.stop != tc.stop {
				t.Errorf("stop reason %q (InvokeModel %q), want %q", g.stop, w.stop, tc.stop)
			}
			for i, typ := range w.blocks {
				if g.blocks[i] != typ || g.text[i] != w.text[i] {
					t.Errorf("block %d: %s %q, InvokeModel %s %q", i, g.blocks[i], g.text[i], typ, w.text[i])
				}
				if typ == "tool_use" {
					var gi, wi any
					if json.Unmarshal([]byte(g.input[i]), &gi) != nil || json.Unmarshal([]byte(w.input[i]), &wi) != nil {
						t.Fatalf("tool input %q / %q", g.input[i], w.input[i])
					}
					if gj, _ := json.Marshal(gi); string(gj) != mustJSON(wi) {
						t.Errorf("tool input %s, InvokeModel %s", gj, mustJSON(wi))
					}
				}
			}
			if g.usage.OutputTokens != w.usage.OutputTokens || g.usage.InputTokens == 0 {
				t.Errorf("final usage %+v, InvokeModel %+v", g.usage, w.usage)
			}
			for _, f := range []string{"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"} {
				if _, ok := g.startUs[f]; !ok {
					t.Errorf("message_start usage lacks %s", f)
				}
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestConverseToolRoundTrip: a tool call, then its result, through Nova.
func TestConverseToolRoundTrip(t *testing.T) {
	u, x := converseUpstream(t, nil)
	const tools = `"tools":[{"name":"get_weather","description":"Weather of a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]`
	first := `{"model":"amazon.nova-pro-v1:0","max_tokens":300,` + tools + `,"tool_choice":{"type":"tool","name":"get_weather"},"messages":[{"role":"user","content":"Weather in Paris?"}]}`
	resp, err := u.Messages(context.Background(), request(t, first))
	if err != nil {
		t.Fatal(err)
	}
	var msg messagesReply
	_ = json.Unmarshal(resp.Body, &msg)
	if msg.StopReason != "tool_use" {
		t.Fatalf("stop %q, content %s", msg.StopReason, msg.Content)
	}
	var use struct {
		Type, ID, Name string
		Input          map[string]any
	}
	for _, c := range msg.Content {
		if bytes.Contains(c, []byte(`"tool_use"`)) {
			_ = json.Unmarshal(c, &use)
		}
	}
	if use.Name != "get_weather" || use.ID == "" || use.Input == nil {
		t.Fatalf("tool_use %+v in %s", use, msg.Content)
	}
	sent := x.with("converse")[0].Body
	if !bytes.Contains(sent, []byte(`"toolChoice":{"tool":{"name":"get_weather"}}`)) || !bytes.Contains(sent, []byte(`"inputSchema":{"json":`)) {
		t.Errorf("toolConfig not sent: %s", sent)
	}
	assistant, _ := json.Marshal(msg.Content)
	second := `{"model":"amazon.nova-pro-v1:0","max_tokens":300,` + tools + `,"messages":[` +
		`{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":` + string(assistant) + `},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"` + use.ID + `","content":"18 C and sunny"},{"type":"text","text":"And now?"}]}]}`
	resp, err = u.Messages(context.Background(), request(t, second))
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(resp.Body, &msg)
	if msg.StopReason != "end_turn" {
		t.Errorf("after the tool result: stop %q content %s", msg.StopReason, msg.Content)
	}
	sent = x.with("converse")[1].Body
	if !bytes.Contains(sent, []byte(`"toolResult":{"toolUseId":"`+use.ID+`","content":[{"text":"18 C and sunny"}]`)) ||
		!bytes.Contains(sent, []byte(`"toolUse":{"toolUseId":"`+use.ID+`"`)) {
		t.Errorf("tool blocks not sent as Converse blocks: %s", sent)
	}
}

func TestConverseCacheUsage(t *testing.T) {
	u, _ := converseUpstream(t, converseAPI)
	long := strings.Repeat("A long and stable system prompt for caching "+strconv.FormatInt(time.Now().UnixNano(), 10)+". ", 300)
	sys, _ := json.Marshal(long)
	body := `{"model":"claude-sonnet-4-5","max_tokens":100,"system":[{"type":"text","text":` + string(sys) + `,"cache_control":{"type":"ephemeral"}}],` +
		`"messages":[{"role":"user","content":"Hi"}]}`
	var usages []claudebridge.Usage
	for range 2 {
		s, err := u.Stream(context.Background(), request(t, body))
		if err != nil {
			t.Fatal(err)
		}
		events, err := collect(t, s)
		if err != nil {
			t.Fatal(err)
		}
		usages = append(usages, shapeOf(t, events).usage)
	}
	if usages[0].CacheCreationInputTokens == 0 || usages[1].CacheReadInputTokens != usages[0].CacheCreationInputTokens {
		t.Errorf("cache usage: first %+v, second %+v", usages[0], usages[1])
	}
	resp, err := u.Messages(context.Background(), request(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.CacheReadInputTokens != usages[0].CacheCreationInputTokens {
		t.Errorf("Messages usage %+v", resp.Usage)
	}
}

func TestConverseGuardrail(t *testing.T) {
	withGuardrail := func(o *Options) { o.GuardrailID = "gr-abc123"; o.GuardrailVersion = "3" }
	u, x := converseUpstream(t, withGuardrail)
	if _, err := u.Messages(context.Background(), request(t, userText("amazon.nova-pro-v1:0", "Hi"))); err != nil {
		t.Fatal(err)
	}
	s, err := u.Stream(context.Background(), request(t, userText("meta.llama3-3-70b-instruct-v1:0", "Hi")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(t, s); err != nil {
		t.Fatal(err)
	}
	for _, c := range append(x.with("converse"), x.with("converse-stream")...) {
		var sent struct {
			GuardrailConfig map[string]string `json:"guardrailConfig"`
		}
		_ = json.Unmarshal(c.Body, &sent)
		if sent.GuardrailConfig["guardrailIdentifier"] != "gr-abc123" || sent.GuardrailConfig["guardrailVersion"] != "3" {
			t.Errorf("%s: guardrailConfig %v", c.Path, sent.GuardrailConfig)
		}
	}
	if _, err := u.Messages(context.Background(), request(t, userText("claude-sonnet-4-5", "Hi"))); err != nil {
		t.Fatal(err)
	}
	inv := x.with("invoke")
	if len(inv) != 1 || inv[0].Header.Get("X-Amzn-Bedrock-GuardrailIdentifier") != "gr-abc123" || inv[0].Header.Get("X-Amzn-Bedrock-GuardrailVersion") != "3" {
		t.Errorf("InvokeModel guardrail headers: %+v", inv)
	}

	draft, x := converseUpstream(t, func(o *Options) { o.GuardrailID = "gr-x" })
	if _, err := draft.Messages(context.Background(), request(t, userText("amazon.nova-pro-v1:0", "Hi"))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(x.with("converse")[0].Body, []byte(`"guardrailVersion":"DRAFT"`)) {
		t.Errorf("version without GuardrailVersion: %s", x.with("converse")[0].Body)
	}
}

func TestConverseErrors(t *testing.T) {
	for _, tc := range converseCases[:2] {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := converseUpstream(t, tc.opts)
			_, err := u.Messages(context.Background(), request(t, userText(tc.model, "Hi [[throttle]] [[retry-after=2]]")))
			var ce *claudebridge.Error
			if !errors.As(err, &ce) || ce.Code != claudebridge.ERATELIMIT || ce.Status != 429 || ce.RetryAfter != 2*time.Second {
				t.Errorf("Messages throttled: %+v", err)
			}
			_, err = u.Stream(context.Background(), request(t, userText(tc.model, "Hi [[overloaded]]")))
			if !errors.As(err, &ce) || ce.Code != claudebridge.EOVERLOADED || ce.Status != 503 {
				t.Errorf("Stream overloaded: %+v", err)
			}
			for _, f := range []struct{ directive, code string }{
				{"[[stream-error=3]]", claudebridge.EINTERNAL},
				{"[[cut=3]]", claudebridge.EINTERNAL},
			} {
				s, err := u.Stream(context.Background(), request(t, userText(tc.model, "Hello "+f.directive)))
				if err != nil {
					t.Fatalf("%s: %v", f.directive, err)
				}
				events, err := collect(t, s)
				if !errors.As(err, &ce) || ce.Code != f.code {
					t.Errorf("%s: err %v, want %s", f.directive, err, f.code)
				}
				if len(events) == 0 || events[0].Type != "message_start" {
					t.Errorf("%s: events before the failure: %d", f.directive, len(events))
				}
				for _, ev := range events {
					if ev.Type == "message_stop" || ev.Type == "message_delta" {
						t.Errorf("%s: %s before the failure", f.directive, ev.Type)
					}
				}
			}
		})
	}
}

func TestConverseExceptionFrames(t *testing.T) {
	for _, tc := range []struct{ kind, code string }{
		{"throttlingException", claudebridge.ERATELIMIT},
		{"serviceUnavailableException", claudebridge.EOVERLOADED},
		{"modelTimeoutException", claudebridge.ETIMEOUT},
		{"validationException", claudebridge.EINVALID},
		{"modelStreamErrorException", claudebridge.EINTERNAL},
		{"somethingNewException", claudebridge.EINTERNAL},
	} {
		err := exceptionError(tc.kind, []byte(`{"message":"what happened"}`))
		var ce *claudebridge.Error
		if !errors.As(err, &ce) || ce.Code != tc.code || ce.Message != "what happened" {
			t.Errorf("%s: %+v, want %s", tc.kind, err, tc.code)
		}
	}
	// The status the model answered with says what a model stream error is.
	for status, code := range map[int]string{529: claudebridge.EOVERLOADED, 429: claudebridge.ERATELIMIT, 400: claudebridge.EINVALID, 500: claudebridge.EINTERNAL} {
		err := exceptionError("modelStreamErrorException", []byte(`{"message":"what happened","originalStatusCode":`+strconv.Itoa(status)+`,"originalMessage":"x"}`))
		var ce *claudebridge.Error
		if !errors.As(err, &ce) || ce.Code != code || ce.Message != "what happened" {
			t.Errorf("originalStatusCode %d: %+v, want %s", status, err, code)
		}
	}
}

func TestConverseRefusesWhatItCannotSay(t *testing.T) {
	u, x := converseUpstream(t, nil)
	// top_k goes to additionalModelRequestFields, which Nova refuses: the
	// client gets a 400, not a silently different request.
	body := `{"model":"amazon.nova-pro-v1:0","max_tokens":50,"top_k":5,"messages":[{"role":"user","content":"Hi"}]}`
	_, err := u.Messages(context.Background(), request(t, body))
	var ce *claudebridge.Error
	if !errors.As(err, &ce) || ce.Code != claudebridge.EINVALID || !strings.Contains(ce.Message, "top_k") {
		t.Errorf("top_k to Nova: %v", err)
	}
	// A block the translation cannot carry fails before any call.
	before := len(x.with("converse"))
	body = `{"model":"amazon.nova-pro-v1:0","max_tokens":50,"messages":[{"role":"user","content":[{"type":"no_such_block"}]}]}`
	_, err = u.Messages(context.Background(), request(t, body))
	if !errors.As(err, &ce) || ce.Code != claudebridge.EINVALID {
		t.Errorf("unknown block: %v", err)
	}
	if len(x.with("converse")) != before {
		t.Error("an untranslatable request was sent")
	}
	// Betas mean nothing to Nova: they are not sent.
	r := request(t, userText("amazon.nova-pro-v1:0", "Hi"), "interleaved-thinking-2025-05-14")
	if _, err := u.Messages(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if last := x.with("converse"); bytes.Contains(last[len(last)-1].Body, []byte("anthropic_beta")) {
		t.Errorf("betas sent to Nova: %s", last[len(last)-1].Body)
	}
}

func TestConverseSendsBetasToClaude(t *testing.T) {
	u, x := converseUpstream(t, converseAPI)
	const unknown = "made-up-feature-2099-01-01"
	r := request(t, userText("claude-opus-4-8", "Hello"), "interleaved-thinking-2025-05-14", unknown)
	if _, err := u.Messages(context.Background(), r); err != nil {
		t.Fatalf("a refused beta flag failed the call: %v", err)
	}
	calls := x.with("converse")
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2 (refused, then without the unknown flag)", len(calls))
	}
	var sent struct {
		Additional struct {
			Betas []string `json:"anthropic_beta"`
		} `json:"additionalModelRequestFields"`
	}
	_ = json.Unmarshal(calls[1].Body, &sent)
	if strings.Join(sent.Additional.Betas, ",") != "interleaved-thinking-2025-05-14" {
		t.Errorf("second call betas %v", sent.Additional.Betas)
	}
}

// TestEmulatorInvokeRefusesOtherModels: InvokeModel with Anthropic's body
// to a model of another provider gets Bedrock's 400, which is why such
// models go through Converse.
func TestEmulatorInvokeRefusesOtherModels(t *testing.T) {
	u, _ := converseUpstream(t, nil)
	body := invokeBody(request(t, userText("amazon.nova-pro-v1:0", "Hi")), nil)
	_, err := u.runtime.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("amazon.nova-pro-v1:0"), Body: body})
	if errorCode(err) != "ValidationException" || !strings.Contains(err.Error(), "extraneous key [anthropic_version]") {
		t.Errorf("InvokeModel to Nova: %v", err)
	}
}

func TestUsesConverse(t *testing.T) {
	claude := target{Invoke: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", Base: "anthropic.claude-sonnet-4-5-20250929-v1:0"}
	nova := target{Invoke: "amazon.nova-pro-v1:0", Base: "amazon.nova-pro-v1:0"}
	unknown := target{Invoke: "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/x"}
	for _, tc := range []struct {
		api     string
		byModel map[string]string
		model   string
		t       target
		want    bool
	}{
		{"", nil, "claude-sonnet-4-5", claude, false},
		{APIConverse, nil, "claude-sonnet-4-5", claude, true},
		{APIInvoke, map[string]string{"claude-sonnet-4-5": APIConverse}, "claude-sonnet-4-5", claude, true},
		{APIConverse, map[string]string{"anthropic.claude-sonnet-4-5-20250929-v1:0": APIInvoke}, "claude-sonnet-4-5", claude, false},
		{APIConverse, map[string]string{"claude-opus-4-6": APIInvoke}, "claude-sonnet-4-5", claude, true},
		{"", nil, "amazon.nova-pro-v1:0", nova, true},
		{"", map[string]string{"amazon.nova-pro-v1:0": APIInvoke}, "amazon.nova-pro-v1:0", nova, true},
		{"", nil, unknown.Invoke, unknown, false},
		{APIConverse, nil, unknown.Invoke, unknown, true},
	} {
		u := &Upstream{opts: Options{API: tc.api, APIByModel: tc.byModel}}
		if got := u.usesConverse(tc.model, tc.t); got != tc.want {
			t.Errorf("API %q overrides %v model %s: %v, want %v", tc.api, tc.byModel, tc.model, got, tc.want)
		}
	}
}

// BenchmarkStreamInvokeVsConverse streams the same answer through each API
// from the emulator, with 50 streams at a time (b.SetParallelism).
func BenchmarkStreamInvokeVsConverse(b *testing.B) {
	body := userText("claude-sonnet-4-5", "Tell me a story [[words=200]]")
	for _, api := range []string{APIInvoke, APIConverse} {
		b.Run(api, func(b *testing.B) {
			u, _ := converseUpstream(b, func(o *Options) { o.API = api })
			var fields map[string]json.RawMessage
			_ = json.Unmarshal([]byte(body), &fields)
			b.SetParallelism(max(1, 50/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := &claudebridge.Request{Model: "claude-sonnet-4-5", Body: []byte(body), Fields: fields}
					s, err := u.Stream(context.Background(), r)
					if err != nil {
						b.Error(err)
						return
					}
					n := 0
					for {
						_, err := s.Next()
						if err == io.EOF {
							break
						}
						if err != nil {
							b.Error(err)
							break
						}
						n++
					}
					s.Close()
					if n < 5 {
						b.Errorf("%d events", n)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "streams/s")
		})
	}
}

// TestConverseFoldsSystemTurns: Converse has no role "system" in messages;
// such turns go into its system list.
func TestConverseFoldsSystemTurns(t *testing.T) {
	u, x := converseUpstream(t, nil)
	body := `{"model":"amazon.nova-pro-v1:0","max_tokens":50,"messages":[{"role":"user","content":"Hi"},{"role":"system","content":"Be brief."}]}`
	if _, err := u.Messages(context.Background(), request(t, body)); err != nil {
		t.Fatal(err)
	}
	calls := x.with("converse")
	sent := calls[len(calls)-1].Body
	if gjson.GetBytes(sent, "system.0.text").String() != "Be brief." || gjson.GetBytes(sent, "messages.#").Int() != 1 {
		t.Errorf("sent %s", sent)
	}
}

func TestConverseStopSequenceIsAskedForAndReadAtThePathOfEachOperation(t *testing.T) {
	u, x := converseUpstream(t, converseAPI)
	body := `{"model":"claude-sonnet-4-5","max_tokens":300,"stop_sequences":["ZEBRA"],"messages":[{"role":"user","content":"Quote ZEBRA please"}]}`
	resp, err := u.Messages(context.Background(), request(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gjson.GetBytes(resp.Body, "stop_sequence").String(), "ZEBRA"; got != want {
		t.Errorf("Converse stop_sequence %q, want %q", got, want)
	}
	if got, want := gjson.GetBytes(x.with("converse")[0].Body, "additionalModelResponseFieldPaths").Raw, `["/stop_sequence"]`; got != want {
		t.Errorf("Converse asked for %s, want %s", got, want)
	}

	s, err := u.Stream(context.Background(), request(t, body))
	if err != nil {
		t.Fatal(err)
	}
	events, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	var seq string
	for _, e := range events {
		if e.Type == "message_delta" {
			seq = gjson.GetBytes(e.Data, "delta.stop_sequence").String()
		}
	}
	if got, want := seq, "ZEBRA"; got != want {
		t.Errorf("ConverseStream stop_sequence %q, want %q", got, want)
	}
	if got, want := gjson.GetBytes(x.with("converse-stream")[0].Body, "additionalModelResponseFieldPaths").Raw, `["/delta/stop_sequence"]`; got != want {
		t.Errorf("ConverseStream asked for %s, want %s", got, want)
	}
}

func TestConverseCacheWritesKeepTheirLifetime(t *testing.T) {
	u, _ := converseUpstream(t, converseAPI)
	long := strings.Repeat("A long and stable system prompt cached for an hour "+strconv.FormatInt(time.Now().UnixNano(), 10)+". ", 300)
	sys, _ := json.Marshal(long)
	body := `{"model":"claude-sonnet-4-5","max_tokens":100,"system":[{"type":"text","text":` + string(sys) + `,"cache_control":{"type":"ephemeral","ttl":"1h"}}],` +
		`"messages":[{"role":"user","content":"Hi"}]}`
	resp, err := u.Messages(context.Background(), request(t, body))
	if err != nil {
		t.Fatal(err)
	}
	written := gjson.GetBytes(resp.Body, "usage.cache_creation_input_tokens").Int()
	if written == 0 {
		t.Fatalf("no cache writes: %s", gjson.GetBytes(resp.Body, "usage").Raw)
	}
	if got, want := gjson.GetBytes(resp.Body, "usage.cache_creation.ephemeral_1h_input_tokens").Int(), written; got != want {
		t.Errorf("1h cache writes %d, want %d", got, want)
	}
	if got, want := gjson.GetBytes(resp.Body, "usage.cache_creation.ephemeral_5m_input_tokens").Int(), int64(0); got != want {
		t.Errorf("5m cache writes %d, want %d", got, want)
	}
}
