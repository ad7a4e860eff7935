package converse

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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

// notJSON turns a syntax error of the reader into the EINVALID error named
// after what was being read; other errors pass unchanged.
func notJSON(what string, err error) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return invalid("", "%s is not valid JSON (byte %d)", what, se.offset)
	}
	return err
}

// isNull reports whether raw is absent or JSON null; Messages clients send
// null for "not set" as often as they leave a field out.
func isNull(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}

// errType is returned by the typed reads when the value has another type;
// the caller names the field.
var errType = errors.New("unexpected JSON type")

// text reads a string, or null as the empty string, and returns it quoted.
func (r *jsonReader) text() ([]byte, error) {
	switch r.next() {
	case '"':
		return r.str()
	case 'n':
		if err := r.literal("null"); err != nil {
			return nil, err
		}
		return []byte(`""`), nil
	}
	return nil, errType
}

// blockTranslator turns Messages content blocks into Converse blocks,
// writing the Converse JSON as it reads the Messages JSON. It counts
// documents so that unnamed ones get distinct names.
type blockTranslator struct {
	// trusted is set when the Messages JSON is known to be valid: see
	// jsonReader.
	trusted   bool
	documents int
	// toolBlocks is set once a tool_use or tool_result block was seen:
	// Bedrock then requires a toolConfig.
	toolBlocks bool
	// answer is set when the blocks are a model's answer (a Converse
	// response made from a Messages one): cited text becomes a
	// citationsContent block, and block fields Converse cannot say (those
	// the Anthropic API adds, such as tool_use's caller) are dropped.
	answer bool
	// replay is set while the blocks of an assistant turn are read: they
	// are an earlier answer, so fields Converse cannot say are dropped
	// there too, rather than failing the request.
	replay bool
}

// contentKind says which blocks a content value may hold.
type contentKind int

const (
	anyBlocks        contentKind = iota
	systemBlocks                 // text, and cache points
	toolResultBlocks             // text, image, document; a cache point is hoisted
	documentBlocks               // text only
)

