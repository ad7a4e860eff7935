package bedrock

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"

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
func foldSystem(r *claudebridge.Request) *claudebridge.Request {
	raw, ok := r.Fields["messages"]
	if !ok || !gjson.GetBytes(raw, `#(role=="system")`).Exists() {
		return r
	}
	var kept, blocks []json.RawMessage
	appendContent := func(c gjson.Result) {
		switch {
		case c.Type == gjson.String && c.Str != "":
			blocks = append(blocks, textBlock(c.Str))
		case c.IsArray():
			c.ForEach(func(_, b gjson.Result) bool {
				blocks = append(blocks, json.RawMessage(b.Raw))
				return true
			})
		}
	}
	appendContent(gjson.GetBytes(r.Fields["system"], "@this"))
	gjson.ParseBytes(raw).ForEach(func(_, m gjson.Result) bool {
		if m.Get("role").String() == "system" {
			appendContent(m.Get("content"))
		} else {
			kept = append(kept, json.RawMessage(m.Raw))
		}
		return true
	})
	out := r.Clone()
	msgs, _ := json.Marshal(kept)
	out.SetField("messages", msgs)
	if len(blocks) > 0 {
		sys, _ := json.Marshal(blocks)
		out.SetField("system", sys)
	}
	return out
}

func textBlock(text string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"type": "text", "text": text})
	return b
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
