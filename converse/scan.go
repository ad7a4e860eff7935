package converse

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// jsonReader walks one JSON text once, checking its syntax as it goes, so
// that a request is translated in a single pass: the translator descends
// into the values it changes and takes the values both APIs share (text,
// tool inputs, schemas, signatures, base64 data) as the bytes the client
// sent, which are already valid JSON in the other API too. Nothing is
// decoded into Go values and encoded again.
//
// Each method reads exactly one value, after any white space, and leaves
// the reader after it.
type jsonReader struct {
	b []byte
	i int
	// trusted is set for text already known to be valid JSON (the
	// gateway's own Messages body): strings are then skipped to their
	// closing quote without checking each byte.
	trusted bool
}

// maxDepth bounds nesting, as encoding/json does (10000), so that a
// hostile body cannot exhaust the stack.
const maxDepth = 10000

// syntaxError is a body that is not JSON; the translator reports it as an
// EINVALID error naming the byte offset.
type syntaxError struct{ offset int }

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d", e.offset)
}

func (r *jsonReader) syntax() error { return &syntaxError{offset: r.i} }

// next skips white space and returns the first byte of the next value, 0 at
// the end of the text.
func (r *jsonReader) next() byte {
	for r.i < len(r.b) {
		switch c := r.b[r.i]; c {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return c
		}
	}
	return 0
}

// end checks that nothing but white space follows the value read.
func (r *jsonReader) end() error {
	if r.next(); r.i < len(r.b) {
		return r.syntax()
	}
	return nil
}

// value reads any value and returns its bytes.
func (r *jsonReader) value() ([]byte, error) {
	r.next()
	start := r.i
	if err := r.skip(0); err != nil {
		return nil, err
	}
	return r.b[start:r.i], nil
}

// null reads the next value if it is null and reports whether it was.
func (r *jsonReader) null() bool {
	if r.next() == 'n' && r.literal("null") == nil {
		return true
	}
	return false
}

func (r *jsonReader) skip(depth int) error {
	if depth > maxDepth {
		return r.syntax()
	}
	switch r.next() {
	case '"':
		_, err := r.str()
		return err
	case '{':
		return r.object(func([]byte) error { return r.skip(depth + 1) })
	case '[':
		return r.array(func(int) error { return r.skip(depth + 1) })
	case 't':
		return r.literal("true")
	case 'f':
		return r.literal("false")
	case 'n':
		return r.literal("null")
	}
	return r.number()
}

func (r *jsonReader) literal(word string) error {
	if len(r.b)-r.i < len(word) || string(r.b[r.i:r.i+len(word)]) != word {
		return r.syntax()
	}
	r.i += len(word)
	return nil
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (r *jsonReader) number() error {
	b, i := r.b, r.i
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return r.syntax()
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return r.syntax()
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return r.syntax()
		}
	}
	r.i = i
	return nil
}

// plain marks the bytes that stand for themselves inside a string.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string and returns it quoted, as it was sent.
func (r *jsonReader) str() ([]byte, error) {
	b := r.b
	if r.next() != '"' {
		return nil, r.syntax()
	}
	start := r.i
	i := start + 1
	if r.trusted {
		for {
			q := bytes.IndexByte(b[i:], '"')
			if q < 0 {
				r.i = len(b)
				return nil, r.syntax()
			}
			i += q
			escapes := 0
			for j := i - 1; j > start && b[j] == '\\'; j-- {
				escapes++
			}
			i++
			if escapes%2 == 0 {
				r.i = i
				return b[start:i], nil
			}
		}
	}
	for {
		// Eight bytes at a time while none of them is a quote, a
		// backslash or a control character, then byte by byte.
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if hasByteBelow(w, 0x20) || hasZeroByte(w^0x2222222222222222) || hasZeroByte(w^0x5c5c5c5c5c5c5c5c) {
				break
			}
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			r.i = i
			return nil, r.syntax()
		}
		switch b[i] {
		case '"':
			r.i = i + 1
			return b[start:r.i], nil
		case '\\':
			if i+1 >= len(b) {
				r.i = i
				return nil, r.syntax()
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					r.i = i
					return nil, r.syntax()
				}
				i += 6
			default:
				r.i = i
				return nil, r.syntax()
			}
		default: // a control character
			r.i = i
			return nil, r.syntax()
		}
	}
}

// hasZeroByte reports whether one of the eight bytes of w is zero.
func hasZeroByte(w uint64) bool {
	return (w-0x0101010101010101)&^w&0x8080808080808080 != 0
}

// hasByteBelow reports whether one of the eight bytes of w is below n
// (n at most 128).
func hasByteBelow(w uint64, n byte) bool {
	return (w-0x0101010101010101*uint64(n))&^w&0x8080808080808080 != 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// object reads an object, calling member with each key (unquoted) and the
// reader at its value, which member must read.
func (r *jsonReader) object(member func(key []byte) error) error {
	if r.next() != '{' {
		return r.syntax()
	}
	r.i++
	if r.next() == '}' {
		r.i++
		return nil
	}
	for {
		quoted, err := r.str()
		if err != nil {
			return err
		}
		if r.next() != ':' {
			return r.syntax()
		}
		r.i++
		if err := member(unquoteKey(quoted)); err != nil {
			return err
		}
		switch r.next() {
		case ',':
			r.i++
		case '}':
			r.i++
			return nil
		default:
			return r.syntax()
		}
	}
}

// array reads an array, calling elem with each index and the reader at the
// element, which elem must read.
func (r *jsonReader) array(elem func(i int) error) error {
	if r.next() != '[' {
		return r.syntax()
	}
	r.i++
	if r.next() == ']' {
		r.i++
		return nil
	}
	for n := 0; ; n++ {
		if err := elem(n); err != nil {
			return err
		}
		switch r.next() {
		case ',':
			r.i++
		case ']':
			r.i++
			return nil
		default:
			return r.syntax()
		}
	}
}

// unquoteKey returns the text of a quoted key; keys rarely hold escapes.
func unquoteKey(quoted []byte) []byte {
	inner := quoted[1 : len(quoted)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			_ = json.Unmarshal(quoted, &s) // quoted is a valid string
			return []byte(s)
		}
	}
	return inner
}

// unquote returns the text of a valid quoted string.
func unquote(quoted []byte) string {
	return string(unquoteKey(quoted))
}

// quote appends s as a JSON string, escaped as encoding/json does.
func quote(out []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return append(out, b...)
}