// content translates a Messages content value, a string or an array of
// blocks, at r into a Converse array of blocks appended to out. For
// toolResultBlocks the cache point of an inner block is returned rather
// than written, for the caller to place after the toolResult.
func (t *blockTranslator) content(r *jsonReader, at string, kind contentKind, out []byte) ([]byte, []byte, error) {
	switch r.next() {
	case '"':
		s, err := r.str()
		if err != nil {
			return nil, nil, err
		}
		out = append(out, `[{"text":`...)
		out = append(out, s...)
		return append(out, `}]`...), nil, nil
	case '[':
	default:
		return nil, nil, invalid(at, "content must be a string or an array of content blocks")
	}
	out = append(out, '[')
	var hoisted []byte
	n := 0
	err := r.array(func(i int) error {
		bat := at + "." + strconv.Itoa(i)
		var b blockFields
		if err := b.read(r, bat); err != nil {
			return err
		}
		start := len(out)
		if n > 0 {
			out = append(out, ',')
		}
		var cp []byte
		var err error
		out, cp, err = t.block(&b, bat, out)
		if err != nil {
			return err
		}
		switch kind {
		case systemBlocks:
			if b.typ != "text" {
				return invalid(bat, "the system prompt may hold only text blocks")
			}
		case documentBlocks:
			if b.typ != "text" || cp != nil {
				return invalid(at, "a content document may hold only text blocks on Converse")
			}
		case toolResultBlocks:
			switch b.typ {
			case "text", "image", "document":
			default:
				return invalid(at, "a tool_result may hold only text, image and document blocks")
			}
			if cp != nil {
				hoisted, cp = cp, nil
			}
		}
		if cp != nil {
			out = append(out, `,{"cachePoint":`...)
			out = append(out, cp...)
			out = append(out, '}')
		}
		if len(out) > start {
			n++
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return append(out, ']'), hoisted, nil
}

// The fields a Messages content block may have, one bit each.
const (
	fType = 1 << iota
	fText
	fCacheControl
	fCitations
	fSource
	fTitle
	fContext
	fID
	fName
	fInput
	fToolUseID
	fContent
	fIsError
	fThinking
	fSignature
	fData
)

var blockFieldNames = map[string]int{
	"type": fType, "text": fText, "cache_control": fCacheControl, "citations": fCitations,
	"source": fSource, "title": fTitle, "context": fContext, "id": fID, "name": fName,
	"input": fInput, "tool_use_id": fToolUseID, "content": fContent, "is_error": fIsError,
	"thinking": fThinking, "signature": fSignature, "data": fData,
}

// blockFields are the fields of one Messages content block, each the bytes
// the client sent. The block is read once; its type may come last.
type blockFields struct {
	trusted bool
	typ     string
	present int
	unknown string // the first field no block type has
	raw     [16][]byte
}

func (b *blockFields) get(field int) []byte {
	for i := 0; i < len(b.raw); i++ {
		if field == 1<<i {
			return b.raw[i]
		}
	}
	return nil
}

func (b *blockFields) read(r *jsonReader, at string) error {
	b.trusted = r.trusted
	if r.next() != '{' {
		return invalid(at, "expected an object")
	}
	return r.object(func(key []byte) error {
		v, err := r.value()
		if err != nil {
			return err
		}
		f, ok := blockFieldNames[string(key)]
		if !ok {
			if b.unknown == "" {
				b.unknown = string(key)
			}
			return nil
		}
		b.present |= f
		for i := 0; i < len(b.raw); i++ {
			if f == 1<<i {
				b.raw[i] = v
			}
		}
		return nil
	})
}

// only fails on the first field present that a block of this kind does
// not have, so that nothing a client sent is dropped without a word; in an
// answer or a replayed one such fields are dropped (see blockTranslator).
func (t *blockTranslator) only(b *blockFields, at, kind string, allowed int) error {
	if t.answer || t.replay {
		return nil
	}
	if b.unknown != "" {
		return invalid(at, "field %q of a %s has no Converse equivalent", b.unknown, kind)
	}
	if extra := b.present &^ allowed; extra != 0 {
		for name, f := range blockFieldNames {
			if extra&f != 0 {
				return invalid(at, "field %q of a %s has no Converse equivalent", name, kind)
			}
		}
	}
	return nil
}

// str returns field as a quoted string; absent or null is "".
func (b *blockFields) str(at string, field int, name string) ([]byte, error) {
	raw := b.get(field)
	if raw == nil {
		return []byte(`""`), nil
	}
	r := jsonReader{b: raw, trusted: b.trusted}
	s, err := r.text()
	if err != nil {
		return nil, invalid(at, "%s must be a string", name)
	}
	return s, nil
}

// block translates one Messages content block into out and returns the
// cache point its cache_control asks for (nil when none).
func (t *blockTranslator) block(b *blockFields, at string, out []byte) ([]byte, []byte, error) {
	if raw := b.get(fType); raw != nil {
		r := jsonReader{b: raw}
		s, err := r.text()
		if err != nil {
			return nil, nil, invalid(at, "type must be a string")
		}
		b.typ = unquote(s)
	}
	var hoisted []byte
	switch b.typ {
	case "text":
		// In a request, citations annotate an earlier answer of the model;
		// the text is what the model reads, and is sent alone.
		if err := t.only(b, at, "text block", fType|fText|fCacheControl|fCitations); err != nil {
			return nil, nil, err
		}
		text := b.get(fText)
		r := jsonReader{b: text}
		if text == nil || r.next() != '"' {
			return nil, nil, invalid(at, "text must be a string")
		}
		if cites := citationsToConverse(b.get(fCitations)); t.answer && cites != nil {
			// A cited answer: the text and its citations, as Bedrock
			// returns them.
			out = append(out, `{"citationsContent":{"content":[{"text":`...)
			out = append(out, text...)
			out = append(out, `}],"citations":`...)
			c, _ := json.Marshal(cites)
			out = append(out, c...)
			out = append(out, `}}`...)
			break
		}
		out = append(out, `{"text":`...)
		out = append(out, text...)
		out = append(out, '}')
	case "image":
		if err := t.only(b, at, "image block", fType|fSource|fCacheControl); err != nil {
			return nil, nil, err
		}
		var err error
		if out, err = imageFromMessages(at, b.get(fSource), b.trusted, out); err != nil {
			return nil, nil, err
		}
	case "document":
		if err := t.only(b, at, "document block", fType|fSource|fTitle|fContext|fCitations|fCacheControl); err != nil {
			return nil, nil, err
		}
		var err error
		if out, err = t.document(at, b, out); err != nil {
			return nil, nil, err
		}
	case "tool_use":
		if err := t.only(b, at, "tool_use block", fType|fID|fName|fInput|fCacheControl); err != nil {
			return nil, nil, err
		}
		id, err := b.str(at, fID, "id")
		if err != nil {
			return nil, nil, err
		}
		name, err := b.str(at, fName, "name")
		if err != nil {
			return nil, nil, err
		}
		input := b.get(fInput)
		if isNull(input) {
			input = []byte("{}")
		}
		t.toolBlocks = true
		out = append(out, `{"toolUse":{"toolUseId":`...)
		out = append(out, id...)
		out = append(out, `,"name":`...)
		out = append(out, name...)
		out = append(out, `,"input":`...)
		out = append(out, input...)
		out = append(out, `}}`...)
	case "tool_result":
		if err := t.only(b, at, "tool_result block", fType|fToolUseID|fContent|fIsError|fCacheControl); err != nil {
			return nil, nil, err
		}
		var err error
		if out, hoisted, err = t.toolResult(at, b, out); err != nil {
			return nil, nil, err
		}
		t.toolBlocks = true
	case "thinking":
		if err := t.only(b, at, "thinking block", fType|fThinking|fSignature); err != nil {
			return nil, nil, err
		}
		text, err := b.str(at, fThinking, "thinking")
		if err != nil {
			return nil, nil, err
		}
		sig, err := b.str(at, fSignature, "signature")
		if err != nil {
			return nil, nil, err
		}
		out = append(out, `{"reasoningContent":{"reasoningText":{"text":`...)
		out = append(out, text...)
		if string(sig) != `""` {
			out = append(out, `,"signature":`...)
			out = append(out, sig...)
		}
		out = append(out, `}}}`...)
	case "redacted_thinking":
		if err := t.only(b, at, "redacted_thinking block", fType|fData); err != nil {
			return nil, nil, err
		}
		data, err := b.str(at, fData, "data")
		if err != nil {
			return nil, nil, err
		}
		// Converse redactedContent is a blob: the string's bytes, base64.
		out = append(out, `{"reasoningContent":{`...)
		if d := unquote(data); d != "" {
			out = append(out, `"redactedContent":"`...)
			out = base64.StdEncoding.AppendEncode(out, []byte(d))
			out = append(out, '"')
		}
		out = append(out, `}}`...)
	case "":
		return nil, nil, invalid(at, "content block has no type")
	default:
		return nil, nil, invalid(at, "content block type %q has no Converse equivalent", b.typ)
	}
	cp, err := cachePointFrom(at, b.get(fCacheControl))
	if err != nil {
		return nil, nil, err
	}
	if cp == nil {
		cp = hoisted
	}
	return out, cp, nil
}

// cachePointFrom translates a cache_control value into a CachePointBlock's
// JSON; nil when there is none.
func cachePointFrom(at string, raw json.RawMessage) ([]byte, error) {
	if isNull(raw) {
		return nil, nil
	}
	var cc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cc); err != nil || cc == nil {
		return nil, invalid(at+".cache_control", "expected an object")
	}
	if err := onlyKeys(at+".cache_control", cc, "cache_control", "type", "ttl"); err != nil {
		return nil, err
	}
	typ, err := stringField(at, cc, "type")
	if err != nil {
		return nil, err
	}
	if typ != "ephemeral" {
		return nil, invalid(at, "cache_control type %q is not supported; only \"ephemeral\"", typ)
	}
	ttl, err := stringField(at, cc, "ttl")
	if err != nil {
		return nil, err
	}
	out := []byte(`{"type":"default"`)
	if ttl != "" {
		out = append(out, `,"ttl":`...)
		out = quote(out, ttl)
	}
	return append(out, '}'), nil
}

// object decodes one small JSON object into its fields, or fails naming at.
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

// imageFormats maps Messages media types to Converse image formats.
var imageFormats = map[string]string{
	"image/png":  "png",
	"image/jpeg": "jpeg",
	"image/gif":  "gif",
	"image/webp": "webp",
}

// source reads an image or document source: its type, media_type and the
// bytes of data and content, the others left alone.
type source struct {
	typ, media    string
	data, content []byte
}

func readSource(at string, raw []byte, trusted bool) (source, error) {
	var s source
	r := jsonReader{b: raw, trusted: trusted}
	if raw == nil || r.next() != '{' {
		return s, invalid(at+".source", "expected an object")
	}
	err := r.object(func(key []byte) error {
		switch string(key) {
		case "type", "media_type":
			v, err := r.text()
			if err != nil {
				if err == errType {
					return invalid(at, "%s must be a string", key)
				}
				return err
			}
			if key[0] == 't' {
				s.typ = unquote(v)
			} else {
				s.media = unquote(v)
			}
			return nil
		case "data":
			v, err := r.text()
			if err == errType {
				return invalid(at, "data must be a string")
			}
			s.data = v
			return err
		case "content":
			v, err := r.value()
			s.content = v
			return err
		}
		_, err := r.value()
		return err
	})
	return s, err
}

func imageFromMessages(at string, raw []byte, trusted bool, out []byte) ([]byte, error) {
	src, err := readSource(at, raw, trusted)
	if err != nil {
		return nil, err
	}
	if src.typ != "base64" {
		return nil, invalid(at, "image source type %q has no Converse equivalent; send the image as base64", src.typ)
	}
	format, ok := imageFormats[src.media]
	if !ok {
		return nil, invalid(at, "image media_type %q is not supported", src.media)
	}
	if src.data == nil {
		src.data = []byte(`""`)
	}
	out = append(out, `{"image":{"format":"`...)
	out = append(out, format...)
	out = append(out, `","source":{"bytes":`...)
	out = append(out, src.data...)
	return append(out, `}}}`...), nil
}

func (t *blockTranslator) document(at string, b *blockFields, out []byte) ([]byte, error) {
	src, err := readSource(at, b.get(fSource), t.trusted)
	if err != nil {
		return nil, err
	}
	t.documents++
	title, err := b.str(at, fTitle, "title")
	if err != nil {
		return nil, err
	}
	out = append(out, `{"document":{"name":`...)
	out = quote(out, documentName(unquote(title), t.documents))
	if raw := b.get(fContext); !isNull(raw) {
		c, err := b.str(at, fContext, "context")
		if err != nil {
			return nil, err
		}
		out = append(out, `,"context":`...)
		out = append(out, c...)
	}
	if raw := b.get(fCitations); !isNull(raw) {
		var c struct {
			Enabled bool `json:"enabled"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, invalid(at, "citations must be {\"enabled\": bool}")
		}
		out = append(out, `,"citations":{"enabled":`...)
		out = strconv.AppendBool(out, c.Enabled)
		out = append(out, '}')
	}
	data := src.data
	if data == nil {
		data = []byte(`""`)
	}
	switch {
	case src.typ == "base64" && src.media == "application/pdf":
		out = append(out, `,"format":"pdf","source":{"bytes":`...)
		out = append(out, data...)
		out = append(out, '}')
	case src.typ == "text":
		// Plain text travels as bytes: the bytes source is understood by
		// every model that takes documents, the text source is newer.
		out = append(out, `,"format":"txt","source":{"bytes":"`...)
		out = base64.StdEncoding.AppendEncode(out, []byte(unquote(data)))
		out = append(out, `"}`...)
	case src.typ == "content":
		r := jsonReader{b: src.content, trusted: t.trusted}
		if src.content == nil {
			r.b = []byte("null")
		}
		out = append(out, `,"source":{"content":`...)
		if out, _, err = t.content(&r, at+".source.content", documentBlocks, out); err != nil {
			return nil, err
		}
		out = append(out, '}')
	default:
		return nil, invalid(at, "document source type %q (media_type %q) has no Converse equivalent", src.typ, src.media)
	}
	return append(out, `}}`...), nil
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
func (t *blockTranslator) toolResult(at string, b *blockFields, out []byte) ([]byte, []byte, error) {
	id, err := b.str(at, fToolUseID, "tool_use_id")
	if err != nil {
		return nil, nil, err
	}
	out = append(out, `{"toolResult":{"toolUseId":`...)
	out = append(out, id...)
	if raw := b.get(fIsError); !isNull(raw) {
		switch string(raw) {
		case "true":
			out = append(out, `,"status":"error"`...)
		case "false":
			out = append(out, `,"status":"success"`...)
		default:
			return nil, nil, invalid(at, "is_error must be a boolean")
		}
	}
	out = append(out, `,"content":`...)
	var hoisted []byte
	if raw := b.get(fContent); isNull(raw) {
		out = append(out, `[]`...)
	} else {
		r := jsonReader{b: raw, trusted: t.trusted}
		if out, hoisted, err = t.content(&r, at+".content", toolResultBlocks, out); err != nil {
			return nil, nil, err
		}
	}
	return append(out, `}}`...), hoisted, nil
}
