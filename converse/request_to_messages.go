package converse

import (
	"encoding/json"
	"fmt"
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
	in, err := object("", body)
	if err != nil {
		return nil, invalid("", "the request body must be a JSON object")
	}
	out := map[string]json.RawMessage{}
	set := func(key string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return invalid(key, "cannot be encoded: %v", err)
		}
		out[key] = b
		return nil
	}
	var additional map[string]json.RawMessage
	for _, key := range sortedKeys(in) {
		raw := in[key]
		if isNull(raw) {
			continue
		}
		switch key {
		case "modelId", "performanceConfig", "additionalModelResponseFieldPaths":
		case "messages":
			msgs, err := messagesToMessages(raw)
			if err != nil {
				return nil, err
			}
			err = set("messages", msgs)
			if err != nil {
				return nil, err
			}
		case "system":
			blocks, err := blocksToMessages("system", raw)
			if err != nil {
				return nil, err
			}
			if err := set("system", blocks); err != nil {
				return nil, err
			}
		case "inferenceConfig":
			if err := inferenceToMessages(raw, out); err != nil {
				return nil, err
			}
		case "toolConfig":
			if err := toolConfigToMessages(raw, out); err != nil {
				return nil, err
			}
		case "additionalModelRequestFields":
			if additional, err = object(key, raw); err != nil {
				return nil, err
			}
		case "requestMetadata":
			var md map[string]string
			if err := json.Unmarshal(raw, &md); err != nil {
				return nil, invalid(key, "must be an object of strings")
			}
			if id, ok := md["user_id"]; ok {
				if err := set("metadata", map[string]string{"user_id": id}); err != nil {
					return nil, err
				}
			}
		case "outputConfig":
			if err := outputConfigToMessages(raw, out); err != nil {
				return nil, err
			}
		case "serviceTier":
			var tier serviceTier
			if err := json.Unmarshal(raw, &tier); err != nil {
				return nil, invalid(key, "must be an object")
			}
			switch tier.Type {
			case "default":
				out["service_tier"] = json.RawMessage(`"standard_only"`)
			case "priority", "flex", "reserved":
				// Bedrock capacity tiers; the Messages equivalent is the
				// default, "auto".
			default:
				return nil, invalid(key, "type %q is not a service tier", tier.Type)
			}
		default:
			return nil, invalid(key, "has no Messages equivalent")
		}
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

func messagesToMessages(raw json.RawMessage) ([]map[string]any, error) {
	var list []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalid("messages", "must be an array of messages")
	}
	out := make([]map[string]any, 0, len(list))
	for i, m := range list {
		at := fmt.Sprintf("messages.%d", i)
		if m.Role != "user" && m.Role != "assistant" {
			return nil, invalid(at, "role must be \"user\" or \"assistant\", not %q", m.Role)
		}
		content, err := blocksToMessages(at+".content", m.Content)
		if err != nil {
			return nil, err
		}
		out = append(out, map[string]any{"role": m.Role, "content": content})
	}
	return out, nil
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
	var tc struct {
		Tools      []json.RawMessage `json:"tools"`
		ToolChoice json.RawMessage   `json:"toolChoice"`
	}
	if err := json.Unmarshal(raw, &tc); err != nil {
		return invalid("toolConfig", "must be an object")
	}
	tools := []messagesBlock{}
	for i, t := range tc.Tools {
		at := fmt.Sprintf("toolConfig.tools.%d", i)
		member, v, err := union(at, t)
		if err != nil {
			return err
		}
		switch member {
		case "toolSpec":
			var spec struct {
				Name        string          `json:"name"`
				Description *string         `json:"description"`
				InputSchema inputSchema     `json:"inputSchema"`
				Strict      json.RawMessage `json:"strict"`
			}
			if err := json.Unmarshal(v, &spec); err != nil {
				return invalid(at, "toolSpec must be an object")
			}
			tool := messagesBlock{"name": spec.Name, "input_schema": spec.InputSchema.JSON}
			if spec.Description != nil {
				tool["description"] = *spec.Description
			}
			if !isNull(spec.Strict) {
				tool["strict"] = spec.Strict
			}
			tools = append(tools, tool)
		case "cachePoint":
			if len(tools) == 0 {
				return invalid(at, "a cachePoint must follow a tool")
			}
			var cp cachePoint
			if err := json.Unmarshal(v, &cp); err != nil || cp.Type != "default" {
				return invalid(at, "cachePoint type must be \"default\"")
			}
			cc := map[string]string{"type": "ephemeral"}
			if cp.TTL != "" {
				cc["ttl"] = cp.TTL
			}
			tools[len(tools)-1]["cache_control"] = cc
		default:
			return invalid(at, "tool member %q has no Messages equivalent", member)
		}
	}
	b, _ := json.Marshal(tools)
	out["tools"] = b
	if isNull(tc.ToolChoice) {
		return nil
	}
	member, v, err := union("toolConfig.toolChoice", tc.ToolChoice)
	if err != nil {
		return err
	}
	var choice any
	switch member {
	case "auto", "any":
		choice = map[string]string{"type": member}
	case "tool":
		var st specificTool
		if err := json.Unmarshal(v, &st); err != nil || st.Name == "" {
			return invalid("toolConfig.toolChoice.tool", "needs a name")
		}
		choice = map[string]string{"type": "tool", "name": st.Name}
	default:
		return invalid("toolConfig.toolChoice", "member %q has no Messages equivalent", member)
	}
	b, _ = json.Marshal(choice)
	out["tool_choice"] = b
	return nil
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
