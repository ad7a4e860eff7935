package converse

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// RequestFromMessages translates the top-level fields of a Messages request
// body into a Converse (or ConverseStream) request body. "model" and
// "stream" are dropped: the path and the operation carry them. A field that
// Converse cannot carry, natively or in additionalModelRequestFields, fails
// with an EINVALID *claudebridge.Error naming it; nothing is dropped silently.
//
// Each field must be one valid JSON value, as json.Unmarshal or the
// gateway's request parser leaves it. The Converse body is written in one
// walk of the fields: the values both APIs share (texts, tool inputs and
// schemas, signatures, base64 data) are copied as the client wrote them.
func RequestFromMessages(fields map[string]json.RawMessage) ([]byte, error) {
	size := 256
	for _, v := range fields {
		size += len(v)
	}
	t := blockTranslator{trusted: true}
	out := make([]byte, 0, size+size/16)
	out = append(out, `{"messages":`...)
	if raw := fields["messages"]; isNull(raw) {
		out = append(out, "[]"...)
	} else {
		r := jsonReader{b: raw, trusted: true}
		var err error
		if out, err = t.messages(&r, out); err != nil {
			return nil, notJSON("messages", err)
		}
	}
	return t.otherFields(out, fields, string(bytes.TrimSpace(fields["stream"])) == "true")
}

// RequestFromMessagesBody is RequestFromMessages for a whole Messages body,
// which must be valid JSON (the gateway's own, made from a request it
// validated); anthropic_version is dropped. The body is walked once:
// messages, nearly all of it, is translated where it lies, and the other
// fields are taken as slices of body. The request is for Converse unless
// body has "stream": true; StreamRequestFromMessagesBody is for a body
// without it.
func RequestFromMessagesBody(body []byte) ([]byte, error) {
	return requestFromMessagesBody(body, false)
}

// StreamRequestFromMessagesBody is RequestFromMessagesBody for a
// ConverseStream request, as an InvokeModelWithResponseStream body (which
// has no "stream") would be made into one.
func StreamRequestFromMessagesBody(body []byte) ([]byte, error) {
	return requestFromMessagesBody(body, true)
}

func requestFromMessagesBody(body []byte, stream bool) ([]byte, error) {
	r := jsonReader{b: body, trusted: true}
	if r.next() != '{' {
		return nil, invalid("", "the request body must be a JSON object")
	}
	t := blockTranslator{trusted: true}
	out := make([]byte, 0, len(body)+len(body)/16+256)
	out = append(out, `{"messages":`...)
	fields := make(map[string]json.RawMessage, 12)
	seen := false
	err := r.object(func(key []byte) error {
		switch string(key) {
		case "messages":
			if seen {
				return invalid("messages", "is given twice")
			}
			seen = true
			if r.null() {
				out = append(out, "[]"...)
				return nil
			}
			var err error
			out, err = t.messages(&r, out)
			return err
		case "anthropic_version":
			_, err := r.value()
			return err
		}
		v, err := r.value()
		fields[string(key)] = v
		return err
	})
	if err != nil {
		return nil, notJSON("the request body", err)
	}
	if !seen {
		out = append(out, "[]"...)
	}
	stream = stream || string(bytes.TrimSpace(fields["stream"])) == "true"
	return t.otherFields(out, fields, stream)
}

