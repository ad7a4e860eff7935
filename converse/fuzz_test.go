package converse

import (
	"encoding/json"
	"testing"
)

func FuzzRequestFromMessages(f *testing.F) {
	f.Add([]byte(`{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"tools":[{"name":"a","input_schema":{}}],"tool_choice":{"type":"none"},"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"a","input":{}}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]},{"type":"document","source":{"type":"content","content":"c"}}]}]}`))
	f.Add([]byte(`{"output_config":{"format":{"type":"json_schema","schema":{}}},"service_tier":"auto","metadata":{"user_id":null}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) != nil {
			return
		}
		out, err := RequestFromMessages(fields)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %s", out)
		}
		// Whatever Converse body is made must read back without a panic.
		if back, err := RequestToMessages(out); err == nil {
			for k, v := range back {
				if !json.Valid(v) {
					t.Fatalf("field %s is invalid JSON: %s", k, v)
				}
			}
		}
	})
}

func FuzzStreamToMessages(f *testing.F) {
	f.Add("messageStart", []byte(`{"role":"assistant"}`), "contentBlockDelta", []byte(`{"contentBlockIndex":0,"delta":{"text":"x"}}`), "messageStop", []byte(`{"stopReason":"end_turn"}`))
	f.Add("contentBlockStart", []byte(`{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t","name":"n"}}}`), "contentBlockDelta", []byte(`{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{"}}}`), "contentBlockStop", []byte(`{"contentBlockIndex":1}`))
	f.Add("contentBlockDelta", []byte(`{"contentBlockIndex":0,"delta":{"reasoningContent":{"redactedContent":"AAE="}}}`), "messageStop", []byte(`{}`), "metadata", []byte(`{"usage":{"inputTokens":1}}`))
	f.Fuzz(func(t *testing.T, t1 string, p1 []byte, t2 string, p2 []byte, t3 string, p3 []byte) {
		s := &StreamToMessages{Model: "m", ID: "i"}
		check := func(typ string, payload []byte) {
			evs, err := s.Event(typ, payload)
			if err != nil {
				return
			}
			for _, e := range evs {
				if !json.Valid(e.Data) {
					t.Fatalf("%s: invalid JSON %q", e.Type, e.Data)
				}
			}
		}
		check(t1, p1)
		check(t2, p2)
		check(t3, p3)
		check(t1, p1)
		evs, _ := s.Finish()
		for _, e := range evs {
			if !json.Valid(e.Data) {
				t.Fatalf("%s: invalid JSON %q", e.Type, e.Data)
			}
		}
		// The events made must translate back without a panic.
		var back StreamFromMessages
		for _, e := range evs {
			_, _ = back.Event(e)
		}
	})
}

// FuzzRequestToMessages feeds arbitrary bodies, as a client of the Bedrock
// front door may send, to the Converse reader: it must not panic, and every
// field it returns must be valid JSON.
func FuzzRequestToMessages(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"text":"hi"},{"cachePoint":{"type":"default"}}]}],"system":[{"text":"s"}],"inferenceConfig":{"maxTokens":5}}`))
	f.Add([]byte(`{"messages":[{"content":[{"toolResult":{"toolUseId":"t","content":[{"json":{"a":1}}],"status":"error"}}],"role":"assistant"}],"toolConfig":{"tools":[{"toolSpec":{"name":"a","inputSchema":{"json":{}}}},{"cachePoint":{"type":"default"}}],"toolChoice":{"tool":{"name":"a"}}}}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"document":{"format":"txt","name":"n","source":{"bytes":"aGk="}}},{"reasoningContent":{"redactedContent":"AAE="}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := RequestToMessages(body)
		if err != nil {
			return
		}
		for k, v := range fields {
			if !json.Valid(v) {
				t.Fatalf("field %s is invalid JSON: %s", k, v)
			}
		}
	})
}
