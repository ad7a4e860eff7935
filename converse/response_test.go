package converse

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	claudebridge "github.com/claudebridge/claudebridge"
)

func TestResponseFromMessages(t *testing.T) {
	msg := `{"id":"msg_01","type":"message","role":"assistant","model":"claude-x",
		"content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"Hi","citations":null},
		{"type":"tool_use","id":"tu","name":"f","input":{"a":1}}],
		"stop_reason":"tool_use","stop_sequence":null,
		"usage":{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":3,"cache_read_input_tokens":7}}`
	got, err := ResponseFromMessages([]byte(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, got, `{"output":{"message":{"role":"assistant","content":[
		{"reasoningContent":{"reasoningText":{"text":"t","signature":"s"}}},{"text":"Hi"},
		{"toolUse":{"toolUseId":"tu","name":"f","input":{"a":1}}}]}},
		"stopReason":"tool_use",
		"usage":{"inputTokens":10,"outputTokens":5,"totalTokens":25,"cacheReadInputTokens":7,"cacheWriteInputTokens":3},
		"metrics":{"latencyMs":0}}`)
}

func TestResponseToMessages(t *testing.T) {
	body := `{"output":{"message":{"role":"assistant","content":[{"text":"Done"},
		{"reasoningContent":{"redactedContent":"` + b64("opaque") + `"}}]}},
		"stopReason":"stop_sequence","additionalModelResponseFields":{"stop_sequence":"END"},
		"usage":{"inputTokens":4,"outputTokens":2,"totalTokens":6},"metrics":{"latencyMs":12}}`
	got, err := ResponseToMessages([]byte(body), "claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(got, &m)
	id, _ := m["id"].(string)
	if !strings.HasPrefix(id, "msg_bdrk_01") || len(id) != len("msg_bdrk_01")+22 {
		t.Errorf("id %q is not a msg_bdrk_01 id", id)
	}
	delete(m, "id")
	rest, _ := json.Marshal(m)
	jsonEqual(t, rest, `{"type":"message","role":"assistant","model":"claude-sonnet-4-5",
		"content":[{"type":"text","text":"Done"},{"type":"redacted_thinking","data":"opaque"}],
		"stop_reason":"stop_sequence","stop_sequence":"END",
		"usage":{"input_tokens":4,"output_tokens":2,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`)

	again, _ := ResponseToMessages([]byte(body), "claude-sonnet-4-5")
	other, _ := ResponseToMessages([]byte(strings.Replace(body, "Done", "Done!", 1)), "claude-sonnet-4-5")
	if idOf(t, again) != id || idOf(t, other) == id {
		t.Errorf("ids are not a function of the body: %s %s %s", id, idOf(t, again), idOf(t, other))
	}
}

func idOf(t *testing.T, b []byte) string {
	var m struct{ ID string }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.ID
}

func TestStopReasons(t *testing.T) {
	toMessages := map[string]string{
		"end_turn":                      "end_turn",
		"tool_use":                      "tool_use",
		"max_tokens":                    "max_tokens",
		"stop_sequence":                 "stop_sequence",
		"guardrail_intervened":          "refusal",
		"content_filtered":              "refusal",
		"model_context_window_exceeded": "model_context_window_exceeded",
		"a_reason_added_later":          "end_turn",
	}
	for conv, want := range toMessages {
		body := `{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"` + conv + `","usage":{}}`
		got, err := ResponseToMessages([]byte(body), "m")
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			StopReason string `json:"stop_reason"`
		}
		_ = json.Unmarshal(got, &m)
		if m.StopReason != want {
			t.Errorf("Converse %s became %s, want %s", conv, m.StopReason, want)
		}
	}
	fromMessages := map[string]string{
		"end_turn": "end_turn", "tool_use": "tool_use", "max_tokens": "max_tokens",
		"stop_sequence": "stop_sequence", "refusal": "content_filtered", "pause_turn": "end_turn",
		"model_context_window_exceeded": "model_context_window_exceeded",
	}
	for msg, want := range fromMessages {
		got, err := ResponseFromMessages([]byte(`{"content":[],"stop_reason":"`+msg+`","usage":{}}`), nil)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ StopReason string }
		_ = json.Unmarshal(got, &m)
		if m.StopReason != want {
			t.Errorf("Messages %s became %s, want %s", msg, m.StopReason, want)
		}
	}
}

func TestMalformedStopReasonsAreRetryableErrors(t *testing.T) {
	for _, conv := range []string{"malformed_model_output", "malformed_tool_use"} {
		body := `{"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":"` + conv + `","usage":{}}`
		_, err := ResponseToMessages([]byte(body), "m")
		var e *claudebridge.Error
		if !errors.As(err, &e) {
			t.Fatalf("%s gave %v, want an error", conv, err)
		}
		if got, want := e.Code, claudebridge.EINTERNAL; got != want {
			t.Errorf("%s: code %s, want %s", conv, got, want)
		}
		if got, want := e.Status, 502; got != want {
			t.Errorf("%s: status %d, want %d", conv, got, want)
		}
		if !strings.Contains(e.Message, conv) {
			t.Errorf("%s: message %q does not name the reason", conv, e.Message)
		}
		s := &StreamToMessages{}
		_, _ = s.Event("messageStart", []byte(`{"role":"assistant"}`))
		if _, err := s.Event("messageStop", []byte(`{"stopReason":"`+conv+`"}`)); claudebridge.ErrorCode(err) != claudebridge.EINTERNAL {
			t.Errorf("a stream stopped with %s gave %v, want an internal error", conv, err)
		}
	}
}

// TestResponseRoundTrip: a Messages response through Converse and back keeps
// its content, stop reason, stop sequence and usage.
func TestResponseRoundTrip(t *testing.T) {
	msg := `{"id":"x","type":"message","role":"assistant","model":"m",
		"content":[{"type":"thinking","thinking":"a","signature":"b"},{"type":"redacted_thinking","data":"zz"},
		{"type":"text","text":"hello"},{"type":"tool_use","id":"t","name":"n","input":{"k":[1]}}],
		"stop_reason":"stop_sequence","stop_sequence":"STOP",
		"usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":3,"cache_read_input_tokens":4}}`
	conv, err := ResponseFromMessages([]byte(msg), []string{"/stop_sequence"})
	if err != nil {
		t.Fatal(err)
	}
	back, err := ResponseToMessages(conv, "m")
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	_ = json.Unmarshal([]byte(msg), &a)
	_ = json.Unmarshal(back, &b)
	delete(a, "id")
	delete(b, "id")
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	jsonEqual(t, bb, string(ab))
}
