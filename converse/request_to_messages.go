package converse

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// RequestToMessages translates a Converse request body into the top-level
// fields of a Messages request. The caller adds "model" (and "stream").
// "max_tokens" is set only when inferenceConfig.maxTokens is; the caller
// picks the default otherwise. Keys of additionalModelRequestFields become
// top-level fields (tools there are appended to the toolSpec tools).
// guardrailConfig and promptVariables have no Messages equivalent and fail
// with EINVALID; performanceConfig and additionalModelResponseFieldPaths
// shape Bedrock's serving and reply, not the model's input, and are ignored,
// as are requestMetadata keys other than user_id (they only tag Bedrock's
// invocation logs).
func RequestToMessages(body []byte) (map[string]json.RawMessage, error) {
	r := jsonReader{b: body}
	if r.next() != '{' {
		return nil, invalid("", "the request body must be a JSON object")
	}
	out := map[string]json.RawMessage{}
	var additional map[string]json.RawMessage
	err := r.object(func(k []byte) error {
		key := string(k)
		if r.null() {
			return nil
		}
		switch key {
		case "modelId", "performanceConfig", "additionalModelResponseFieldPaths":
			_, err := r.value()
			return err
		case "messages":
			msgs, err := messagesToMessages(&r, len(body))
			if err != nil {
				return err
			}
			out["messages"] = msgs
			return nil
		case "system":
			blocks, err := blocksToMessages(&r, "system", nil)
			if err != nil {
				return err
			}
			out["system"] = blocks
			return nil
		}
		raw, err := r.value()
		if err != nil {
			return err
		}
		switch key {
		case "inferenceConfig":
			return inferenceToMessages(raw, out)
		case "toolConfig":
			return toolConfigToMessages(raw, out)
		case "additionalModelRequestFields":
			additional, err = object(key, raw)
			return err
		case "requestMetadata":
			var md map[string]string
			if err := json.Unmarshal(raw, &md); err != nil {
				return invalid(key, "must be an object of strings")
			}
			if id, ok := md["user_id"]; ok {
				out["metadata"] = append(quote([]byte(`{"user_id":`), id), '}')
			}
			return nil
		case "outputConfig":
			return outputConfigToMessages(raw, out)
		case "serviceTier":
			var tier serviceTier
			if err := json.Unmarshal(raw, &tier); err != nil {
				return invalid(key, "must be an object")
			}
			switch tier.Type {
			case "default":
				out["service_tier"] = json.RawMessage(`"standard_only"`)
			case "priority", "flex", "reserved":
				// Bedrock capacity tiers; the Messages equivalent is the
				// default, "auto".
			default:
				return invalid(key, "type %q is not a service tier", tier.Type)
			}
			return nil
		}
		return invalid(key, "has no Messages equivalent")
	})
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return nil, notJSON("the request body", err)
	}
	for _, key := range sortedKeys(additional) {
		v := additional[key]
		existing, clash := out[key]
		switch {
		case !clash:
			out[key] = v
		case key == "tools":
			var a, b []json.RawMessage
			if json.Unmarshal(existing, &a) != nil || json.Unmarshal(v, &b) != nil {
				return nil, invalid("additionalModelRequestFields.tools", "must be an array")
			}
			merged, _ := json.Marshal(append(a, b...))
			out[key] = merged
		default:
			return nil, invalid("additionalModelRequestFields."+key, "conflicts with the Converse field that sets it")
		}
	}
	return out, nil
}

