package anthropic

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"unicode/utf8"
)

// scanned is what one scan of a Messages body finds: its top-level fields
// and the verdicts on the parts that are too large to walk again.
type scanned struct {
	// fields are the top-level fields, each a slice of the body.
	fields map[string]json.RawMessage
	// messagesFine is messagesFine of the last "messages" field.
	messagesFine bool
	// toolsFault is what is wrong with the last "tools" field, read as a
	// list of objects that each have a name; nil if nothing is.
	toolsFault error
}

// scanRequest checks that body is JSON as encoding/json has it and, in the
// same pass, takes its top-level fields and judges its messages and tools.
// Claude Code sends hundreds of kilobytes on every call, mostly strings:
// walking them once, eight bytes at a time, is most of the work left.
// It returns nil if body is not valid JSON or not an object. surrogate is
// the Anthropic API's refusal of the first escaped surrogate that is not
// half of a pair, when it comes before anything else wrong: encoding/json
// takes such escapes (as U+FFFD), the API's decoder does not.
func scanRequest(body []byte) (r *scanned, surrogate error) {
	s := &scanner{b: body}
	defer func() {
		if s.surrogateWhy != "" {
			surrogate = surrogateError(body, s.surrogateAt, s.surrogateWhy)
		}
	}()
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return nil, nil
	}
	r = &scanned{fields: make(map[string]json.RawMessage, 8)}
	ok := s.object(func(key []byte, escaped bool) bool {
		name := keyName(key, escaped)
		start := s.i
		var ok bool
		switch name {
		case "messages":
			r.messagesFine, ok = s.messages()
		case "tools":
			r.toolsFault, ok = s.tools()
		default:
			ok = s.value()
		}
		r.fields[name] = body[start:s.i:s.i]
		return ok
	})
	if s.space(); !ok || s.i != len(s.b) {
		return nil, nil
	}
	return r, nil
}

// scanForUsage checks that body is JSON and returns the value of its first
// top-level "usage" field (the one gjson.GetBytes finds), nil if it has
// none or is not an object.
func scanForUsage(body []byte) (usage []byte, ok bool) {
	s := &scanner{b: body}
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '{' {
		ok = s.object(func(key []byte, escaped bool) bool {
			start := s.i
			ok := s.value()
			if usage == nil && keyIs(key, escaped, "usage") {
				usage = body[start:s.i:s.i]
			}
			return ok
		})
	} else {
		ok = s.value()
	}
	if s.space(); !ok || s.i != len(s.b) {
		return nil, false
	}
	return usage, true
}

// keyName is a key as encoding/json decodes it: escapes undone, and bytes
// that are not UTF-8 as U+FFFD.
func keyName(key []byte, escaped bool) string {
	inner := key[1 : len(key)-1]
	if !escaped && utf8.Valid(inner) {
		switch string(inner) { // the usual names, without an allocation
		case "model":
			return "model"
		case "messages":
			return "messages"
		case "system":
			return "system"
		case "tools":
			return "tools"
		case "metadata":
			return "metadata"
		case "max_tokens":
			return "max_tokens"
		case "thinking":
			return "thinking"
		case "stream":
			return "stream"
		}
		return string(inner)
	}
	return unquote(key)
}

// unquote is a scanned JSON string as encoding/json decodes it. gjson's
// unescaping differs on lone surrogates ("\ud800\u0041" loses the A), so
// the rare keys with escapes go to encoding/json.
func unquote(key []byte) string {
	var s string
	json.Unmarshal(key, &s) // the scan has checked it is a JSON string
	return s
}

// keyIs reports whether key, a JSON string as scanned, is name once
// unescaped (exactly: no case folding).
func keyIs(key []byte, escaped bool, name string) bool {
	if !escaped {
		return string(key[1:len(key)-1]) == name
	}
	return unquote(key) == name
}

