package anthropic

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/claudebridge/claudebridge"
)

// MaxBodyBytes is the largest request body the Messages API takes.
const MaxBodyBytes = 32 << 20

// Beta1MContext is the beta that opens the 1M-token context window; clients
// such as Claude Code ask for it with a "[1m]" suffix on the model id.
const Beta1MContext = "context-1m-2025-08-07"

const suffix1M = "[1m]"

// ParseRequest validates a Messages body and its headers the way the
// Anthropic API does and returns the request. Errors are EINVALID and name
// the field at fault. countTokens relaxes the rules that count_tokens does
// not have (max_tokens).
func ParseRequest(body []byte, header http.Header, countTokens bool) (*claudebridge.Request, error) {
	r := &claudebridge.Request{Body: body}
	if err := json.Unmarshal(body, &r.Fields); err != nil || r.Fields == nil {
		return nil, invalid("The request body is not valid JSON")
	}
	if err := validate(r, countTokens); err != nil {
		return nil, err
	}
	r.Version = header.Get("anthropic-version")
	r.Betas = Betas(header)
	if m, ok := strings.CutSuffix(r.Model, suffix1M); ok {
		if strings.TrimSpace(m) == "" {
			return nil, invalid("model: a model id is required before %s", suffix1M)
		}
		r.Model = m
		r.SetField("model", mustQuote(m))
		if !contains(r.Betas, Beta1MContext) {
			r.Betas = append(r.Betas, Beta1MContext)
		}
	}
	return r, nil
}

// Betas returns the anthropic-beta flags of a request: comma-separated, in
// one or more header lines, trimmed, without duplicates.
func Betas(header http.Header) []string {
	var betas []string
	for _, line := range header.Values("anthropic-beta") {
		for _, b := range strings.Split(line, ",") {
			if b = strings.TrimSpace(b); b != "" && !contains(betas, b) {
				betas = append(betas, b)
			}
		}
	}
	return betas
}

func validate(r *claudebridge.Request, countTokens bool) error {
	f := r.Fields
	raw, ok := f["model"]
	if !ok {
		return invalid("model: Field required")
	}
	var plain bool
	if r.Model, plain = plainString(raw); !plain {
		if err := json.Unmarshal(raw, &r.Model); err != nil {
			return invalid("model: Input should be a valid string")
		}
	}
	if strings.TrimSpace(r.Model) == "" {
		return invalid("model: String should have at least 1 character")
	}
	if raw, ok := f["stream"]; ok && !isNull(raw) {
		switch string(raw) {
		case "true":
			r.Stream = true
		case "false":
		default:
			return invalid("stream: Input should be a valid boolean")
		}
	}
	if !countTokens {
		raw, ok := f["max_tokens"]
		if !ok {
			return invalid("max_tokens: Field required")
		}
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return invalid("max_tokens: Input should be a valid integer")
		}
		if n < 1 {
			return invalid("max_tokens: Input should be greater than or equal to 1")
		}
	}
	if err := validateMessages(f["messages"]); err != nil {
		return err
	}
	if raw, ok := f["system"]; ok && !isNull(raw) && raw[0] != '"' && raw[0] != '[' {
		return invalid("system: Input should be a valid string or a list of text blocks")
	}
	for _, name := range []string{"temperature", "top_p"} {
		// The body is valid JSON already: a value that starts like a
		// number is one.
		if raw, ok := f[name]; ok && !isNull(raw) && !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
			return invalid("%s: Input should be a valid number", name)
		}
	}
	if raw, ok := f["top_k"]; ok && !isNull(raw) {
		if _, err := strconv.ParseInt(string(raw), 10, 64); err != nil {
			return invalid("top_k: Input should be a valid integer")
		}
	}
	if raw, ok := f["stop_sequences"]; ok && !isNull(raw) {
		var s []string
		if err := json.Unmarshal(raw, &s); err != nil {
			return invalid("stop_sequences: Input should be a valid list of strings")
		}
	}
	for _, name := range []string{"tools"} {
		if raw, ok := f[name]; ok && !isNull(raw) {
			// Only the names are read: Claude Code sends dozens of tools
			// with large schemas on every call.
			// A null element decodes to a nil pointer, not to an object.
			var list []*struct {
				Name json.RawMessage `json:"name"`
			}
			if err := json.Unmarshal(raw, &list); err != nil || slices.Contains(list, nil) {
				return invalid("%s: Input should be a valid list of objects", name)
			}
			for i, t := range list {
				if t.Name == nil {
					return invalid("%s.%d.name: Field required", name, i)
				}
			}
		}
	}
	for _, name := range []string{"metadata", "tool_choice", "thinking"} {
		if raw, ok := f[name]; ok && !isNull(raw) && raw[0] != '{' {
			return invalid("%s: Input should be a valid object", name)
		}
	}
	return nil
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// validateMessages checks the messages in one decoding; only a list it
// finds fault with is examined again, message by message, to name the
// field at fault.
func validateMessages(raw json.RawMessage) error {
	var msgs []*message // a null element decodes to nil, not to an object
	if json.Unmarshal(raw, &msgs) == nil && len(msgs) > 0 {
		fine := true
		for _, m := range msgs {
			if m == nil {
				fine = false
				break
			}
			c := m.Content
			if m.Role == "" || len(c) == 0 || (c[0] != '"' && c[0] != '[') || (c[0] == '[' && !contentBlocksTyped(c)) {
				fine = false
				break
			}
		}
		if fine {
			return nil
		}
	}
	return explainMessages(raw)
}

// contentBlocksTyped reports whether every block of a content list has a type.
func contentBlocksTyped(c json.RawMessage) bool {
	var blocks []struct {
		Type *string `json:"type"`
	}
	if json.Unmarshal(c, &blocks) != nil {
		return false
	}
	for _, b := range blocks {
		if b.Type == nil {
			return false
		}
	}
	return true
}

// explainMessages finds the message and field at fault.
func explainMessages(raw json.RawMessage) error {
	if raw == nil {
		return invalid("messages: Field required")
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return invalid("messages: Input should be a valid list")
	}
	if len(msgs) == 0 {
		return invalid("messages: at least one message is required")
	}
	for i, rm := range msgs {
		var m message
		if err := json.Unmarshal(rm, &m); err != nil || bytes.TrimSpace(rm)[0] != '{' {
			return invalid("messages.%d: Input should be a valid object", i)
		}
		// Which roles exist is the upstream's to say: newer API versions
		// add some (Claude Code sends "system" turns), so only presence is
		// checked here.
		if m.Role == "" {
			return invalid("messages.%d.role: Field required", i)
		}
		c := bytes.TrimSpace(m.Content)
		switch {
		case len(c) == 0:
			return invalid("messages.%d.content: Field required", i)
		case c[0] == '"':
		case c[0] == '[':
			var blocks []struct {
				Type *string `json:"type"`
			}
			if err := json.Unmarshal(c, &blocks); err != nil {
				return invalid("messages.%d.content: Input should be a valid list of content blocks", i)
			}
			for j, b := range blocks {
				if b.Type == nil {
					return invalid("messages.%d.content.%d.type: Field required", i, j)
				}
			}
		default:
			return invalid("messages.%d.content: Input should be a valid string or a list of content blocks", i)
		}
	}
	return nil
}

func invalid(format string, args ...any) error {
	return claudebridge.Errorf(claudebridge.EINVALID, format, args...)
}

// plainString returns the text of a JSON string without escapes, the common
// case, without decoding it; ok is false for anything else.
func plainString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
		return "", false
	}
	return string(raw[1 : len(raw)-1]), true
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustQuote(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
