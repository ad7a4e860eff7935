package bedrock

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/claudebridge/claudebridge"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// bedrockVersion is the anthropic_version Bedrock's InvokeModel takes.
const bedrockVersion = "bedrock-2023-05-31"

// versionJSON is anthropic_version's value in every InvokeModel body.
var versionJSON = []byte(`"` + bedrockVersion + `"`)

// invokeBody makes the InvokeModel body of r: every top-level field as its
// raw bytes, less "model" (it goes into the path) and "stream", with
// anthropic_version set and betas as the anthropic_beta array (absent when
// empty). Top-level keys are sorted; nested values are the client's bytes.
func invokeBody(r *claudebridge.Request, betas []string) []byte {
	b, _ := buildBody(r, betas, nil)
	return b.bytes()
}

// buildBody makes the body invokeBody makes, less the members drops names,
// in one walk of the bytes however many paths and array elements there are.
// Every byte outside a removed member is the client's, and is not copied:
// the body is made of slices of r's field values, which must not change
// while it is in use. removed lists the concrete paths removed, in the
// order of the body.
func buildBody(r *claudebridge.Request, betas []string, drops *dropTrie) (body *segments, removed []string) {
	keys := make([]string, 0, len(r.Fields))
	own := 64
	for k := range r.Fields {
		switch k {
		case "model", "stream", "anthropic_version", "anthropic_beta":
			continue
		}
		keys = append(keys, k)
		own += len(k) + 4
	}
	slices.Sort(keys)
	d := dropper{out: newSegments(2*len(keys)+6, own)}
	d.out.writeByte('{')
	d.field("anthropic_version", versionJSON, drops)
	if len(betas) > 0 {
		bs, _ := json.Marshal(betas)
		d.field("anthropic_beta", bs, drops)
	}
	for _, k := range keys {
		d.field(k, r.Fields[k], drops)
	}
	d.out.writeByte('}')
	return &d.out, d.removed
}

// dropFields removes every field matching the generalised paths from body,
// editing the bytes in place of the field only: the rest of the body,
// thinking signatures included, is left byte for byte. It returns the
// concrete paths removed.
func dropFields(body []byte, patterns []string) ([]byte, []string) {
	t := compileDrops(patterns)
	if t == nil {
		return body, nil
	}
	d := dropper{}
	end, ok := d.visit(t, body, 0)
	if !ok || skipSpace(body, end) != len(body) {
		return body, nil // not one JSON value: left as it is
	}
	if len(d.spans) == 0 {
		return body, nil
	}
	d.out = newSegments(len(d.spans)+1, 0)
	d.cut(body)
	return d.out.bytes(), d.removed
}

// dropTrie is a set of generalised paths ("tools.*.defer_loading")
// compiled into a tree of their segments, so that one walk of a body finds
// every member they name. A segment names a key of an object; "*" any
// element of an array. Immutable once compiled.
type dropTrie struct {
	keys map[string]*dropTrie // children by object key
	any  *dropTrie            // the child for every array element ("*")
	drop bool                 // a path ends here: the member is removed
}

// compileDrops returns the trie of paths; nil when there are none.
// Paths with an empty segment name nothing and are left out.
func compileDrops(paths []string) *dropTrie {
	if len(paths) == 0 {
		return nil
	}
	var root *dropTrie
	for _, p := range paths {
		segs := strings.Split(p, ".")
		if slices.Contains(segs, "") {
			continue // names no field
		}
		if root == nil {
			root = &dropTrie{}
		}
		n := root
		for _, s := range segs {
			n = n.child(s)
		}
		n.drop = true
	}
	return root
}

func (n *dropTrie) child(seg string) *dropTrie {
	if seg == "*" {
		if n.any == nil {
			n.any = &dropTrie{}
		}
		return n.any
	}
	if n.keys == nil {
		n.keys = map[string]*dropTrie{}
	}
	c, ok := n.keys[seg]
	if !ok {
		c = &dropTrie{}
		n.keys[seg] = c
	}
	return c
}