// messages scans a messages value and reports whether it is the common
// case messagesFine accepts.
func (s *scanner) messages() (fine, ok bool) {
	if s.b[s.i] != '[' {
		return false, s.value()
	}
	fine = true
	n := 0
	ok = s.array(func() bool {
		n++
		if !fine || s.b[s.i] != '{' {
			fine = false
			return s.value()
		}
		// The last of repeated fields counts, as encoding/json has it.
		role, content := false, false
		ok := s.object(func(key []byte, escaped bool) bool {
			switch {
			case keyIs(key, escaped, "role"):
				start := s.i
				ok := s.value()
				role = s.b[start] == '"' && s.i-start > 2
				return ok
			case keyIs(key, escaped, "content"):
				switch s.b[s.i] {
				case '"':
					content = true
					return s.value()
				case '[':
					var ok bool
					content, ok = s.blocks()
					return ok
				}
				content = false
				return s.value()
			}
			return s.value()
		})
		fine = role && content
		return ok
	})
	return fine && n > 0, ok
}

// blocks scans a list of content blocks and reports whether each is an
// object with a string type.
func (s *scanner) blocks() (fine, ok bool) {
	fine = true
	ok = s.array(func() bool {
		if !fine || s.b[s.i] != '{' {
			fine = false
			return s.value()
		}
		typed := false
		ok := s.object(func(key []byte, escaped bool) bool {
			if keyIs(key, escaped, "type") {
				typed = s.b[s.i] == '"'
			}
			return s.value()
		})
		fine = typed
		return ok
	})
	return fine, ok
}

// tools scans a tools value and returns what is wrong with it, if it is
// not a list of objects that each have a name. Only the names are looked
// for: Claude Code sends dozens of tools with large schemas on every call.
func (s *scanner) tools() (fault error, ok bool) {
	if s.b[s.i] != '[' {
		return invalid("tools: Input should be a valid list of objects"), s.value()
	}
	i := -1
	ok = s.array(func() bool {
		i++
		if fault != nil {
			return s.value()
		}
		if s.b[s.i] != '{' {
			fault = invalid("tools: Input should be a valid list of objects")
			return s.value()
		}
		named := false
		ok := s.object(func(key []byte, escaped bool) bool {
			named = named || keyIs(key, escaped, "name")
			return s.value()
		})
		if !named {
			fault = invalid("tools.%d.name: Field required", i)
		}
		return ok
	})
	return fault, ok
}

// scanner checks JSON the way encoding/json's Valid does (the same
// grammar, the same nesting limit, bytes in strings not checked for UTF-8)
// and lets its callers look at the parts they want on the way.
type scanner struct {
	b     []byte
	i     int // the next byte to read
	depth int
	// surrogateWhy is the Anthropic API's word for the first escaped
	// surrogate that is not half of a pair ("" if none), surrogateAt the
	// byte where the API places it.
	surrogateAt  int
	surrogateWhy string
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value, after any space before it; false if it is not
// JSON.
func (s *scanner) value() bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '"':
		_, ok := s.str()
		return ok
	case '{':
		return s.object(nil)
	case '[':
		return s.array(nil)
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return s.number()
		}
		return false
	}
}

// object scans an object, s.b[s.i] being its '{'. field is called for each
// member with its key, as scanned, and s.i at the first byte of its value,
// which field must scan; nil scans them.
func (s *scanner) object(field func(key []byte, escaped bool) bool) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		start := s.i
		escaped, ok := s.str()
		if !ok {
			return false
		}
		key := s.b[start:s.i]
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		if field == nil {
			ok = s.value()
		} else if s.space(); s.i < len(s.b) {
			ok = field(key, escaped)
		} else {
			ok = false
		}
		if !ok {
			return false
		}
		if done, ok := s.after('}'); done || !ok {
			return ok
		}
	}
}

