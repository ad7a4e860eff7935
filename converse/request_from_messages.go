package converse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// RequestFromMessages translates the top-level fields of a Messages request
// body into a Converse (or ConverseStream) request body. "model" and
// "stream" are dropped: the path and the operation carry them. A field that
// Converse cannot carry, natively or in additionalModelRequestFields, fails
// with an EINVALID *claudebridge.Error naming it; nothing is dropped silently.
func RequestFromMessages(fields map[string]json.RawMessage) ([]byte, error) {
	var (
		out        converseRequest
		t          blockTranslator
		additional = map[string]json.RawMessage{}
		inference  inferenceConfig
		hasInf     bool
	)
	out.Messages = []converseMessage{}
	for _, key := range sortedKeys(fields) {
		raw := fields[key]
		if isNull(raw) {
			continue
		}
		switch key {
		case "model", "stream":
		case "messages":
			msgs, err := t.messages(raw)
			if err != nil {
				return nil, err
			}
			out.Messages = msgs
		case "system":
			sys, err := t.system(raw)
			if err != nil {
				return nil, err
			}
			out.System = sys
		case "max_tokens":
			var n int64
			if err := json.Unmarshal(raw, &n); err != nil {
				return nil, invalid("max_tokens", "must be an integer")
			}
			inference.MaxTokens, hasInf = &n, true
		case "temperature", "top_p":
			var f float64
			if err := json.Unmarshal(raw, &f); err != nil {
				return nil, invalid(key, "must be a number")
			}
			if key == "temperature" {
				inference.Temperature = raw
			} else {
				inference.TopP = raw
			}
			hasInf = true
		case "stop_sequences":
			var s []string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, invalid("stop_sequences", "must be an array of strings")
			}
			if len(s) > 0 {
				inference.StopSequences, hasInf = s, true
				out.AdditionalModelResponseFieldPaths = []string{"/stop_sequence"}
			}
		case "tools", "tool_choice":
			// Translated together below: each depends on the other.
		case "metadata":
			md, err := requestMetadata(raw)
			if err != nil {
				return nil, err
			}
			out.RequestMetadata = md
		case "service_tier":
			tier, err := serviceTierFromMessages(raw)
			if err != nil {
				return nil, err
			}
			out.ServiceTier = tier
		case "output_config":
			if oc := outputConfigFromMessages(raw); oc != nil {
				out.OutputConfig = oc
			} else {
				additional[key] = raw
			}
		default:
			additional[key] = raw
		}
	}
	if hasInf {
		out.InferenceConfig = &inference
	}
	tc, err := t.tools(fields["tools"], fields["tool_choice"], additional)
	if err != nil {
		return nil, err
	}
	out.ToolConfig = tc
	if len(additional) > 0 {
		out.AdditionalModelRequestFields = additional
	}
	return json.Marshal(out)
}

func (t *blockTranslator) messages(raw json.RawMessage) ([]converseMessage, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalid("messages", "must be an array")
	}
	out := make([]converseMessage, 0, len(list))
	for i, item := range list {
		at := fmt.Sprintf("messages.%d", i)
		m, err := object(at, item)
		if err != nil {
			return nil, err
		}
		if err := onlyKeys(at, m, "message", "role", "content"); err != nil {
			return nil, err
		}
		role, err := stringField(at, m, "role")
		if err != nil {
			return nil, err
		}
		if role != "user" && role != "assistant" {
			return nil, invalid(at, "role must be \"user\" or \"assistant\", not %q", role)
		}
		content, err := t.content(at+".content", m["content"])
		if err != nil {
			return nil, err
		}
		out = append(out, converseMessage{Role: role, Content: content})
	}
	return out, nil
}

// system translates the system prompt: a string, or text blocks.
func (t *blockTranslator) system(raw json.RawMessage) ([]converseBlock, error) {
	blocks, err := t.content("system", raw)
	if err != nil {
		return nil, err
	}
	for i, b := range blocks {
		if b.Text == nil && b.CachePoint == nil {
			return nil, invalid(fmt.Sprintf("system.%d", i), "the system prompt may hold only text blocks")
		}
	}
	return blocks, nil
}

func requestMetadata(raw json.RawMessage) (map[string]string, error) {
	m, err := object("metadata", raw)
	if err != nil {
		return nil, err
	}
	if err := onlyKeys("metadata", m, "metadata object", "user_id"); err != nil {
		return nil, err
	}
	id, err := stringField("metadata", m, "user_id")
	if err != nil || id == "" {
		return nil, err
	}
	return map[string]string{"user_id": id}, nil
}

// serviceTierFromMessages maps "standard_only" to Bedrock's "default" tier.
// "auto" sets nothing: Bedrock serves the default tier unless told otherwise.
func serviceTierFromMessages(raw json.RawMessage) (*serviceTier, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, invalid("service_tier", "must be a string")
	}
	switch s {
	case "auto":
		return nil, nil
	case "standard_only":
		return &serviceTier{Type: "default"}, nil
	}
	return nil, invalid("service_tier", "%q has no Converse equivalent", s)
}

// outputConfigFromMessages translates output_config when Converse's
// outputConfig can say all of it (effort, and a json_schema format);
// otherwise it returns nil and the caller passes the field to the model.
func outputConfigFromMessages(raw json.RawMessage) *outputConfig {
	var in struct {
		Effort *string `json:"effort"`
		Format *struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil
	}
	oc := &outputConfig{Effort: in.Effort}
	if in.Format != nil {
		var schema bytes.Buffer
		if in.Format.Type != "json_schema" || json.Compact(&schema, in.Format.Schema) != nil {
			return nil
		}
		oc.TextFormat = &outputFormat{Type: "json_schema", Structure: formatStructure{JSONSchema: jsonSchemaDefinition{Schema: schema.String()}}}
	}
	return oc
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
