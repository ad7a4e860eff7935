package emulator

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// bedrockAnthropicVersion is the only anthropic_version Bedrock takes.
const bedrockAnthropicVersion = "bedrock-2023-05-31"

// checkInvokeBody applies Bedrock's rules for an Anthropic InvokeModel body
// and returns its top-level fields. Two layers answer, as on Bedrock: the
// request validator ("Malformed input request: #: ...") for the shape of the
// envelope, then the model ("<path>: Extra inputs are not permitted",
// "invalid beta flag", sampling rules) for what the model takes.
// headerBetas are flags sent in an anthropic-beta HTTP header, which Bedrock
// also reads.
func checkInvokeBody(m *bedrockModel, body []byte, headerBetas []string) (map[string]json.RawMessage, *awsError) {
	var fields map[string]json.RawMessage
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &fields) != nil {
		return nil, malformedInput("#: expected type: JSONObject, found: " + jsonKind(trimmed))
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
		if json.Unmarshal(raw, &v) != nil || v != bedrockAnthropicVersion {
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
		return nil, malformedInput(strings.Join(problems, ""))
	}

	for _, flag := range append(betas, headerBetas...) {
		if !m.takesBeta(flag) {
			return nil, validationError(msgInvalidBeta)
		}
	}
	betas = append(betas, headerBetas...)

	var extra []string
	var names []string
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !m.takesField(name) && name != "model" && name != "stream" {
			extra = append(extra, name+": Extra inputs are not permitted")
		}
	}
	extra = append(extra, rejectedToolInputs(m, fields["tools"], betas)...)
	if len(extra) > 0 {
		return nil, validationError(strings.Join(extra, ", "))
	}

	if m.SamplingExclusive && present(fields["temperature"]) && present(fields["top_p"]) {
		return nil, validationError(msgSamplingExclusive)
	}
	return fields, nil
}

// rejectedToolInputs names the custom-tool fields the model does not take
// with the given betas, in Bedrock's "tools.N.custom.field" form.
func rejectedToolInputs(m *bedrockModel, raw json.RawMessage, betas []string) []string {
	var tools []map[string]json.RawMessage
	if json.Unmarshal(raw, &tools) != nil {
		return nil
	}
	var out []string
	for i, tool := range tools {
		var typ string
		json.Unmarshal(tool["type"], &typ)
		if typ != "" && typ != "custom" {
			continue
		}
		for _, f := range rejectedToolFields {
			if _, ok := tool[f]; !ok {
				continue
			}
			if beta, ok := m.ToolFields[f]; ok && (beta == "" || contains(betas, beta)) {
				continue
			}
			out = append(out, "tools."+strconv.Itoa(i)+".custom."+f+": Extra inputs are not permitted")
		}
	}
	return out
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
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

// headerBetas reads the comma-separated anthropic-beta header.
func headerBetas(value string) []string {
	var out []string
	for _, f := range strings.Split(value, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