// array scans an array, s.b[s.i] being its '['. elem is called for each
// element with s.i at its first byte, and must scan it; nil scans them.
func (s *scanner) array(elem func() bool) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		var ok bool
		if elem == nil {
			ok = s.value()
		} else if s.space(); s.i < len(s.b) {
			ok = elem()
		}
		if !ok {
			return false
		}
		if done, ok := s.after(']'); done || !ok {
			return ok
		}
	}
}

// after scans what follows a member or an element: a ',' (more follow) or
// end, which closes the object or array (done). ok is false for anything
// else.
func (s *scanner) after(end byte) (done, ok bool) {
	s.space()
	if s.i >= len(s.b) {
		return false, false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return false, true
	case end:
		s.i++
		s.depth--
		return true, true
	}
	return false, false
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// str scans a string, s.b[s.i] being its opening quote, and reports
// whether it holds escapes. The bytes are read eight at a time: a word
// with no quote, backslash or control byte in it is passed whole.
func (s *scanner) str() (escaped, ok bool) {
	b, i := s.b, s.i+1
	for {
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			q := w ^ ('"' * ones)
			bs := w ^ ('\\' * ones)
			// A byte is flagged where it is zero (the quote, the backslash)
			// or below 0x20; the lowest flag is exact.
			special := ((q - ones) &^ q) | ((bs - ones) &^ bs) | ((w - 0x20*ones) &^ w)
			if special &= highs; special != 0 {
				i += bits.TrailingZeros64(special) / 8
				break
			}
			i += 8
		}
		for ; i < len(b); i++ {
			if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
				break
			}
		}
		if i >= len(b) {
			return escaped, false
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return escaped, true
		case c < 0x20:
			return escaped, false
		}
		// A backslash.
		escaped = true
		if i+1 >= len(b) {
			return escaped, false
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
				return escaped, false
			}
			if b[i+2]|0x20 == 'd' && b[i+3] >= '8' { // \uD800-\uDFFF
				i = s.surrogate(i)
			} else {
				i += 6
			}
		default:
			return escaped, false
		}
	}
}

// surrogate checks the escaped surrogate at b[i] (\uD800-\uDFFF) as the
// Anthropic API's decoder (yyjson's reader) does: a high half must be
// followed by an escaped low half. The first one that is not is noted, at
// the position the API names. It returns where the scan goes on: past the
// pair, or past the one escape.
func (s *scanner) surrogate(i int) int {
	b := s.b
	if b[i+3]|0x20 >= 'c' { // \uDC00-\uDFFF, a low half with no high one
		s.noteSurrogate(i, "invalid high surrogate in string")
		return i + 6
	}
	j := i + 6
	if j+1 >= len(b) || b[j] != '\\' || b[j+1] != 'u' {
		s.noteSurrogate(j, "no low surrogate in string")
		return j
	}
	if j+6 > len(b) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
		return j // not JSON: the scan refuses it there
	}
	if b[j+2]|0x20 != 'd' || b[j+3]|0x20 < 'c' {
		s.noteSurrogate(j, "invalid low surrogate in string")
		return j
	}
	return j + 6
}

func (s *scanner) noteSurrogate(at int, why string) {
	if s.surrogateWhy == "" {
		s.surrogateAt, s.surrogateWhy = at, why
	}
}

// surrogateError is the Anthropic API's refusal of a lone surrogate found
// at byte at of body: its decoder's words and the place as Python's
// JSONDecodeError gives it, line and column from 1 and the offset in
// characters.
func surrogateError(body []byte, at int, why string) error {
	line := 1 + bytes.Count(body[:at], []byte{'\n'})
	lineStart := bytes.LastIndexByte(body[:at], '\n') + 1
	char := utf8.RuneCount(body[:at])
	column := utf8.RuneCount(body[lineStart:at]) + 1
	return invalid("The request body is not valid JSON: %s: line %d column %d (char %d)", why, line, column, char)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// literal scans true, false or null.
func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	b, i := s.b, s.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	s.i = i
	return true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