// otherFields translates every field but messages, whose Converse array
// out already holds, and closes the Converse body. stream says whether the
// body is for ConverseStream, whose answer has the stop sequence at another
// path.
func (t *blockTranslator) otherFields(out []byte, fields map[string]json.RawMessage, stream bool) ([]byte, error) {
	var (
		system     []byte
		inference  []byte // the members of inferenceConfig
		stops      bool
		metadata   []byte
		tier       *serviceTier
		output     *outputConfig
		additional = map[string]json.RawMessage{}
	)
	for _, key := range sortedKeys(fields) {
		raw := fields[key]
		if isNull(raw) {
			continue
		}
		var err error
		switch key {
		case "model", "stream", "messages":
		case "system":
			system, err = t.system(raw)
		case "max_tokens":
			n, perr := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
			if perr != nil {
				return nil, invalid("max_tokens", "must be an integer")
			}
			inference = append(inference, `,"maxTokens":`...)
			inference = strconv.AppendInt(inference, n, 10)
		case "temperature", "top_p":
			var f float64
			if err := json.Unmarshal(raw, &f); err != nil {
				return nil, invalid(key, "must be a number")
			}
			name := `,"temperature":`
			if key == "top_p" {
				name = `,"topP":`
			}
			inference = append(inference, name...)
			inference = append(inference, bytes.TrimSpace(raw)...)
		case "stop_sequences":
			var s []string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, invalid("stop_sequences", "must be an array of strings")
			}
			if len(s) > 0 {
				inference = append(inference, `,"stopSequences":`...)
				inference = append(inference, bytes.TrimSpace(raw)...)
				stops = true
			}
		case "tools", "tool_choice":
			// Translated together below: each depends on the other.
		case "metadata":
			metadata, err = requestMetadata(raw)
		case "service_tier":
			tier, err = serviceTierFromMessages(raw)
		case "output_config":
			if output = outputConfigFromMessages(raw); output == nil {
				additional[key] = raw
			}
		default:
			additional[key] = raw
		}
		if err != nil {
			return nil, notJSON(key, err)
		}
	}
	tools, err := t.tools(fields["tools"], fields["tool_choice"], additional)
	if err != nil {
		return nil, notJSON("tools", err)
	}
	if system != nil {
		out = append(out, `,"system":`...)
		out = append(out, system...)
	}
	if inference != nil {
		out = append(out, `,"inferenceConfig":{`...)
		out = append(out, inference[1:]...)
		out = append(out, '}')
	}
	if tools != nil {
		out = append(out, `,"toolConfig":`...)
		out = append(out, tools...)
	}
	if len(additional) > 0 {
		out = append(out, `,"additionalModelRequestFields":{`...)
		for i, k := range sortedKeys(additional) {
			if i > 0 {
				out = append(out, ',')
			}
			out = quote(out, k)
			out = append(out, ':')
			out = append(out, bytes.TrimSpace(additional[k])...)
		}
		out = append(out, '}')
	}
	if stops {
		path := stopSequencePath
		if stream {
			path = streamStopSequencePath
		}
		out = append(out, `,"additionalModelResponseFieldPaths":["`+path+`"]`...)
	}
	if metadata != nil {
		out = append(out, `,"requestMetadata":`...)
		out = append(out, metadata...)
	}
	if output != nil {
		b, _ := json.Marshal(output)
		out = append(out, `,"outputConfig":`...)
		out = append(out, b...)
	}
	if tier != nil {
		b, _ := json.Marshal(tier)
		out = append(out, `,"serviceTier":`...)
		out = append(out, b...)
	}
	return append(out, '}'), nil
}

// messages translates the Messages messages at r, appending the Converse
// array to out.
func (t *blockTranslator) messages(r *jsonReader, out []byte) ([]byte, error) {
	if r.next() != '[' {
		return nil, invalid("messages", "must be an array")
	}
	out = append(out, '[')
	err := r.array(func(i int) error {
		at := "messages." + strconv.Itoa(i)
		if r.next() != '{' {
			return invalid(at, "expected an object")
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '{')
		var role, content bool
		err := r.object(func(key []byte) error {
			switch string(key) {
			case "role":
				s, err := r.text()
				if err == errType {
					return invalid(at, "role must be a string")
				}
				if err != nil {
					return err
				}
				v := unquote(s)
				if v != "user" && v != "assistant" {
					return invalid(at, "role must be \"user\" or \"assistant\", not %q", v)
				}
				t.replay = v == "assistant"
				if role || content {
					out = append(out, ',')
				}
				out = append(out, `"role":`...)
				out = append(out, s...)
				role = true
			case "content":
				if role || content {
					out = append(out, ',')
				}
				out = append(out, `"content":`...)
				var err error
				out, _, err = t.content(r, at+".content", anyBlocks, out)
				if err != nil {
					return err
				}
				content = true
			default:
				return invalid(at, "field %q of a message has no Converse equivalent", key)
			}
			return nil
		})
		t.replay = false
		if err != nil {
			return err
		}
		switch {
		case !role:
			return invalid(at, "role must be \"user\" or \"assistant\", not \"\"")
		case !content:
			return invalid(at+".content", "content must be a string or an array of content blocks")
		}
		out = append(out, '}')
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(out, ']'), nil
}

// system translates the system prompt: a string, or text blocks.
func (t *blockTranslator) system(raw json.RawMessage) ([]byte, error) {
	r := jsonReader{b: raw, trusted: t.trusted}
	out, _, err := t.content(&r, "system", systemBlocks, make([]byte, 0, len(raw)+64))
	return out, err
}

func requestMetadata(raw json.RawMessage) ([]byte, error) {
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
	return append(quote([]byte(`{"user_id":`), id), '}'), nil
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
