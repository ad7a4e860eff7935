package bedrock

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/claudebridge/claudebridge"
)

// Claude Code (2.1.154 and later) puts role "system" turns in messages
// (MCP server instructions, reminders) when it takes the model for a
// recent one. A model that takes only user and assistant turns refuses the
// whole request; the gateway then folds those turns into the top-level
// system, as other gateways do, and remembers it for the model. Converse
// has no such role: there they are always folded.

// foldSystem returns r with the content of its role "system" messages
// appended, in order, to the top-level system; r itself if it has none.
// The messages kept and the blocks moved are the client's bytes: one walk
// of messages finds the turns, and the new fields are spliced from them.
func foldSystem(r *claudebridge.Request) *claudebridge.Request {
	raw, ok := r.Fields["messages"]
	if !ok {
		return r
	}
	var turns []span // every message
	var system []int // indices in turns of the role "system" ones
	if !eachElement(raw, func(s, e int) bool {
		if role, ok := member(raw[s:e], "role"); ok && isSystem(role) {
			system = append(system, len(turns))
		}
		turns = append(turns, span{s, e})
		return true
	}) || len(system) == 0 {
		return r
	}

	kept := make([]byte, 0, len(raw))
	kept = append(kept, '[')
	next := 0
	for i, t := range turns {
		if next < len(system) && system[next] == i {
			next++
			continue
		}
		if len(kept) > 1 {
			kept = append(kept, ',')
		}
		kept = append(kept, raw[t.from:t.to]...)
	}
	kept = append(kept, ']')

	blocks := []byte{'['}
	appendContent := func(c []byte) {
		switch {
		case len(c) > 0 && c[0] == '"':
			var text string
			if json.Unmarshal(c, &text) != nil || text == "" {
				return
			}
			blocks = appendBlock(blocks, textBlock(text))
		case len(c) > 0 && c[0] == '[':
			eachElement(c, func(s, e int) bool {
				blocks = appendBlock(blocks, c[s:e])
				return true
			})
		}
	}
	appendContent(trimSpace(r.Fields["system"]))
	for _, i := range system {
		t := raw[turns[i].from:turns[i].to]
		if c, ok := member(t, "content"); ok {
			appendContent(c)
		}
	}
	blocks = append(blocks, ']')

	out := r.Clone()
	out.SetField("messages", kept)
	if len(blocks) > 2 {
		out.SetField("system", blocks)
	}
	return out
}

// isSystem reports whether the raw JSON value role is the string "system".
func isSystem(role []byte) bool {
	if string(role) == `"system"` {
		return true
	}
	var s string
	return bytes.IndexByte(role, '\\') >= 0 && json.Unmarshal(role, &s) == nil && s == "system"
}

func appendBlock(blocks, b []byte) []byte {
	if len(blocks) > 1 {
		blocks = append(blocks, ',')
	}
	return append(blocks, b...)
}

func textBlock(text string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"type": "text", "text": text})
	return b
}

// eachElement calls fn with the bounds of every element of the JSON array
// b, in order, until fn returns false; it reports false when b is not an
// array.
func eachElement(b []byte, fn func(start, end int) bool) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return true
	}
	for i < len(b) {
		e, ok := skipValue(b, i)
		if !ok {
			return false
		}
		if !fn(i, e) {
			return true
		}
		i = skipSpace(b, e)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return true
		default:
			return false
		}
	}
	return false
}

// member returns the raw value of the first member key of the JSON object
// b (key compared as written, unescaped keys only).
func member(b []byte, key string) ([]byte, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		ke, ok := skipString(b, i)
		if !ok {
			return nil, false
		}
		k := b[i+1 : ke-1]
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		vs := skipSpace(b, i+1)
		ve, ok := skipValue(b, vs)
		if !ok {
			return nil, false
		}
		if string(k) == key {
			return b[vs:ve], true
		}
		i = skipSpace(b, ve)
		if i >= len(b) || b[i] != ',' {
			return nil, false
		}
		i = skipSpace(b, i+1)
	}
	return nil, false
}

func trimSpace(b []byte) []byte {
	i := skipSpace(b, 0)
	j := len(b)
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t' || b[j-1] == '\n' || b[j-1] == '\r') {
		j--
	}
	return b[i:j]
}

// refusesSystemRole reports whether a ValidationException says a message
// role is not one the model takes, in the forms validators word it.
func refusesSystemRole(msg string) bool {
	m := strings.ToLower(msg)
	if !strings.Contains(m, "role") {
		return false
	}
	return strings.Contains(m, "'user' or 'assistant'") || strings.Contains(m, `"user" or "assistant"`) ||
		strings.Contains(m, "got 'system'") || strings.Contains(m, "system") && strings.Contains(m, "enum")
}
