package converse

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	claudebridge "github.com/claudebridge/claudebridge"
)

// step is one event of a stream in either format: a type and its JSON.
type step struct {
	Type string
	JSON string
}

// runToMessages feeds a ConverseStream sequence to a StreamToMessages and
// returns every Messages event it made, Finish's included.
func runToMessages(t *testing.T, in []step) []claudebridge.Event {
	t.Helper()
	s := &StreamToMessages{Model: "claude-test", ID: "msg_test"}
	var out []claudebridge.Event
	for _, e := range in {
		evs, err := s.Event(e.Type, []byte(e.JSON))
		if err != nil {
			t.Fatalf("%s: %v", e.Type, err)
		}
		out = append(out, evs...)
	}
	evs, err := s.Finish()
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	return append(out, evs...)
}

func sameSteps(t *testing.T, gotTypes []string, gotData [][]byte, want []step) {
	t.Helper()
	if len(gotTypes) != len(want) {
		for i := range gotTypes {
			t.Logf("got %s %s", gotTypes[i], gotData[i])
		}
		t.Fatalf("got %d events, want %d", len(gotTypes), len(want))
	}
	for i, w := range want {
		if gotTypes[i] != w.Type || !reflect.DeepEqual(decoded(t, gotData[i]), decoded(t, []byte(w.JSON))) {
			t.Errorf("event %d:\ngot  %s %s\nwant %s %s", i, gotTypes[i], gotData[i], w.Type, w.JSON)
		}
	}
}

func messagesSteps(evs []claudebridge.Event) ([]string, [][]byte) {
	var types []string
	var data [][]byte
	for _, e := range evs {
		types, data = append(types, e.Type), append(data, e.Data)
	}
	return types, data
}

const messageStartJSON = `{"type":"message_start","message":{"id":"msg_test","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}`

