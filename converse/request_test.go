package converse

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	claudebridge "github.com/claudebridge/claudebridge"
)

// fieldsOf splits a Messages body into its top-level fields, as the gateway
// does for claudebridge.Request.Fields.
func fieldsOf(t *testing.T, body string) map[string]json.RawMessage {
	t.Helper()
	var f map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("bad test body: %v", err)
	}
	return f
}

// decoded unmarshals JSON into generic values, for comparisons that ignore
// key order and spacing.
func decoded(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}

func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	if !reflect.DeepEqual(decoded(t, got), decoded(t, []byte(want))) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestRequestFromMessages(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "string content, inference fields, metadata",
			in: `{"model":"claude-x","stream":true,"max_tokens":100,"temperature":0.5,"top_p":0.9,
				"stop_sequences":["END"],"metadata":{"user_id":"u-1"},
				"messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"messages":[{"role":"user","content":[{"text":"Hi"}]}],
				"inferenceConfig":{"maxTokens":100,"temperature":0.5,"topP":0.9,"stopSequences":["END"]},
				"additionalModelResponseFieldPaths":["/delta/stop_sequence"],
				"requestMetadata":{"user_id":"u-1"}}`,
		},
		{
			name: "system string",
			in:   `{"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"system":[{"text":"Be brief."}],"messages":[{"role":"user","content":[{"text":"Hi"}]}]}`,
		},
		{
			name: "system blocks with cache_control and ttl",
			in: `{"system":[{"type":"text","text":"A","cache_control":{"type":"ephemeral"}},
				{"type":"text","text":"B","cache_control":{"type":"ephemeral","ttl":"1h"}}],
				"messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"system":[{"text":"A"},{"cachePoint":{"type":"default"}},{"text":"B"},{"cachePoint":{"type":"default","ttl":"1h"}}],
				"messages":[{"role":"user","content":[{"text":"Hi"}]}]}`,
		},
		{
			name: "image, pdf and text documents",
			in: `{"messages":[{"role":"user","content":[
				{"type":"image","source":{"type":"base64","media_type":"image/webp","data":"AAAA"}},
				{"type":"document","title":"Report: Q1/Q2","context":"ctx","citations":{"enabled":true},"source":{"type":"base64","media_type":"application/pdf","data":"JVBE"}},
				{"type":"document","source":{"type":"text","media_type":"text/plain","data":"hello"}},
				{"type":"text","text":"Summarise","cache_control":{"type":"ephemeral"}}]}]}`,
			want: `{"messages":[{"role":"user","content":[
				{"image":{"format":"webp","source":{"bytes":"AAAA"}}},
				{"document":{"format":"pdf","name":"Report Q1 Q2","context":"ctx","citations":{"enabled":true},"source":{"bytes":"JVBE"}}},
				{"document":{"format":"txt","name":"Document 2","source":{"bytes":"` + b64("hello") + `"}}},
				{"text":"Summarise"},{"cachePoint":{"type":"default"}}]}]}`,
		},
		{
			name: "tool use, tool results, tools and a specific tool choice",
			in: `{"tools":[{"name":"get","description":"Gets","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],
				"tool_choice":{"type":"tool","name":"get"},
				"messages":[{"role":"user","content":"go"},
				{"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"tu1","name":"get","input":{"q":1}}]},
				{"role":"user","content":[
					{"type":"tool_result","tool_use_id":"tu1","content":"42"},
					{"type":"tool_result","tool_use_id":"tu1","is_error":true,"content":[{"type":"text","text":"boom","cache_control":{"type":"ephemeral"}},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}}]},
					{"type":"tool_result","tool_use_id":"tu1","is_error":false}]}]}`,
			want: `{"messages":[{"role":"user","content":[{"text":"go"}]},
				{"role":"assistant","content":[{"text":"ok"},{"toolUse":{"toolUseId":"tu1","name":"get","input":{"q":1}}}]},
				{"role":"user","content":[
					{"toolResult":{"toolUseId":"tu1","content":[{"text":"42"}]}},
					{"toolResult":{"toolUseId":"tu1","status":"error","content":[{"text":"boom"},{"image":{"format":"png","source":{"bytes":"iVBO"}}}]}},
					{"cachePoint":{"type":"default"}},
					{"toolResult":{"toolUseId":"tu1","status":"success","content":[]}}]}],
				"toolConfig":{"tools":[{"toolSpec":{"name":"get","description":"Gets","inputSchema":{"json":{"type":"object"}}}},{"cachePoint":{"type":"default"}}],
					"toolChoice":{"tool":{"name":"get"}}}}`,
		},
		{
			name: "tool choice auto and any",
			in:   `{"tools":[{"name":"a","input_schema":{}}],"tool_choice":{"type":"any"},"messages":[]}`,
			want: `{"messages":[],"toolConfig":{"tools":[{"toolSpec":{"name":"a","inputSchema":{"json":{}}}}],"toolChoice":{"any":{}}}}`,
		},
		{
			name: "tool choice none without tool history withholds the tools",
			in:   `{"tools":[{"name":"a","input_schema":{}}],"tool_choice":{"type":"none"},"messages":[{"role":"user","content":"x"}]}`,
			want: `{"messages":[{"role":"user","content":[{"text":"x"}]}]}`,
		},
		{
			name: "tool choice none with tool history keeps tools and tells the model",
			in: `{"tools":[{"name":"a","input_schema":{}}],"tool_choice":{"type":"none"},
				"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"a","input":{}}]}]}`,
			want: `{"messages":[{"role":"assistant","content":[{"toolUse":{"toolUseId":"t","name":"a","input":{}}}]}],
				"toolConfig":{"tools":[{"toolSpec":{"name":"a","inputSchema":{"json":{}}}}]},
				"additionalModelRequestFields":{"tool_choice":{"type":"none"}}}`,
		},
		{
			name: "disable_parallel_tool_use goes to the model fields whole",
			in:   `{"tools":[{"name":"a","input_schema":{}}],"tool_choice":{"type":"auto","disable_parallel_tool_use":true},"messages":[]}`,
			want: `{"messages":[],"toolConfig":{"tools":[{"toolSpec":{"name":"a","inputSchema":{"json":{}}}}]},
				"additionalModelRequestFields":{"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}}`,
		},
		{
			name: "typed tools go to the model fields",
			in: `{"tools":[{"name":"a","input_schema":{}},{"type":"bash_20250124","name":"bash"}],
				"anthropic_beta":["computer-use-2025-01-24"],"messages":[]}`,
			want: `{"messages":[],"toolConfig":{"tools":[{"toolSpec":{"name":"a","inputSchema":{"json":{}}}}]},
				"additionalModelRequestFields":{"tools":[{"type":"bash_20250124","name":"bash"}],"anthropic_beta":["computer-use-2025-01-24"]}}`,
		},
		{
			name: "thinking blocks, thinking config and top_k",
			in: `{"thinking":{"type":"enabled","budget_tokens":2000},"top_k":5,
				"messages":[{"role":"assistant","content":[
					{"type":"thinking","thinking":"hmm","signature":"c2ln"},
					{"type":"redacted_thinking","data":"EnCrYpTeD"}]}]}`,
			want: `{"messages":[{"role":"assistant","content":[
				{"reasoningContent":{"reasoningText":{"text":"hmm","signature":"c2ln"}}},
				{"reasoningContent":{"redactedContent":"` + b64("EnCrYpTeD") + `"}}]}],
				"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2000},"top_k":5}}`,
		},
		{
			name: "service tier and output config",
			in:   `{"service_tier":"standard_only","output_config":{"effort":"high","format":{"type":"json_schema","schema":{"type": "object"}}},"messages":[]}`,
			want: `{"messages":[],"serviceTier":{"type":"default"},
				"outputConfig":{"effort":"high","textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{\"type\":\"object\"}"}}}}}`,
		},
		{
			name: "stop sequences of a Converse request ask for the stop sequence at the top of the answer",
			in:   `{"stop_sequences":["END"],"messages":[]}`,
			want: `{"messages":[],"inferenceConfig":{"stopSequences":["END"]},"additionalModelResponseFieldPaths":["/stop_sequence"]}`,
		},
		{
			name: "null fields are absent fields",
			in:   `{"temperature":null,"system":null,"tool_choice":null,"messages":[]}`,
			want: `{"messages":[]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RequestFromMessages(fieldsOf(t, tt.in))
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, got, tt.want)
		})
	}
}

func TestRequestFromMessagesKeepsNumbersAndInputsAsSent(t *testing.T) {
	// Re-encoding through float64 would turn 1e2 into 100 and lose digits.
	got, err := RequestFromMessages(fieldsOf(t, `{"temperature":0.30000000000000004,
		"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{"big":12345678901234567890}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"temperature":0.30000000000000004`, `12345678901234567890`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("%s not kept as sent in %s", want, got)
		}
	}
}