// dropper walks JSON values against a dropTrie, noting the spans of bytes
// to cut (a removed member with the comma that separated it) and the
// concrete paths removed; what is kept goes to out as slices of the value
// walked.
type dropper struct {
	out     segments
	spans   []span
	path    []string
	removed []string
}

type span struct{ from, to int }

// field appends the top-level member k: v to d.out, less what drops names
// in it (all of it when drops names k). v is added by reference.
func (d *dropper) field(k string, v []byte, drops *dropTrie) {
	var n *dropTrie
	if drops != nil {
		n = drops.keys[k]
	}
	if n != nil && n.drop {
		d.removed = append(d.removed, escapeKey(k))
		return
	}
	if d.out.size > 1 {
		d.out.writeByte(',')
	}
	d.out.write(func(b []byte) []byte { return append(appendKey(b, k), ':') })
	if n == nil {
		d.out.add(v)
		return
	}
	d.spans = d.spans[:0]
	d.path = append(d.path[:0], escapeKey(k))
	removed := len(d.removed)
	if _, ok := d.visit(n, v, 0); !ok {
		// Not JSON (the gateway parses every body, so never seen): sent
		// as it is, for Bedrock to judge.
		d.spans, d.removed = d.spans[:0], d.removed[:removed]
	}
	d.cut(v)
}

// cut appends b less d.spans to d.out, by reference.
func (d *dropper) cut(b []byte) {
	at := 0
	for _, s := range d.spans {
		d.out.add(b[at:s.from])
		at = s.to
	}
	d.out.add(b[at:])
}

// appendKey appends k as a JSON string.
func appendKey(b []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			kb, _ := json.Marshal(k)
			return append(b, kb...)
		}
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"')
}

// visit walks the value of b at i (after any space) against n and returns
// where it ends; ok is false when b is not JSON there.
func (d *dropper) visit(n *dropTrie, b []byte, i int) (end int, ok bool) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, false
	}
	switch {
	case b[i] == '{' && n.keys != nil:
		return d.members(n, b, i)
	case b[i] == '[' && n.any != nil:
		return d.elements(n.any, b, i)
	}
	return skipValue(b, i)
}

// seps tracks the separators of one object or array being cut: a removed
// member takes the comma before it when a kept one precedes it, else the
// comma after it, so that what is left stays valid however many go.
type seps struct {
	kept    bool // a member before this one is kept
	pending int  // start of a run of removed leading members; -1 if none
	prevEnd int  // end of the previous member's value
}

func (s *seps) start(d *dropper, at int) {
	if s.pending >= 0 {
		d.spans = append(d.spans, span{s.pending, at})
		s.pending = -1
	}
}

func (s *seps) remove(d *dropper, from, to int) {
	if s.kept {
		d.spans = append(d.spans, span{s.prevEnd, to})
	} else if s.pending < 0 {
		s.pending = from
	}
	s.prevEnd = to
}

func (s *seps) keep(end int) {
	s.kept = true
	s.prevEnd = end
}

func (s *seps) close(d *dropper) {
	if s.pending >= 0 {
		d.spans = append(d.spans, span{s.pending, s.prevEnd})
	}
}

// after scans what follows a member or an element at b[i]: a ',' (more
// follow: i is the next one's first byte) or end, which closes the
// object or array (done: i is just past it). ok is false for anything
// else.
func (s *seps) after(d *dropper, b []byte, i int, end byte) (next int, done, ok bool) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, false, false
	}
	switch b[i] {
	case ',':
		return skipSpace(b, i+1), false, true
	case end:
		s.close(d)
		return i + 1, true, true
	}
	return i, false, false
}

func (d *dropper) members(n *dropTrie, b []byte, i int) (int, bool) {
	s := seps{pending: -1}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		ks := i
		ke, ok := skipString(b, i)
		if !ok {
			return ke, false
		}
		key := b[ks+1 : ke-1]
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		vs := skipSpace(b, i+1)
		var c *dropTrie
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			if json.Unmarshal(b[ks:ke], &k) != nil {
				return ke, false
			}
			c = n.keys[k]
		} else {
			c = n.keys[string(key)]
		}
		var ve int
		switch {
		case c == nil:
			if ve, ok = skipValue(b, vs); !ok {
				return ve, false
			}
			s.start(d, ks)
			s.keep(ve)
		case c.drop:
			if ve, ok = skipValue(b, vs); !ok {
				return ve, false
			}
			d.note(keyPath(b[ks:ke]))
			s.remove(d, ks, ve)
		default:
			s.start(d, ks)
			d.path = append(d.path, keyPath(b[ks:ke]))
			ve, ok = d.visit(c, b, vs)
			d.path = d.path[:len(d.path)-1]
			if !ok {
				return ve, false
			}
			s.keep(ve)
		}
		var done bool
		if i, done, ok = s.after(d, b, ve, '}'); done || !ok {
			return i, ok
		}
	}
}

