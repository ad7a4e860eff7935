package converse

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	claudebridge "github.com/claudebridge/claudebridge"
)

func fieldsJSON(t *testing.T, f map[string]json.RawMessage) []byte {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRequestToMessages(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "inference, system with cache point, metadata",
			in: `{"modelId":"ignored","system":[{"text":"S"},{"cachePoint":{"type":"default","ttl":"1h"}}],
				"inferenceConfig":{"maxTokens":10,"temperature":1,"topP":0.5,"stopSequences":["x"]},
				"requestMetadata":{"user_id":"u","team":"t"},
				"additionalModelResponseFieldPaths":["/stop_sequence"],
				"messages":[{"role":"user","content":[{"text":"Hi"}]}]}`,
			want: `{"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral","ttl":"1h"}}],
				"max_tokens":10,"temperature":1,"top_p":0.5,"stop_sequences":["x"],
				"metadata":{"user_id":"u"},
				"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "tools, choice, results with json and status",
			in: `{"toolConfig":{"tools":[{"toolSpec":{"name":"a","description":"d","inputSchema":{"json":{"type":"object"}}}},{"cachePoint":{"type":"default"}}],"toolChoice":{"auto":{}}},
				"messages":[{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"a","input":{"k":"v"}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"t1","status":"error","content":[{"json":{"a": 1}},{"text":"t"}]}}]}]}`,
			want: `{"tools":[{"name":"a","description":"d","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],
				"tool_choice":{"type":"auto"},
				"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"a","input":{"k":"v"}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","is_error":true,"content":[{"type":"text","text":"{\"a\":1}"},{"type":"text","text":"t"}]}]}]}`,
		},
		{
			name: "additional fields become top-level, typed tools are appended",
			in: `{"toolConfig":{"tools":[{"toolSpec":{"name":"a","inputSchema":{"json":{}}}}]},
				"additionalModelRequestFields":{"top_k":3,"tools":[{"type":"bash_20250124","name":"bash"}],"tool_choice":{"type":"none"}},
				"messages":[]}`,
			want: `{"tools":[{"name":"a","input_schema":{}},{"type":"bash_20250124","name":"bash"}],"top_k":3,"tool_choice":{"type":"none"},"messages":[]}`,
		},
		{
			name: "text document bytes, content document, output config, service tier",
			in: `{"serviceTier":{"type":"default"},"outputConfig":{"effort":"low","textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{\"type\":\"object\"}"}}}},
				"messages":[{"role":"user","content":[
				{"document":{"format":"md","name":"n","source":{"bytes":"` + b64("# hi") + `"}}},
				{"document":{"name":"c","source":{"content":[{"text":"part"}]}}}]}]}`,
			want: `{"service_tier":"standard_only","output_config":{"effort":"low","format":{"type":"json_schema","schema":{"type":"object"}}},
				"messages":[{"role":"user","content":[
				{"type":"document","title":"n","source":{"type":"text","media_type":"text/plain","data":"# hi"}},
				{"type":"document","title":"c","source":{"type":"content","content":[{"type":"text","text":"part"}]}}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RequestToMessages([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, fieldsJSON(t, got), tt.want)
		})
	}
}

func TestRequestToMessagesRejects(t *testing.T) {
	tests := []struct{ name, in, mention string }{
		{"guardrail", `{"guardrailConfig":{"guardrailIdentifier":"g","guardrailVersion":"1"},"messages":[]}`, "guardrailConfig"},
		{"unknown top-level", `{"frob":1,"messages":[]}`, "frob"},
		{"video block", `{"messages":[{"role":"user","content":[{"video":{"format":"mp4","source":{"bytes":"AA"}}}]}]}`, "video"},
		{"s3 image", `{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"s3Location":{"uri":"s3://b/k"}}}}]}]}`, "s3Location"},
		{"two members", `{"messages":[{"role":"user","content":[{"text":"a","image":{}}]}]}`, "exactly one"},
		{"leading cache point", `{"messages":[{"role":"user","content":[{"cachePoint":{"type":"default"}}]}]}`, "cachePoint"},
		{"unknown inference key", `{"inferenceConfig":{"topK":3},"messages":[]}`, "topK"},
		{"clashing additional field", `{"inferenceConfig":{"maxTokens":3},"additionalModelRequestFields":{"max_tokens":4},"messages":[]}`, "max_tokens"},
		{"docx", `{"messages":[{"role":"user","content":[{"document":{"format":"docx","name":"d","source":{"bytes":"AA"}}}]}]}`, "docx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RequestToMessages([]byte(tt.in))
			var e *claudebridge.Error
			if !errors.As(err, &e) || e.Code != claudebridge.EINVALID {
				t.Fatalf("got %v, want an EINVALID *claudebridge.Error", err)
			}
			if !strings.Contains(e.Message, tt.mention) {
				t.Errorf("message %q does not name %q", e.Message, tt.mention)
			}
		})
	}
}

// TestRequestRoundTrip sends Messages requests to Converse and back; where
// both APIs can say everything in them, they come back unchanged.
func TestRequestRoundTrip(t *testing.T) {
	bodies := []string{
		`{"max_tokens":256,"temperature":0.7,"top_p":0.95,"top_k":40,"stop_sequences":["\n\nHuman:"],
		  "metadata":{"user_id":"user-7"},
		  "system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],
		  "messages":[
		    {"role":"user","content":[{"type":"text","text":"Look"},
		      {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},
		      {"type":"document","title":"Spec v2","context":"c","citations":{"enabled":true},"source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0x"}},
		      {"type":"document","title":"Notes","source":{"type":"text","media_type":"text/plain","data":"line one\nline two"}}]},
		    {"role":"assistant","content":[
		      {"type":"thinking","thinking":"Let me see.","signature":"EqoBCkgIARABGAIiQL"},
		      {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"},
		      {"type":"text","text":"Calling."},
		      {"type":"tool_use","id":"toolu_01","name":"lookup","input":{"q":"x","n":[1,2]}}]},
		    {"role":"user","content":[
		      {"type":"tool_result","tool_use_id":"toolu_01","content":[{"type":"text","text":"found"}],"cache_control":{"type":"ephemeral","ttl":"1h"}},
		      {"type":"tool_result","tool_use_id":"toolu_01","is_error":true,"content":[{"type":"text","text":"nope"}]}]}],
		  "tools":[{"name":"lookup","description":"Looks up","input_schema":{"type":"object","properties":{"q":{"type":"string"}}},"cache_control":{"type":"ephemeral"}}],
		  "tool_choice":{"type":"any"},
		  "thinking":{"type":"enabled","budget_tokens":1024},
		  "anthropic_beta":["interleaved-thinking-2025-05-14"]}`,
		`{"max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
		  "tools":[{"name":"a","input_schema":{}},{"type":"web_search_20250305","name":"web_search","max_uses":2}],
		  "tool_choice":{"type":"tool","name":"a"},"service_tier":"standard_only",
		  "output_config":{"effort":"medium","format":{"type":"json_schema","schema":{"type":"object"}}}}`,
	}
	for i, body := range bodies {
		in := fieldsOf(t, body)
		conv, err := RequestFromMessages(in)
		if err != nil {
			t.Fatalf("body %d: to Converse: %v", i, err)
		}
		back, err := RequestToMessages(conv)
		if err != nil {
			t.Fatalf("body %d: back to Messages: %v\n%s", i, err, conv)
		}
		jsonEqual(t, fieldsJSON(t, back), string(fieldsJSON(t, in)))
	}
}
