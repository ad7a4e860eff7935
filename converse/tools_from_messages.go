package converse

import (
	"encoding/json"
	"fmt"
)

// tools translates tools and tool_choice into a toolConfig. Tools that are
// not custom tools, and a tool_choice Converse cannot say, are added to
// additional (additionalModelRequestFields); see the package comment.
func (t *blockTranslator) tools(toolsRaw, choiceRaw json.RawMessage, additional map[string]json.RawMessage) (*toolConfig, error) {
	var specs []converseTool
	var typed []json.RawMessage
	if !isNull(toolsRaw) {
		var list []json.RawMessage
		if err := json.Unmarshal(toolsRaw, &list); err != nil {
			return nil, invalid("tools", "must be an array")
		}
		for i, raw := range list {
			at := fmt.Sprintf("tools.%d", i)
			m, err := object(at, raw)
			if err != nil {
				return nil, err
			}
			typ, err := stringField(at, m, "type")
			if err != nil {
				return nil, err
			}
			if typ != "" && typ != "custom" {
				typed = append(typed, raw)
				continue
			}
			if err := onlyKeys(at, m, "custom tool", "type", "name", "description", "input_schema", "cache_control", "strict"); err != nil {
				return nil, err
			}
			spec := &toolSpec{InputSchema: inputSchema{JSON: m["input_schema"]}}
			if spec.Name, err = stringField(at, m, "name"); err != nil {
				return nil, err
			}
			if raw, ok := m["description"]; ok && !isNull(raw) {
				d, err := stringField(at, m, "description")
				if err != nil {
					return nil, err
				}
				spec.Description = &d
			}
			if raw, ok := m["strict"]; ok && !isNull(raw) {
				var strict bool
				if err := json.Unmarshal(raw, &strict); err != nil {
					return nil, invalid(at, "strict must be a boolean")
				}
				spec.Strict = &strict
			}
			if isNull(spec.InputSchema.JSON) {
				return nil, invalid(at, "input_schema is required")
			}
			specs = append(specs, converseTool{ToolSpec: spec})
			cp, err := cachePointFrom(at, m["cache_control"])
			if err != nil {
				return nil, err
			}
			if cp != nil {
				specs = append(specs, converseTool{CachePoint: cp})
			}
		}
	}

	var choice struct {
		Type                   string          `json:"type"`
		Name                   string          `json:"name"`
		DisableParallelToolUse json.RawMessage `json:"disable_parallel_tool_use"`
	}
	if !isNull(choiceRaw) {
		if err := json.Unmarshal(choiceRaw, &choice); err != nil {
			return nil, invalid("tool_choice", "must be an object")
		}
		switch choice.Type {
		case "auto", "any", "none":
		case "tool":
			if choice.Name == "" {
				return nil, invalid("tool_choice", "type \"tool\" needs a name")
			}
		default:
			return nil, invalid("tool_choice", "type %q is not one of auto, any, tool, none", choice.Type)
		}
	}

	if choice.Type == "none" && !t.toolBlocks {
		// Withholding the tools is what "none" means to the model, and is
		// the one form every Converse model accepts.
		return nil, nil
	}
	if len(typed) > 0 {
		list, _ := json.Marshal(typed)
		additional["tools"] = list
	}
	var tc *toolChoice
	switch {
	case isNull(choiceRaw):
	case choice.Type == "none" || !isNull(choice.DisableParallelToolUse) || len(specs) == 0:
		// Converse's ToolChoice cannot say it, or has no tools to apply
		// to: Claude reads tool_choice from the model fields.
		if len(specs) > 0 || len(typed) > 0 {
			additional["tool_choice"] = choiceRaw
		} else if choice.Type != "auto" {
			return nil, invalid("tool_choice", "type %q needs tools", choice.Type)
		}
	case choice.Type == "auto":
		tc = &toolChoice{Auto: &struct{}{}}
	case choice.Type == "any":
		tc = &toolChoice{Any: &struct{}{}}
	case choice.Type == "tool":
		tc = &toolChoice{Tool: &specificTool{Name: choice.Name}}
	}
	if len(specs) == 0 {
		return nil, nil
	}
	return &toolConfig{Tools: specs, ToolChoice: tc}, nil
}
