package sim

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

func fieldsOf(t testing.TB, body string) map[string]json.RawMessage {
	t.Helper()
	var f map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("bad test body %s: %v", body, err)
	}
	return f
}

const sonnet = "claude-sonnet-4-5-20250929"

func TestAnswerValidation(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"no max_tokens", `{"messages":[{"role":"user","content":"hi"}]}`, "max_tokens: Field required"},
		{"max_tokens zero", `{"max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens: Input should be greater than or equal to 1"},
		{"max_tokens text", `{"max_tokens":"ten","messages":[{"role":"user","content":"hi"}]}`, "max_tokens: Input should be a valid integer"},
		{"max_tokens over model", `{"max_tokens":100000,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens: 100000 > 64000"},
		{"no messages", `{"max_tokens":10}`, "messages: Field required"},
		{"empty messages", `{"max_tokens":10,"messages":[]}`, "messages: at least one message is required"},
		{"bad role", `{"max_tokens":10,"messages":[{"role":"system","content":"hi"}]}`, "messages.0.role: Input should be 'user' or 'assistant'"},
		{"no content", `{"max_tokens":10,"messages":[{"role":"user"}]}`, "messages.0.content: Field required"},
		{"empty content", `{"max_tokens":10,"messages":[{"role":"user","content":""}]}`, "messages.0: all messages must have non-empty content"},
		{"empty text block", `{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`, "text content blocks must be non-empty"},
		{"unknown block", `{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"video"}]}]}`, "messages.0.content.0: Input tag 'video'"},
		{"block without type", `{"max_tokens":10,"messages":[{"role":"user","content":[{"text":"x"}]}]}`, "messages.0.content.0.type: Field required"},
		{"trailing whitespace prefill", `{"max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Sure "}]}`, "final assistant content cannot end with trailing whitespace"},
		{"extra field", `{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"frequency_penalty":1}`, "frequency_penalty: Extra inputs are not permitted"},
		{"temperature", `{"max_tokens":10,"temperature":1.5,"messages":[{"role":"user","content":"hi"}]}`, "temperature: Input should be less than or equal to 1"},
		{"tool without schema", `{"max_tokens":10,"tools":[{"name":"x"}],"messages":[{"role":"user","content":"hi"}]}`, "tools.0.custom.input_schema: Field required"},
		{"tool bad name", `{"max_tokens":10,"tools":[{"name":"a b","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]}`, "tools.0.custom.name: String should match pattern"},
		{"tool_choice unknown tool", `{"max_tokens":10,"tools":[{"name":"x","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"y"},"messages":[{"role":"user","content":"hi"}]}`, "tool_choice: Tool 'y' not found"},
		{"tool_use without result", `{"max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"x","input":{}}]},{"role":"user","content":"next"}]}`, "messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1"},
		{"budget too small", `{"max_tokens":5000,"thinking":{"type":"enabled","budget_tokens":100},"messages":[{"role":"user","content":"hi"}]}`, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"},
		{"budget over max_tokens", `{"max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"user","content":"hi"}]}`, "`max_tokens` must be greater than `thinking.budget_tokens`"},
		{"thinking temperature", `{"max_tokens":4000,"temperature":0.5,"thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"user","content":"hi"}]}`, "`temperature` may only be set to 1 when thinking is enabled"},
		{"bad signature", `{"max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":""},{"type":"text","text":"y"}]},{"role":"user","content":"z"}]}`, "Invalid `signature` in `thinking` block"},
		{"image media type", `{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"AAAA"}}]}]}`, "media_type: Input should be 'image/jpeg'"},
		{"stop sequence blank", `{"max_tokens":10,"stop_sequences":[" "],"messages":[{"role":"user","content":"hi"}]}`, "stop_sequences: each stop sequence must contain non-whitespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Answer(sonnet, fieldsOf(t, tc.body))
			if claudebridge.ErrorCode(err) != claudebridge.EINVALID || !strings.Contains(claudebridge.ErrorMessage(err), tc.want) {
				t.Fatalf("got %v, want EINVALID containing %q", err, tc.want)
			}
		})
	}
}

