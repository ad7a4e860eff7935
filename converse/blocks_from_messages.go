package converse

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	claudebridge "github.com/claudebridge/claudebridge"
)

// invalid returns the EINVALID error used for everything a client sent that
// cannot be translated; at names the place, as in "messages.0.content.2".
func invalid(at, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if at != "" {
		msg = at + ": " + msg
	}
	return claudebridge.Errorf(claudebridge.EINVALID, "%s", msg)
}

// isNull reports whether raw is absent or JSON null; Messages clients send
// null for "not set" as often as they leave a field out.
func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// blockTranslator turns Messages content blocks into Converse blocks. It
// counts documents so that unnamed ones get distinct names.
type blockTranslator struct {
	documents int
	// toolBlocks is set once a tool_use or tool_result block was seen:
	// Bedrock then requires a toolConfig.
	toolBlocks bool
}

// object decodes one JSON object into its fields, or fails naming at.
func object(at string, raw json.RawMessage) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, invalid(at, "expected an object")
	}
	return m, nil
}

// stringField reads the string field key of m; a missing or null field is "".
func stringField(at string, m map[string]json.RawMessage, key string) (string, error) {
	raw, ok := m[key]
	if !ok || isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", invalid(at, "%s must be a string", key)
	}
	return s, nil
}

// onlyKeys fails on the first field of m not in allowed, so that nothing a
// client sent is dropped without a word.
func onlyKeys(at string, m map[string]json.RawMessage, kind string, allowed ...string) error {
	for _, k := range sortedKeys(m) {
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
				break
			}
		}
		if !known {
			return invalid(at, "field %q of a %s has no Converse equivalent", k, kind)
		}
	}
	return nil
}

// content translates a Messages content value, a string or an array of
// blocks, into Converse blocks.
func (t *blockTranslator) content(at string, raw json.RawMessage) ([]converseBlock, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []converseBlock{{Text: &s}}, nil
	}
	var blocks []json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, invalid(at, "content must be a string or an array of content blocks")
	}
	out := make([]converseBlock, 0, len(blocks))
	for i, b := range blocks {
		converted, err := t.block(fmt.Sprintf("%s.%d", at, i), b)
		if err != nil {
			return nil, err
		}
		out = append(out, converted...)
	}
	return out, nil
}

// block translates one Messages content block: the block itself and, when
// it carries cache_control, a cache point after it.
func (t *blockTranslator) block(at string, raw json.RawMessage) ([]converseBlock, error) {
	m, err := object(at, raw)
	if err != nil {
		return nil, err
	}
	typ, err := stringField(at, m, "type")
	if err != nil {
		return nil, err
	}
	var b converseBlock
	var hoisted *cachePoint
	switch typ {
	case "text":
		// citations annotate an earlier answer of the model; the text is
		// what the model reads, and Converse has no field for them.
		if err := onlyKeys(at, m, "text block", "type", "text", "cache_control", "citations"); err != nil {
			return nil, err
		}
		var text string
		if err := json.Unmarshal(m["text"], &text); err != nil {
			return nil, invalid(at, "text must be a string")
		}
		b.Text = &text
	case "image":
		if err := onlyKeys(at, m, "image block", "type", "source", "cache_control"); err != nil {
			return nil, err
		}
		img, err := imageFromMessages(at, m["source"])
		if err != nil {
			return nil, err
		}
		b.Image = img
	case "document":
		if err := onlyKeys(at, m, "document block", "type", "source", "title", "context", "citations", "cache_control"); err != nil {
			return nil, err
		}
		doc, err := t.document(at, m)
		if err != nil {
			return nil, err
		}
		b.Document = doc
	case "tool_use":
		if err := onlyKeys(at, m, "tool_use block", "type", "id", "name", "input", "cache_control"); err != nil {
			return nil, err
		}
		id, err := stringField(at, m, "id")
		if err != nil {
			return nil, err
		}
		name, err := stringField(at, m, "name")
		if err != nil {
			return nil, err
		}
		input := m["input"]
		if isNull(input) {
			input = json.RawMessage("{}")
		}
		t.toolBlocks = true
		b.ToolUse = &toolUseBlock{ToolUseID: id, Name: name, Input: input}
	case "tool_result":
		if err := onlyKeys(at, m, "tool_result block", "type", "tool_use_id", "content", "is_error", "cache_control"); err != nil {
			return nil, err
		}
		result, inner, err := t.toolResult(at, m)
		if err != nil {
			return nil, err
		}
		t.toolBlocks = true
		b.ToolResult = result
		hoisted = inner
	case "thinking":
		if err := onlyKeys(at, m, "thinking block", "type", "thinking", "signature"); err != nil {
			return nil, err
		}
		text, err := stringField(at, m, "thinking")
		if err != nil {
			return nil, err
		}
		sig, err := stringField(at, m, "signature")
		if err != nil {
			return nil, err
		}
		b.ReasoningContent = &reasoningContent{ReasoningText: &reasoningText{Text: text, Signature: sig}}
	case "redacted_thinking":
		if err := onlyKeys(at, m, "redacted_thinking block", "type", "data"); err != nil {
			return nil, err
		}
		data, err := stringField(at, m, "data")
		if err != nil {
			return nil, err
		}
		b.ReasoningContent = &reasoningContent{RedactedContent: []byte(data)}
	case "":
		return nil, invalid(at, "content block has no type")
	default:
		return nil, invalid(at, "content block type %q has no Converse equivalent", typ)
	}
	out := []converseBlock{b}
	cp, err := cachePointFrom(at, m["cache_control"])
	if err != nil {
		return nil, err
	}
	if cp == nil {
		cp = hoisted
	}
	if cp != nil {
		out = append(out, converseBlock{CachePoint: cp})
	}
	return out, nil
}

