package anthropic

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

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
	if err := checkUTF8(body); err != nil {
		return nil, err
	}
	scan, surrogate := scanRequest(body)
	if surrogate != nil {
		return nil, surrogate
	}
	if scan == nil {
		return nil, invalid("The request body is not valid JSON")
	}
	r.Fields = scan.fields
	if err := validate(r, scan, countTokens); err != nil {
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

// checkUTF8 refuses a body that is not UTF-8 as the Anthropic API does: its
// JSON decoder reads bytes as UTF-8 first, and its refusal is Python's
// ("'utf-8' codec can't decode byte 0xff in position 12: invalid start
// byte") behind "The request body is not valid JSON: ". utf8.Valid runs
// at memory speed on the ASCII that most of a body is.
func checkUTF8(body []byte) error {
	if utf8.Valid(body) {
		return nil
	}
	for i := 0; i < len(body); {
		c, n := utf8.DecodeRune(body[i:])
		if c != utf8.RuneError || n > 1 {
			i += n
			continue
		}
		why := "invalid start byte"
		if want := leadLength(body[i]); want > 1 {
			why = "invalid continuation byte"
			if len(body)-i < want && allContinuation(body[i+1:]) {
				why = "unexpected end of data"
			}
		}
		return invalid("The request body is not valid JSON: 'utf-8' codec can't decode byte 0x%02x in position %d: %s", body[i], i, why)
	}
	return nil
}

// leadLength is the length of the UTF-8 sequence b starts, 0 when b
// starts none.
func leadLength(b byte) int {
	switch {
	case b >= 0xC2 && b <= 0xDF:
		return 2
	case b >= 0xE0 && b <= 0xEF:
		return 3
	case b >= 0xF0 && b <= 0xF4:
		return 4
	}
	return 0
}

func allContinuation(b []byte) bool {
	for _, c := range b {
		if c&0xC0 != 0x80 {
			return false
		}
	}
	return true
}

// topLevelFields returns the fields of a JSON object, each value a slice of
// body (no copy); nil if body is not valid JSON or not an object. Like
// encoding/json, a repeated name keeps its last value. ParseRequest has them
// from its scan; this is for the tests that hold the scan to encoding/json.
func topLevelFields(body []byte) map[string]json.RawMessage {
	if r, _ := scanRequest(body); r != nil {
		return r.fields
	}
	return nil
}

// UsageOf reads the usage of a complete Messages answer, without decoding
// the rest of it.
func UsageOf(body []byte) claudebridge.Usage {
	return usageIn(gjson.GetBytes(body, "usage"))
}

// CheckedUsageOf is UsageOf for an answer not yet known to be well formed:
// false if body is not JSON (as encoding/json has it) or its usage is not
// an object. The usage comes last in an answer: the check and the search
// are one scan.
func CheckedUsageOf(body []byte) (claudebridge.Usage, bool) {
	usage, ok := scanForUsage(body)
	if !ok {
		return claudebridge.Usage{}, false
	}
	if usage == nil {
		return claudebridge.Usage{}, true
	}
	u := gjson.ParseBytes(usage)
	if !u.IsObject() {
		return claudebridge.Usage{}, false
	}
	return usageIn(u), true
}

func usageIn(u gjson.Result) claudebridge.Usage {
	return claudebridge.Usage{
		InputTokens:              int(u.Get("input_tokens").Int()),
		OutputTokens:             int(u.Get("output_tokens").Int()),
		CacheCreationInputTokens: int(u.Get("cache_creation_input_tokens").Int()),
		CacheReadInputTokens:     int(u.Get("cache_read_input_tokens").Int()),
		CacheCreation: claudebridge.CacheCreation{
			Ephemeral5mInputTokens: int(u.Get("cache_creation.ephemeral_5m_input_tokens").Int()),
			Ephemeral1hInputTokens: int(u.Get("cache_creation.ephemeral_1h_input_tokens").Int()),
		},
	}
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

// validate checks the fields of r in the order the API does, with the
// verdicts of the scan on the large ones.
func validate(r *claudebridge.Request, scan *scanned, countTokens bool) error {
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
	if !scan.messagesFine {
		if err := explainMessages(f["messages"]); err != nil {
			return err
		}
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
		// What decodes into []string: a list of strings and nulls.
		list := gjson.ParseBytes(raw)
		fine := list.IsArray()
		list.ForEach(func(_, v gjson.Result) bool {
			fine = fine && (v.Type == gjson.String || v.Type == gjson.Null)
			return fine
		})
		if !fine {
			return invalid("stop_sequences: Input should be a valid list of strings")
		}
	}
	if raw, ok := f["tools"]; ok && !isNull(raw) && scan.toolsFault != nil {
		return scan.toolsFault
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

// messagesFine is the common case of a messages value: a non-empty list of
// objects, each with a non-empty string role and a content that is a
// string or a list of objects with a string type. It errs only towards
// false, where explainMessages decides. ParseRequest has this verdict from
// its scan of the whole body; this judges one value alone.
func messagesFine(raw json.RawMessage) bool {
	s := &scanner{b: raw}
	if s.space(); s.i >= len(s.b) {
		return false
	}
	fine, ok := s.messages()
	return fine && ok
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