func TestRequestFromMessagesRejects(t *testing.T) {
	tests := []struct {
		name, in, mention string
	}{
		{"image url source", `{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}`, "url"},
		{"image media type", `{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"A"}}]}]}`, "image/bmp"},
		{"server tool block", `{"messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}`, "server_tool_use"},
		{"unknown block field", `{"messages":[{"role":"user","content":[{"type":"text","text":"x","frobnicate":1}]}]}`, "frobnicate"},
		{"unknown tool field", `{"tools":[{"name":"a","input_schema":{},"input_examples":[]}],"messages":[]}`, "input_examples"},
		{"metadata other key", `{"metadata":{"user_id":"u","session":"s"},"messages":[]}`, "session"},
		{"service tier", `{"service_tier":"premium","messages":[]}`, "premium"},
		{"bad role", `{"messages":[{"role":"system","content":"x"}]}`, "role"},
		{"tool choice without tools", `{"tool_choice":{"type":"any"},"messages":[]}`, "tool_choice"},
		{"tool choice type", `{"tools":[{"name":"a","input_schema":{}}],"tool_choice":{"type":"maybe"},"messages":[]}`, "maybe"},
		{"cache control type", `{"system":[{"type":"text","text":"x","cache_control":{"type":"forever"}}],"messages":[]}`, "forever"},
		{"file document", `{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"file","file_id":"f"}}]}]}`, "file"},
		{"max_tokens type", `{"max_tokens":"many","messages":[]}`, "max_tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RequestFromMessages(fieldsOf(t, tt.in))
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

func TestDocumentName(t *testing.T) {
	for title, want := range map[string]string{
		"Plain":            "Plain",
		"  a--b (c) [d]  ": "a--b (c) [d]",
		"x.pdf":            "x pdf",
		"日本":               "Document 3",
		"":                 "Document 3",
		"a\t\tb":           "a b",
	} {
		if got := documentName(title, 3); got != want {
			t.Errorf("documentName(%q) = %q, want %q", title, got, want)
		}
	}
}