// messagesToMessages translates Converse messages at r; size is a hint
// for the buffer, the length of the whole body.
func messagesToMessages(r *jsonReader, size int) ([]byte, error) {
	if r.next() != '[' {
		return nil, invalid("messages", "must be an array of messages")
	}
	out := make([]byte, 0, size+size/8)
	out = append(out, '[')
	err := r.array(func(i int) error {
		at := "messages." + strconv.Itoa(i)
		if r.next() != '{' {
			return invalid("messages", "must be an array of messages")
		}
		if i > 0 {
			out = append(out, ',')
		}
		// Role first, as Messages clients write it: "user" until the role
		// is read, which Converse clients also send first.
		start := len(out)
		out = append(out, `{"role":"user","content":`...)
		role, content := "", false
		err := r.object(func(key []byte) error {
			switch string(key) {
			case "role":
				s, err := strMember(r, at, "role")
				if err != nil {
					return err
				}
				role = unquote(s)
				return nil
			case "content":
				if r.null() {
					return nil
				}
				if content {
					return invalid(at, "content is given twice")
				}
				var err error
				out, err = blocksToMessages(r, at+".content", out)
				content = true
				return err
			}
			_, err := r.value()
			return err
		})
		if err != nil {
			return err
		}
		if role != "user" && role != "assistant" {
			return invalid(at, "role must be \"user\" or \"assistant\", not %q", role)
		}
		if !content {
			return invalid(at+".content", "must be an array of content blocks")
		}
		if role == "assistant" {
			out = slices.Replace(out, start+len(`{"role":"`), start+len(`{"role":"user`), []byte(role)...)
		}
		out = append(out, '}')
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(out, ']'), nil
}

func inferenceToMessages(raw json.RawMessage, out map[string]json.RawMessage) error {
	m, err := object("inferenceConfig", raw)
	if err != nil {
		return err
	}
	names := map[string]string{"maxTokens": "max_tokens", "temperature": "temperature", "topP": "top_p", "stopSequences": "stop_sequences"}
	for _, k := range sortedKeys(m) {
		name, ok := names[k]
		if !ok {
			return invalid("inferenceConfig."+k, "has no Messages equivalent")
		}
		if !isNull(m[k]) {
			out[name] = m[k]
		}
	}
	return nil
}

func toolConfigToMessages(raw json.RawMessage, out map[string]json.RawMessage) error {
	r := jsonReader{b: raw}
	if r.next() != '{' {
		return invalid("toolConfig", "must be an object")
	}
	var choiceRaw []byte
	tools := make([]byte, 0, len(raw)+len(raw)/8)
	tools = append(tools, '[')
	open := false // the last tool's closing brace is not written yet
	err := r.object(func(key []byte) error {
		switch string(key) {
		case "toolChoice":
			var err error
			choiceRaw, err = r.value()
			return err
		case "tools":
		default:
			_, err := r.value()
			return err
		}
		if r.null() {
			return nil
		}
		if r.next() != '[' {
			return invalid("toolConfig", "must be an object")
		}
		return r.array(func(i int) error {
			at := fmt.Sprintf("toolConfig.tools.%d", i)
			return union(&r, at, func(member string) error {
				switch member {
				case "toolSpec":
					spec, err := r.value()
					if err != nil {
						return err
					}
					if open {
						tools = append(tools, `},`...)
					}
					if tools, err = toolSpecToMessages(at, spec, tools); err != nil {
						return err
					}
					open = true
					return nil
				case "cachePoint":
					v, err := r.value()
					if err != nil {
						return err
					}
					if !open {
						return invalid(at, "a cachePoint must follow a tool")
					}
					var cp cachePoint
					if err := json.Unmarshal(v, &cp); err != nil || cp.Type != "default" {
						return invalid(at, "cachePoint type must be \"default\"")
					}
					tools = append(tools, `,"cache_control":{"type":"ephemeral"`...)
					if cp.TTL != "" {
						tools = append(tools, `,"ttl":`...)
						tools = quote(tools, cp.TTL)
					}
					tools = append(tools, `}}`...)
					open = false
					return nil
				}
				return invalid(at, "tool member %q has no Messages equivalent", member)
			})
		})
	})
	if err != nil {
		return err
	}
	if open {
		tools = append(tools, '}')
	}
	out["tools"] = append(tools, ']')
	if isNull(choiceRaw) {
		return nil
	}
	cr := jsonReader{b: choiceRaw}
	var choice []byte
	err = union(&cr, "toolConfig.toolChoice", func(member string) error {
		v, err := cr.value()
		if err != nil {
			return err
		}
		switch member {
		case "auto", "any":
			choice = []byte(`{"type":"` + member + `"}`)
		case "tool":
			var st specificTool
			if err := json.Unmarshal(v, &st); err != nil || st.Name == "" {
				return invalid("toolConfig.toolChoice.tool", "needs a name")
			}
			choice = append(quote([]byte(`{"type":"tool","name":`), st.Name), '}')
		default:
			return invalid("toolConfig.toolChoice", "member %q has no Messages equivalent", member)
		}
		return nil
	})
	if err != nil {
		return err
	}
	out["tool_choice"] = choice
	return nil
}

// toolSpecToMessages appends a Messages custom tool, without its closing
// brace, for the ToolSpecification spec.
func toolSpecToMessages(at string, spec []byte, tools []byte) ([]byte, error) {
	r := jsonReader{b: spec}
	if r.next() != '{' {
		return nil, invalid(at, "toolSpec must be an object")
	}
	name, schema := []byte(`""`), []byte("null")
	var description, strict []byte
	err := r.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "name":
			name, err = strMember(&r, at, "name")
		case "description":
			if !r.null() {
				description, err = strMember(&r, at, "description")
			}
		case "inputSchema":
			err = union(&r, at+".inputSchema", func(member string) error {
				if member != "json" {
					return invalid(at, "inputSchema member %q has no Messages equivalent", member)
				}
				var err error
				schema, err = r.value()
				return err
			})
		case "strict":
			strict, err = r.value()
		default:
			_, err = r.value()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	tools = append(tools, `{"name":`...)
	tools = append(tools, name...)
	if description != nil {
		tools = append(tools, `,"description":`...)
		tools = append(tools, description...)
	}
	tools = append(tools, `,"input_schema":`...)
	tools = append(tools, schema...)
	if !isNull(strict) {
		tools = append(tools, `,"strict":`...)
		tools = append(tools, strict...)
	}
	return tools, nil
}

func outputConfigToMessages(raw json.RawMessage, out map[string]json.RawMessage) error {
	var oc outputConfig
	if err := json.Unmarshal(raw, &oc); err != nil {
		return invalid("outputConfig", "must be an object")
	}
	res := map[string]any{}
	if oc.Effort != nil {
		res["effort"] = *oc.Effort
	}
	if f := oc.TextFormat; f != nil {
		if f.Type != "json_schema" || !json.Valid([]byte(f.Structure.JSONSchema.Schema)) {
			return invalid("outputConfig.textFormat", "must be a json_schema format with a valid schema")
		}
		res["format"] = map[string]any{"type": "json_schema", "schema": json.RawMessage(f.Structure.JSONSchema.Schema)}
	}
	b, _ := json.Marshal(res)
	out["output_config"] = b
	return nil
}