// cachePointFrom translates a cache_control value; nil when there is none.
func cachePointFrom(at string, raw json.RawMessage) (*cachePoint, error) {
	if isNull(raw) {
		return nil, nil
	}
	m, err := object(at+".cache_control", raw)
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(at+".cache_control", m, "cache_control", "type", "ttl"); err != nil {
		return nil, err
	}
	typ, err := stringField(at, m, "type")
	if err != nil {
		return nil, err
	}
	if typ != "ephemeral" {
		return nil, invalid(at, "cache_control type %q is not supported; only \"ephemeral\"", typ)
	}
	ttl, err := stringField(at, m, "ttl")
	if err != nil {
		return nil, err
	}
	return &cachePoint{Type: "default", TTL: ttl}, nil
}

// imageFormats maps Messages media types to Converse image formats.
var imageFormats = map[string]string{
	"image/png":  "png",
	"image/jpeg": "jpeg",
	"image/gif":  "gif",
	"image/webp": "webp",
}

func imageFromMessages(at string, raw json.RawMessage) (*imageBlock, error) {
	src, err := object(at+".source", raw)
	if err != nil {
		return nil, err
	}
	typ, _ := stringField(at, src, "type")
	if typ != "base64" {
		return nil, invalid(at, "image source type %q has no Converse equivalent; send the image as base64", typ)
	}
	media, err := stringField(at, src, "media_type")
	if err != nil {
		return nil, err
	}
	format, ok := imageFormats[media]
	if !ok {
		return nil, invalid(at, "image media_type %q is not supported", media)
	}
	data, err := stringField(at, src, "data")
	if err != nil {
		return nil, err
	}
	return &imageBlock{Format: format, Source: bytesSource{Bytes: &data}}, nil
}

func (t *blockTranslator) document(at string, m map[string]json.RawMessage) (*documentBlock, error) {
	src, err := object(at+".source", m["source"])
	if err != nil {
		return nil, err
	}
	t.documents++
	title, err := stringField(at, m, "title")
	if err != nil {
		return nil, err
	}
	doc := &documentBlock{Name: documentName(title, t.documents)}
	if raw, ok := m["context"]; ok && !isNull(raw) {
		c, err := stringField(at, m, "context")
		if err != nil {
			return nil, err
		}
		doc.Context = &c
	}
	if raw, ok := m["citations"]; ok && !isNull(raw) {
		var c citationsConfig
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, invalid(at, "citations must be {\"enabled\": bool}")
		}
		doc.Citations = &c
	}
	typ, _ := stringField(at, src, "type")
	media, _ := stringField(at, src, "media_type")
	switch {
	case typ == "base64" && media == "application/pdf":
		data, err := stringField(at, src, "data")
		if err != nil {
			return nil, err
		}
		doc.Format = "pdf"
		doc.Source.Bytes = &data
	case typ == "text":
		// Plain text travels as bytes: the bytes source is understood by
		// every model that takes documents, the text source is newer.
		data, err := stringField(at, src, "data")
		if err != nil {
			return nil, err
		}
		encoded := base64.StdEncoding.EncodeToString([]byte(data))
		doc.Format = "txt"
		doc.Source.Bytes = &encoded
	case typ == "content":
		blocks, err := t.content(at+".source.content", src["content"])
		if err != nil {
			return nil, err
		}
		for _, b := range blocks {
			if b.Text == nil {
				return nil, invalid(at, "a content document may hold only text blocks on Converse")
			}
		}
		doc.Source.Content = blocks
	default:
		return nil, invalid(at, "document source type %q (media_type %q) has no Converse equivalent", typ, media)
	}
	return doc, nil
}

// documentName makes a Converse document name from a Messages title.
// Converse allows only letters, digits, single spaces, hyphens, parentheses
// and square brackets; other characters become spaces. A missing title
// becomes "Document n", n counting the documents of the request from 1.
func documentName(title string, n int) string {
	var b strings.Builder
	space := false
	for _, r := range title {
		ok := r == '-' || r == '(' || r == ')' || r == '[' || r == ']' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return fmt.Sprintf("Document %d", n)
	}
	return b.String()
}

// toolResult translates a tool_result block. A cache_control on one of its
// inner blocks is returned so that the caller places it after the block.
func (t *blockTranslator) toolResult(at string, m map[string]json.RawMessage) (*toolResultBlock, *cachePoint, error) {
	id, err := stringField(at, m, "tool_use_id")
	if err != nil {
		return nil, nil, err
	}
	r := &toolResultBlock{ToolUseID: id, Content: []converseBlock{}}
	if raw, ok := m["is_error"]; ok && !isNull(raw) {
		var isError bool
		if err := json.Unmarshal(raw, &isError); err != nil {
			return nil, nil, invalid(at, "is_error must be a boolean")
		}
		r.Status = "success"
		if isError {
			r.Status = "error"
		}
	}
	raw, ok := m["content"]
	if !ok || isNull(raw) {
		return r, nil, nil
	}
	inner, err := t.content(at+".content", raw)
	if err != nil {
		return nil, nil, err
	}
	var hoisted *cachePoint
	for _, b := range inner {
		switch {
		case b.CachePoint != nil:
			hoisted = b.CachePoint
		case b.Text != nil, b.Image != nil, b.Document != nil:
			r.Content = append(r.Content, b)
		default:
			return nil, nil, invalid(at, "a tool_result may hold only text, image and document blocks")
		}
	}
	return r, hoisted, nil
}