func TestAnswerAcceptsBedrockBody(t *testing.T) {
	body := `{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["interleaved-thinking-2025-05-14"],"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`
	r, err := Answer("us.anthropic.claude-sonnet-4-5-20250929-v1:0", fieldsOf(t, body))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Message(), &m); err != nil || m["model"] != "us.anthropic.claude-sonnet-4-5-20250929-v1:0" {
		t.Fatalf("message %s: %v", r.Message(), err)
	}
	// The Bedrock id still bounds max_tokens through the catalog.
	body = strings.Replace(body, `"max_tokens":50`, `"max_tokens":640000`, 1)
	if _, err := Answer("anthropic.claude-sonnet-4-5-20250929-v1:0", fieldsOf(t, body)); err == nil {
		t.Error("max_tokens over the model's limit accepted")
	}
}

func TestAnswerDeterministic(t *testing.T) {
	body := `{"max_tokens":3000,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"Explain tides [[words=25]]"}]}`
	a, err := Answer(sonnet, fieldsOf(t, body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Answer(sonnet, fieldsOf(t, strings.Replace(body, `"stream":true,`, "", 1)))
	if !bytes.Equal(a.Message(), b.Message()) {
		t.Fatalf("same request, different answers:\n%s\n%s", a.Message(), b.Message())
	}
	c, _ := Answer(sonnet, fieldsOf(t, strings.Replace(body, "tides", "waves", 1)))
	if bytes.Equal(a.Message(), c.Message()) {
		t.Fatal("different requests, same answer")
	}
	if a.Directives.Words != 25 {
		t.Errorf("directives %+v", a.Directives)
	}
}

// streamed rebuilds the complete message from the reply's events, the way a
// client accumulates a stream.
func streamed(t *testing.T, r *Reply) map[string]any {
	t.Helper()
	var msg map[string]any
	var blocks []map[string]any
	partial := map[int]string{}
	for _, ev := range r.Events() {
		var e map[string]any
		if err := json.Unmarshal(ev.Data, &e); err != nil || e["type"] != ev.Type {
			t.Fatalf("event %s: %s", ev.Type, ev.Data)
		}
		switch ev.Type {
		case "message_start":
			msg = e["message"].(map[string]any)
		case "content_block_start":
			blocks = append(blocks, e["content_block"].(map[string]any))
		case "content_block_delta":
			i := int(e["index"].(float64))
			d := e["delta"].(map[string]any)
			switch d["type"] {
			case "text_delta":
				blocks[i]["text"] = blocks[i]["text"].(string) + d["text"].(string)
			case "thinking_delta":
				blocks[i]["thinking"] = blocks[i]["thinking"].(string) + d["thinking"].(string)
			case "signature_delta":
				blocks[i]["signature"] = d["signature"]
			case "input_json_delta":
				partial[i] += d["partial_json"].(string)
			}
		case "message_delta":
			d := e["delta"].(map[string]any)
			msg["stop_reason"], msg["stop_sequence"] = d["stop_reason"], d["stop_sequence"]
			msg["usage"].(map[string]any)["output_tokens"] = e["usage"].(map[string]any)["output_tokens"]
		}
	}
	for i, p := range partial {
		var input any
		if err := json.Unmarshal([]byte(p), &input); err != nil {
			t.Fatalf("partial_json %q: %v", p, err)
		}
		blocks[i]["input"] = input
	}
	out := make([]any, len(blocks))
	for i := range blocks {
		out[i] = blocks[i]
	}
	msg["content"] = out
	return msg
}

func TestEventsRebuildMessage(t *testing.T) {
	for _, body := range []string{
		`{"max_tokens":300,"messages":[{"role":"user","content":"A plain question with “quotes” and ünïcode"}]}`,
		`{"max_tokens":3000,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"Think [[redacted]]"}]}`,
		`{"max_tokens":300,"tools":[{"name":"search","input_schema":{"type":"object","properties":{"q":{"type":"string"},"n":{"type":"integer"}},"required":["q","n"]}}],"messages":[{"role":"user","content":"please search for cats"}]}`,
	} {
		r, err := Answer(sonnet, fieldsOf(t, body))
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := json.Unmarshal(r.Message(), &want); err != nil {
			t.Fatal(err)
		}
		got := streamed(t, r)
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if !bytes.Equal(g, w) {
			t.Errorf("events rebuild\n%s\nnot\n%s", g, w)
		}
		if last := r.Events()[len(r.Events())-1]; last.Type != "message_stop" {
			t.Errorf("last event %s", last.Type)
		}
	}
}

func TestAnswerLimits(t *testing.T) {
	r, err := Answer(sonnet, fieldsOf(t, `{"max_tokens":5,"messages":[{"role":"user","content":"Tell me a long story"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.stopReason != "max_tokens" || r.Usage().OutputTokens != 5 || TextTokens(r.blocks[0].Text) > 5 {
		t.Errorf("max_tokens: %s", r.Message())
	}
	r, err = Answer(sonnet, fieldsOf(t, `{"max_tokens":500,"stop_sequences":["STOP"],"messages":[{"role":"user","content":"say STOP now"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.stopReason != "stop_sequence" || r.stopSequence == nil || *r.stopSequence != "STOP" || strings.Contains(r.blocks[0].Text, "STOP") {
		t.Errorf("stop sequence: %s", r.Message())
	}
}

func TestAnswerCacheTokens(t *testing.T) {
	system := strings.Repeat("Cached instructions. ", 100) + time.Now().String()
	body := `{"max_tokens":50,"system":[{"type":"text","text":` + string(MustJSON(system)) + `,"cache_control":{"type":"ephemeral","ttl":"1h"}}],"messages":[{"role":"user","content":"%s"}]}`
	first, err := Answer(sonnet, fieldsOf(t, strings.Replace(body, "%s", "one", 1)))
	if err != nil {
		t.Fatal(err)
	}
	second, _ := Answer(sonnet, fieldsOf(t, strings.Replace(body, "%s", "two", 1)))
	other, _ := Answer("claude-opus-4-6", fieldsOf(t, strings.Replace(body, "%s", "two", 1)))
	u1, u2, u3 := first.Usage(), second.Usage(), other.Usage()
	if u1.CacheCreationInputTokens == 0 || u1.CacheReadInputTokens != 0 {
		t.Errorf("first %+v", u1)
	}
	if u2.CacheReadInputTokens != u1.CacheCreationInputTokens || u2.CacheCreationInputTokens != 0 || u2.InputTokens != u1.InputTokens {
		t.Errorf("second %+v after %+v", u2, u1)
	}
	if u3.CacheReadInputTokens != 0 {
		t.Errorf("another model read the cache: %+v", u3)
	}
	if !strings.Contains(string(first.Message()), `"ephemeral_1h_input_tokens":`+itoa(u1.CacheCreationInputTokens)) {
		t.Errorf("1h ttl not reported: %s", first.Message())
	}
}

func itoa(n int) string { return string(MustJSON(n)) }

func TestParseDirectives(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Directives
	}{
		{"plain", Directives{}},
		{"[[throttle*2]]", Directives{Fault: "throttle", Times: 2}},
		{"x [[stream-error=3]] y", Directives{Fault: "stream-error", Cut: 3}},
		{"[[cut=4*1]][[slow=25]][[wait=100]][[retry-after=3]][[words=12]][[redacted]]", Directives{Fault: "cut", Cut: 4, Times: 1, Delay: 25 * time.Millisecond, FirstDelay: 100 * time.Millisecond, RetryAfter: 3, Words: 12, Redacted: true}},
		{"[[nonsense]] [[THROTTLE]] [throttle]", Directives{}},
		{"[[slow=99999999999999999999]]", Directives{Delay: maxDirectiveNumber * time.Millisecond}},
	} {
		if got := ParseDirectives(tc.text); got != tc.want {
			t.Errorf("%q: got %+v, want %+v", tc.text, got, tc.want)
		}
	}
}

func TestAnswerDirectivesFromLastUserMessage(t *testing.T) {
	body := `{"max_tokens":50,"messages":[{"role":"user","content":"[[throttle]] old"},{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"text","text":"new [[overloaded*3]]"}]}]}`
	r, err := Answer(sonnet, fieldsOf(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Directives.Fault != "overloaded" || r.Directives.Times != 3 {
		t.Errorf("directives %+v", r.Directives)
	}
	if strings.Contains(string(r.Message()), "[[") {
		t.Errorf("directives quoted in the answer: %s", r.Message())
	}
}

func TestFaultCounter(t *testing.T) {
	var c FaultCounter
	d := Directives{Fault: "throttle", Times: 3}
	var wg sync.WaitGroup
	var mu sync.Mutex
	fired := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.Fire("k", d) {
				mu.Lock()
				fired++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fired != 3 {
		t.Errorf("fired %d times, want 3", fired)
	}
	if !c.Fire("other", d) {
		t.Error("another key shares the count")
	}
	if c.Fire("k", Directives{}) {
		t.Error("no fault fired")
	}
	for i := range 5 {
		if !c.Fire("k", Directives{Fault: "error"}) {
			t.Errorf("an unlimited fault stopped firing at call %d", i)
		}
	}
}

func TestCountTokensMatchesAnswer(t *testing.T) {
	body := `{"system":"Be brief.","tools":[{"name":"x","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"How many tokens is this?"}]}`
	n, err := CountTokens(sonnet, fieldsOf(t, body))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Answer(sonnet, fieldsOf(t, strings.Replace(body, "{", `{"max_tokens":20,`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if n != r.Usage().InputTokens {
		t.Errorf("count_tokens %d, messages %d", n, r.Usage().InputTokens)
	}
	if _, err := CountTokens(sonnet, fieldsOf(t, `{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}`)); err == nil {
		t.Error("count_tokens accepted max_tokens")
	}
}

func TestLookupModel(t *testing.T) {
	for id, want := range map[string]string{
		"claude-sonnet-4-5":                              "claude-sonnet-4-5-20250929",
		"claude-opus-4-6":                                "claude-opus-4-6",
		"anthropic.claude-haiku-4-5-20251001-v1:0":       "claude-haiku-4-5-20251001",
		"global.anthropic.claude-opus-4-5-20251101-v1:0": "claude-opus-4-5-20251101",
		"claude-3-opus":                                  "",
	} {
		m, ok := LookupModel(id)
		if m.ID != want || ok != (want != "") {
			t.Errorf("%s: got %q %v, want %q", id, m.ID, ok, want)
		}
	}
	for i := 1; i < len(Catalog); i++ {
		if Catalog[i].CreatedAt.After(Catalog[i-1].CreatedAt) {
			t.Errorf("catalog not newest first at %s", Catalog[i].ID)
		}
	}
}

func FuzzAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"max_tokens":100,"messages":[{"role":"user","content":"hi [[words=3]]"}]}`,
		`{"max_tokens":3000,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"x"}]}`,
		`{"max_tokens":50,"tools":[{"name":"t","input_schema":{"type":"object","properties":{"a":{"type":"array","items":{"$ref":"#"}}}}}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"use t"}]}`,
		`{"max_tokens":5,"stop_sequences":["a"],"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":""}}]}]}`,
		`{"messages":null}`, `[]`, `{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) != nil {
			return
		}
		r, err := Answer(sonnet, fields)
		if err != nil {
			if claudebridge.ErrorCode(err) != claudebridge.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if !json.Valid(r.Message()) {
			t.Fatalf("invalid message JSON %s", r.Message())
		}
		for _, ev := range r.Events() {
			if !json.Valid(ev.Data) {
				t.Fatalf("invalid %s event %s", ev.Type, ev.Data)
			}
		}
		_, _ = CountTokens(sonnet, fields)
	})
}
