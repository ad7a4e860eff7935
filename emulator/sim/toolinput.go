package sim

import (
	"encoding/json"
)

// exampleInput builds a tool call's input from the tool's input_schema: the
// required properties (all of them when none is required), each with its
// enum's first value, const, default, or a plain value of its type. Strings
// carry the user's question, so a test controls what the model passes.
func exampleInput(schema json.RawMessage, question string) json.RawMessage {
	var s map[string]any
	_ = json.Unmarshal(schema, &s)
	v := exampleValue(s, clip(question, 100), 0)
	if _, ok := v.(map[string]any); !ok {
		v = map[string]any{}
	}
	out, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("{}")
	}
	return out
}

// maxSchemaDepth stops recursive schemas.
const maxSchemaDepth = 8

func exampleValue(s map[string]any, text string, depth int) any {
	if s == nil || depth > maxSchemaDepth {
		return nil
	}
	if c, ok := s["const"]; ok {
		return c
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	if d, ok := s["default"]; ok {
		return d
	}
	for _, key := range []string{"anyOf", "oneOf", "allOf"} {
		if alts, ok := s[key].([]any); ok && len(alts) > 0 {
			alt, _ := alts[0].(map[string]any)
			return exampleValue(alt, text, depth+1)
		}
	}
	switch schemaType(s) {
	case "object":
		props, _ := s["properties"].(map[string]any)
		names := map[string]bool{}
		if req, ok := s["required"].([]any); ok && len(req) > 0 {
			for _, r := range req {
				if name, ok := r.(string); ok {
					names[name] = true
				}
			}
		} else {
			for name := range props {
				names[name] = true
			}
		}
		obj := map[string]any{}
		for name := range names {
			p, _ := props[name].(map[string]any)
			if p == nil {
				obj[name] = text
				continue
			}
			obj[name] = exampleValue(p, text, depth+1)
		}
		return obj
	case "array":
		items, _ := s["items"].(map[string]any)
		if items == nil {
			return []any{}
		}
		return []any{exampleValue(items, text, depth+1)}
	case "integer":
		if m, ok := s["minimum"].(float64); ok {
			return int64(m)
		}
		return 1
	case "number":
		if m, ok := s["minimum"].(float64); ok {
			return m
		}
		return 1.5
	case "boolean":
		return true
	case "null":
		return nil
	}
	if text == "" {
		return "example"
	}
	return text
}

// schemaType is the schema's type, the first non-null one of a type list.
func schemaType(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if name, ok := x.(string); ok && name != "null" {
				return name
			}
		}
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	return "string"
}