// The Converse sides below look like what Bedrock sends, "p" padding included.
var streamCases = []struct {
	name     string
	converse []step
	messages []step
}{
	{
		name: "text",
		converse: []step{
			{"messageStart", `{"p":"abcdefgh","role":"assistant"}`},
			{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hel"},"p":"abcd"}`},
			{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"lo"},"p":"ab"}`},
			{"contentBlockStop", `{"contentBlockIndex":0,"p":"abcdefghijklm"}`},
			{"messageStop", `{"p":"abc","stopReason":"end_turn"}`},
			{"metadata", `{"metrics":{"latencyMs":321},"p":"a","usage":{"inputTokens":12,"outputTokens":3,"totalTokens":15}}`},
		},
		messages: []step{
			{"message_start", messageStartJSON},
			{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}`},
			{"content_block_stop", `{"type":"content_block_stop","index":0}`},
			{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":12,"output_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`},
			{"message_stop", `{"type":"message_stop"}`},
		},
	},
	{
		name: "tool use after text",
		converse: []step{
			{"messageStart", `{"role":"assistant"}`},
			{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Checking."}}`},
			{"contentBlockStop", `{"contentBlockIndex":0}`},
			{"contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_abc","name":"get_weather"}}}`},
			{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":""}}}`},
			{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\": \"Pa"}}}`},
			{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"ris\"}"}}}`},
			{"contentBlockStop", `{"contentBlockIndex":1}`},
			{"messageStop", `{"stopReason":"tool_use"}`},
			{"metadata", `{"metrics":{"latencyMs":900},"usage":{"cacheReadInputTokens":100,"cacheWriteInputTokens":20,"inputTokens":400,"outputTokens":60,"totalTokens":580}}`},
		},
		messages: []step{
			{"message_start", messageStartJSON},
			{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}}`},
			{"content_block_stop", `{"type":"content_block_stop","index":0}`},
			{"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"tooluse_abc","name":"get_weather","input":{}}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}`},
			{"content_block_stop", `{"type":"content_block_stop","index":1}`},
			{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":400,"output_tokens":60,"cache_creation_input_tokens":20,"cache_read_input_tokens":100}}`},
			{"message_stop", `{"type":"message_stop"}`},
		},
	},
	{
		name: "thinking, redacted thinking, text, stop sequence",
		converse: []step{
			{"messageStart", `{"role":"assistant"}`},
			{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Let me "}}}`},
			{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"think."}}}`},
			{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"EqQBCkYIBxgCIkB"}}}`},
			{"contentBlockStop", `{"contentBlockIndex":0}`},
			{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"reasoningContent":{"redactedContent":"` + b64("Em0KAhgB") + `"}}}`},
			{"contentBlockStop", `{"contentBlockIndex":1}`},
			{"contentBlockDelta", `{"contentBlockIndex":2,"delta":{"text":"42"}}`},
			{"contentBlockStop", `{"contentBlockIndex":2}`},
			{"messageStop", `{"stopReason":"stop_sequence","additionalModelResponseFields":{"delta":{"stop_sequence":"###"}}}`},
			{"metadata", `{"metrics":{"latencyMs":5},"usage":{"inputTokens":7,"outputTokens":30,"totalTokens":37}}`},
		},
		messages: []step{
			{"message_start", messageStartJSON},
			{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me "}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"think."}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCkYIBxgCIkB"}}`},
			{"content_block_stop", `{"type":"content_block_stop","index":0}`},
			{"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"Em0KAhgB"}}`},
			{"content_block_stop", `{"type":"content_block_stop","index":1}`},
			{"content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"42"}}`},
			{"content_block_stop", `{"type":"content_block_stop","index":2}`},
			{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"###"},"usage":{"input_tokens":7,"output_tokens":30,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`},
			{"message_stop", `{"type":"message_stop"}`},
		},
	},
}

func TestStreamToMessages(t *testing.T) {
	for _, tc := range streamCases {
		t.Run(tc.name, func(t *testing.T) {
			types, data := messagesSteps(runToMessages(t, tc.converse))
			sameSteps(t, types, data, tc.messages)
		})
	}
}

func TestStreamToMessagesHoldsTheEndForMetadata(t *testing.T) {
	s := &StreamToMessages{Model: "m", ID: "i"}
	for _, e := range []step{{"messageStart", `{"role":"assistant"}`}, {"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"x"}}`}} {
		if _, err := s.Event(e.Type, []byte(e.JSON)); err != nil {
			t.Fatal(err)
		}
	}
	// No contentBlockStop: messageStop closes the block, and holds the end.
	evs, err := s.Event("messageStop", []byte(`{"stopReason":"max_tokens"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != "content_block_stop" {
		t.Fatalf("messageStop gave %v, want only the block's stop", evs)
	}
	// The stream ends without metadata: Finish sends the held end.
	evs, err = s.Finish()
	if err != nil || len(evs) != 2 || evs[0].Type != "message_delta" || evs[1].Type != "message_stop" {
		t.Fatalf("Finish gave %v, %v", evs, err)
	}
	if evs, _ := s.Finish(); len(evs) != 0 {
		t.Errorf("a second Finish sent %d events", len(evs))
	}
}

func TestStreamToMessagesErrors(t *testing.T) {
	s := &StreamToMessages{}
	if _, err := s.Event("messageStart", []byte(`{"role":"assistant"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Finish(); claudebridge.ErrorCode(err) != claudebridge.EINTERNAL {
		t.Errorf("a stream cut before messageStop finished with %v", err)
	}
	for typ, code := range map[string]string{
		"throttlingException":         claudebridge.ERATELIMIT,
		"serviceUnavailableException": claudebridge.EOVERLOADED,
		"validationException":         claudebridge.EINVALID,
		"modelStreamErrorException":   claudebridge.EINTERNAL,
	} {
		_, err := (&StreamToMessages{}).Event(typ, []byte(`{"message":"Too many tokens"}`))
		var e *claudebridge.Error
		if !errors.As(err, &e) || e.Code != code || e.Message != "Too many tokens" {
			t.Errorf("%s gave %v, want %s with the message", typ, err, code)
		}
	}
	if _, err := (&StreamToMessages{}).Event("contentBlockDelta", []byte(`{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{"}}}`)); err == nil {
		t.Error("a toolUse delta without contentBlockStart was accepted")
	}
}

func TestStreamToMessagesMakesAnID(t *testing.T) {
	s := &StreamToMessages{Model: "m"}
	evs, _ := s.Event("messageStart", []byte(`{"role":"assistant"}`))
	var v struct{ Message struct{ ID string } }
	_ = json.Unmarshal(evs[0].Data, &v)
	if len(v.Message.ID) != len("msg_bdrk_01")+22 || v.Message.ID != s.ID {
		t.Errorf("id %q", v.Message.ID)
	}
}

// TestStreamFromMessages runs the Messages sequences above back to
// Converse: the result is the Converse sequence, less the padding and the
// latency, which a Messages stream does not carry.
func TestStreamFromMessages(t *testing.T) {
	for _, tc := range streamCases {
		t.Run(tc.name, func(t *testing.T) {
			// Bedrock returns additionalModelResponseFields when the
			// request asked for them, as these cases with one did.
			s := &StreamFromMessages{}
			for _, e := range tc.converse {
				if e.Type == "messageStop" && strings.Contains(e.JSON, "additionalModelResponseFields") {
					s.FieldPaths = []string{"/delta/stop_sequence"}
				}
			}
			var types []string
			var data [][]byte
			for _, e := range tc.messages {
				evs, err := s.Event(claudebridge.Event{Type: e.Type, Data: []byte(e.JSON)})
				if err != nil {
					t.Fatalf("%s: %v", e.Type, err)
				}
				for _, ce := range evs {
					types, data = append(types, ce.Type), append(data, ce.Payload)
				}
			}
			var want []step
			for _, e := range tc.converse {
				want = append(want, step{e.Type, normalisedConverse(t, e.JSON)})
			}
			sameSteps(t, types, data, want)
		})
	}
}

// normalisedConverse drops "p" and sets latency to 0, and fills in the usage
// counts Bedrock leaves out, as StreamFromMessages always writes them.
func normalisedConverse(t *testing.T, s string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "p")
	if u, ok := m["usage"].(map[string]any); ok {
		m["metrics"] = map[string]any{"latencyMs": 0}
		for _, k := range []string{"cacheReadInputTokens", "cacheWriteInputTokens"} {
			if _, ok := u[k]; !ok {
				u[k] = 0
			}
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestStreamFromMessagesErrorsAndUsage(t *testing.T) {
	s := &StreamFromMessages{LatencyMs: 77}
	feed := []claudebridge.Event{
		{Type: "message_start", Data: []byte(`{"type":"message_start","message":{"usage":{"input_tokens":50,"cache_read_input_tokens":5,"output_tokens":1}}}`)},
		{Type: "ping", Data: []byte(`{"type":"ping"}`)},
		{Type: "message_delta", Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null},"usage":{"output_tokens":9}}`)},
		{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)},
	}
	var last []ConverseEvent
	for _, e := range feed {
		evs, err := s.Event(e)
		if err != nil {
			t.Fatal(err)
		}
		last = evs
	}
	if len(last) != 2 {
		t.Fatalf("message_stop gave %d events", len(last))
	}
	jsonEqual(t, last[0].Payload, `{"stopReason":"content_filtered"}`)
	jsonEqual(t, last[1].Payload, `{"usage":{"inputTokens":50,"outputTokens":9,"totalTokens":64,"cacheReadInputTokens":5,"cacheWriteInputTokens":0},"metrics":{"latencyMs":77}}`)

	_, err := s.Event(claudebridge.Event{Type: "error", Data: []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)})
	if claudebridge.ErrorCode(err) != claudebridge.EOVERLOADED {
		t.Errorf("an overloaded error event gave %v", err)
	}
}
