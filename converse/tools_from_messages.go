package converse

import (
	"encoding/json"
	"strconv"
)

// tools translates tools and tool_choice into a toolConfig's JSON (nil for
// none). Tools that are not custom tools, and a tool_choice Converse cannot
// say, are added to additional (additionalModelRequestFields); see the
// package comment.
func (t *blockTranslator) tools(toolsRaw, choiceRaw json.RawMessage, additional map[string]json.RawMessage) ([]byte, error) {
	var specs, typed []byte
	if !isNull(toolsRaw) {
		r := jsonReader{b: toolsRaw, trusted: t.trusted}
		if r.next() != '[' {
			return nil, invalid("tools", "must be an array")
		}
		specs = make([]byte, 0, len(toolsRaw)+len(toolsRaw)/8)
		err := r.array(func(i int) error {
			at := "tools." + strconv.Itoa(i)
			tool, err := r.value()
			if err != nil {
				return err
			}
			var f toolFields
			if err := f.read(at, tool, t.trusted); err != nil {
				return err
			}
			if f.typ != "" && f.typ != "custom" {
				typed = appendElem(typed, tool)
				return nil
			}
			specs, err = f.toolSpec(at, specs)
			return err
		})
		if err != nil {
			return nil, err
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
		additional["tools"] = append(typed, ']')
	}
	var tc string
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
		tc = `{"auto":{}}`
	case choice.Type == "any":
		tc = `{"any":{}}`
	case choice.Type == "tool":
		tc = string(quote([]byte(`{"tool":{"name":`), choice.Name)) + `}}`
	}
	if len(specs) == 0 {
		return nil, nil
	}
	out := make([]byte, 0, len(specs)+len(tc)+32)
	out = append(out, `{"tools":`...)
	out = append(out, specs...)
	out = append(out, ']')
	if tc != "" {
		out = append(out, `,"toolChoice":`...)
		out = append(out, tc...)
	}
	return append(out, '}'), nil
}

// appendElem adds raw to a JSON array being written, opening it first; the
// caller closes it.
func appendElem(list, raw []byte) []byte {
	if len(list) == 0 {
		list = append(list, '[')
	} else {
		list = append(list, ',')
	}
	return append(list, raw...)
}

// toolFields are the fields of one Messages tool, as sent.
type toolFields struct {
	typ                                          string
	unknown                                      string
	name, description, schema, cache, strictFlag []byte
}

func (f *toolFields) read(at string, raw []byte, trusted bool) error {
	r := jsonReader{b: raw, trusted: trusted}
	if r.next() != '{' {
		return invalid(at, "expected an object")
	}
	return r.object(func(key []byte) error {
		v, err := r.value()
		if err != nil {
			return err
		}
		switch string(key) {
		case "type":
			if !isNull(v) {
				if v[0] != '"' {
					return invalid(at, "type must be a string")
				}
				f.typ = unquote(v)
			}
		case "name":
			f.name = v
		case "description":
			f.description = v
		case "input_schema":
			f.schema = v
		case "cache_control":
			f.cache = v
		case "strict":
			f.strictFlag = v
		default:
			if f.unknown == "" {
				f.unknown = string(key)
			}
		}
		return nil
	})
}

// toolSpec appends the ToolSpecification of a custom tool (and its cache
// point) to the tools list being written.
func (f *toolFields) toolSpec(at string, specs []byte) ([]byte, error) {
	if f.unknown != "" {
		return nil, invalid(at, "field %q of a custom tool has no Converse equivalent", f.unknown)
	}
	name := []byte(`""`)
	if !isNull(f.name) {
		if f.name[0] != '"' {
			return nil, invalid(at, "name must be a string")
		}
		name = f.name
	}
	if isNull(f.schema) {
		return nil, invalid(at, "input_schema is required")
	}
	specs = appendElem(specs, []byte(`{"toolSpec":{"name":`))
	specs = append(specs, name...)
	if !isNull(f.description) {
		if f.description[0] != '"' {
			return nil, invalid(at, "description must be a string")
		}
		specs = append(specs, `,"description":`...)
		specs = append(specs, f.description...)
	}
	specs = append(specs, `,"inputSchema":{"json":`...)
	specs = append(specs, f.schema...)
	specs = append(specs, '}')
	if !isNull(f.strictFlag) {
		switch string(f.strictFlag) {
		case "true", "false":
			specs = append(specs, `,"strict":`...)
			specs = append(specs, f.strictFlag...)
		default:
			return nil, invalid(at, "strict must be a boolean")
		}
	}
	specs = append(specs, `}}`...)
	cp, err := cachePointFrom(at, f.cache)
	if err != nil {
		return nil, err
	}
	if cp != nil {
		specs = append(specs, `,{"cachePoint":`...)
		specs = append(specs, cp...)
		specs = append(specs, '}')
	}
	return specs, nil
}
