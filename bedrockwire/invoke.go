package bedrockwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
)

// AnthropicVersion is the only anthropic_version Bedrock takes.
const AnthropicVersion = "bedrock-2023-05-31"

// Envelope applies Bedrock's request validator to an Anthropic InvokeModel
// body (anthropic_version, max_tokens and messages required; model and
// stream not permitted; anthropic_beta a list) and returns its top-level
// fields and its anthropic_beta flags. What the model itself takes is
// checked later, by the model.
func Envelope(body []byte) (map[string]json.RawMessage, []string, *Error) {
	var fields map[string]json.RawMessage
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &fields) != nil {
		return nil, nil, MalformedInput("#: expected type: JSONObject, found: " + jsonKind(trimmed))
	}
	var problems []string
	for _, key := range []string{"anthropic_version", "max_tokens", "messages"} {
		if _, ok := fields[key]; !ok {
			problems = append(problems, "#: required key ["+key+"] not found")
		}
	}
	for _, key := range []string{"model", "stream"} {
		if _, ok := fields[key]; ok {
			problems = append(problems, "#: extraneous key ["+key+"] is not permitted")
		}
	}
	if raw, ok := fields["anthropic_version"]; ok {
		var v string
		if json.Unmarshal(raw, &v) != nil || v != AnthropicVersion {
			problems = append(problems, "#/anthropic_version: "+strings.Trim(string(raw), `"`)+" is not a valid enum value")
		}
	}
	var betas []string
	if raw, ok := fields["anthropic_beta"]; ok {
		if json.Unmarshal(raw, &betas) != nil {
			problems = append(problems, "#/anthropic_beta: expected type: JSONArray, found: "+jsonKind(raw))
		}
	}
	if len(problems) > 0 {
		return nil, nil, MalformedInput(strings.Join(problems, ""))
	}
	return fields, betas, nil
}

// jsonKind names the JSON type of raw the way Bedrock's validator does.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "null"
	}
	switch raw[0] {
	case '{':
		return "JSONObject"
	case '[':
		return "JSONArray"
	case '"':
		return "String"
	case 't', 'f':
		return "Boolean"
	case 'n':
		return "null"
	}
	return "Number"
}

// WithInvocationMetrics adds "amazon-bedrock-invocationMetrics" to the JSON
// object data, as Bedrock does on the last chunk of a stream.
func WithInvocationMetrics(data []byte, u claudebridge.Usage, latency, firstByte time.Duration) []byte {
	metrics := fmt.Sprintf(`"amazon-bedrock-invocationMetrics":{"inputTokenCount":%d,"outputTokenCount":%d,"invocationLatency":%d,"firstByteLatency":%d`,
		u.InputTokens, u.OutputTokens, latency.Milliseconds(), firstByte.Milliseconds())
	if u.CacheReadInputTokens > 0 || u.CacheCreationInputTokens > 0 {
		metrics += fmt.Sprintf(`,"cacheReadInputTokenCount":%d,"cacheWriteInputTokenCount":%d`, u.CacheReadInputTokens, u.CacheCreationInputTokens)
	}
	metrics += "}"
	data = bytes.TrimSpace(data)
	if len(data) < 2 || data[len(data)-1] != '}' {
		return data
	}
	inner := bytes.TrimSpace(data[1 : len(data)-1])
	out := append([]byte{'{'}, inner...)
	if len(inner) > 0 {
		out = append(out, ',')
	}
	out = append(out, metrics...)
	return append(out, '}')
}