func (d *dropper) elements(c *dropTrie, b []byte, i int) (int, bool) {
	s := seps{pending: -1}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for idx := 0; ; idx++ {
		vs := i
		var ve int
		var ok bool
		if c.drop {
			if ve, ok = skipValue(b, vs); !ok {
				return ve, false
			}
			d.note(strconv.Itoa(idx))
			s.remove(d, vs, ve)
		} else {
			s.start(d, vs)
			d.path = append(d.path, strconv.Itoa(idx))
			ve, ok = d.visit(c, b, vs)
			d.path = d.path[:len(d.path)-1]
			if !ok {
				return ve, false
			}
			s.keep(ve)
		}
		var done bool
		if i, done, ok = s.after(d, b, ve, ']'); done || !ok {
			return i, ok
		}
	}
}

// note records the removal of the member seg under the current path.
func (d *dropper) note(seg string) {
	d.removed = append(d.removed, strings.Join(append(d.path, seg), "."))
}

// keyPath is the path segment of a raw JSON key, escaped as gjson takes it.
func keyPath(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return escapeKey(string(raw[1 : len(raw)-1]))
	}
	var k string
	_ = json.Unmarshal(raw, &k)
	return escapeKey(k)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the end of the string starting at b[i] ('"').
func skipString(b []byte, i int) (int, bool) {
	i++
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b), false
		}
		i += q
		// The quote ends the string unless an odd number of backslashes
		// precede it.
		bs := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			bs++
		}
		i++
		if bs%2 == 0 {
			return i, true
		}
	}
}

// skipValue returns the end of the JSON value starting at b[i]. Objects
// and arrays are skipped by their brackets, strings jumped quote to quote;
// the bytes are trusted to be JSON (the gateway has parsed them).
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				var ok bool
				if i, ok = skipString(b, i); !ok {
					return i, false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return i, false
	}
	// A number, true, false or null: up to the next delimiter.
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j, j > i
		}
		j++
	}
	return j, j > i
}

// rewriteModel sets the "model" of a Messages JSON object (at path) to the
// id the client asked for, and strips amazon-bedrock-invocationMetrics.
// Only those bytes change.
func rewriteModel(data []byte, path, model string) []byte {
	if model != "" {
		if out, err := sjson.SetBytes(data, path, model); err == nil {
			data = out
		}
	}
	return stripMetrics(data)
}

const metricsKey = "amazon-bedrock-invocationMetrics"

// stripMetrics removes Bedrock's invocation metrics from an event or body;
// the check is a byte search, so events without them cost nothing more.
func stripMetrics(data []byte) []byte {
	if !bytes.Contains(data, []byte(metricsKey)) {
		return data
	}
	if out, err := sjson.DeleteBytes(data, metricsKey); err == nil {
		data = out
	}
	if bytes.Contains(data, []byte(metricsKey)) {
		if out, err := sjson.DeleteBytes(data, "message."+metricsKey); err == nil {
			data = out
		}
	}
	return data
}

// messageStart rewrites a message_start event: the client's model id, and
// the cache fields of usage always present (0 when Bedrock left them out).
func messageStart(data []byte, model string) []byte {
	data = rewriteModel(data, "message.model", model)
	for _, f := range []string{"message.usage.cache_creation_input_tokens", "message.usage.cache_read_input_tokens"} {
		if !gjson.GetBytes(data, f).Exists() {
			if out, err := sjson.SetBytes(data, f, 0); err == nil {
				data = out
			}
		}
	}
	return data
}
