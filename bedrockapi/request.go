package bedrockapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/converse"
)

// bedrockAnthropicVersion is the only anthropic_version Bedrock takes.
const bedrockAnthropicVersion = "bedrock-2023-05-31"

// converseDefaultMaxTokens is max_tokens when a Converse request sets no
// inferenceConfig.maxTokens. Bedrock then uses the model's own limit; the
// front door asks for less, because the Anthropic API refuses non-streaming
// calls whose max_tokens could take longer than ten minutes.
const converseDefaultMaxTokens = 4096

// invokeFields applies Bedrock's request validator to an InvokeModel body
// (anthropic_version, max_tokens and messages required; model and stream
// not permitted; anthropic_beta a list) and returns its top-level fields.
// The messages are Bedrock's own: "Malformed input request: #: ...".
func invokeFields(body []byte) (map[string]json.RawMessage, error) {
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
	if raw, ok := fields["anthropic_beta"]; ok {
		var betas []string
		if json.Unmarshal(raw, &betas) != nil {
			problems = append(problems, "#/anthropic_beta: expected type: JSONArray, found: "+jsonKind(raw))
		}
	}
	if len(problems) > 0 {
		return nil, malformedInput(strings.Join(problems, ""))
	}
	return fields, nil
}

// malformedInput words JSON-schema complaints the way Bedrock's request
// validator does.
func malformedInput(problems string) error {
	return claudebridge.Errorf(claudebridge.EINVALID, "Malformed input request: %s, please reformat your input and try again.", problems)
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

// messagesRequest makes the Messages request for model from the top-level
// fields of an InvokeModel body or of a translated Converse request:
// anthropic_beta (body) and the anthropic-beta header become Betas,
// anthropic_version is dropped (the upstream speaks its own), model and
// stream are set, and the result is validated as the Messages API would.
// countTokens relaxes the rules count_tokens does not have.
func (h *Handler) messagesRequest(model string, fields map[string]json.RawMessage, header http.Header, stream, countTokens bool) (*claudebridge.Request, error) {
	var betas []string
	if raw, ok := fields["anthropic_beta"]; ok {
		if json.Unmarshal(raw, &betas) != nil {
			return nil, claudebridge.Errorf(claudebridge.EINVALID, "anthropic_beta: Input should be a valid list of strings")
		}
	}
	delete(fields, "anthropic_beta")
	delete(fields, "anthropic_version")
	quoted, _ := json.Marshal(model)
	fields["model"] = quoted
	if stream {
		fields["stream"] = json.RawMessage("true")
	} else {
		delete(fields, "stream")
	}
	body := (&claudebridge.Request{Fields: fields}).JSON()
	req, err := anthropic.ParseRequest(body, http.Header{}, countTokens)
	if err != nil {
		return nil, err
	}
	for _, b := range append(betas, anthropic.Betas(header)...) {
		if b = strings.TrimSpace(b); b != "" && !contains(req.Betas, b) {
			req.Betas = append(req.Betas, b)
		}
	}
	if !countTokens {
		if err := anthropic.ApplySampling(req, h.opts.Sampling); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// converseFields translates a Converse request (or the converse input of
// CountTokens) into Messages fields, with max_tokens defaulted when the
// request sets no inferenceConfig.maxTokens.
func converseFields(body []byte, countTokens bool) (map[string]json.RawMessage, error) {
	fields, err := converse.RequestToMessages(body)
	if err != nil {
		return nil, err
	}
	if _, ok := fields["max_tokens"]; !ok && !countTokens {
		fields["max_tokens"] = json.RawMessage(strconv.Itoa(converseDefaultMaxTokens))
	}
	return fields, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
