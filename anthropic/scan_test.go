package anthropic

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/claudebridge/claudebridge/internal/claudecode"
)

// FuzzScanAgreesWithTheChecksItReplaced holds the one-pass scan to what
// decided before it: encoding/json for whether a body is JSON, and the
// gjson walks (kept below as references) for the verdicts on messages and
// tools.
func FuzzScanAgreesWithTheChecksItReplaced(f *testing.F) {
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"t","input_schema":{"type":"object"}}]}`))
	f.Add([]byte(`{"messages":[{"r\u006fle":"user","content":[{"type":"text","type":null}]}],"tools":[{"nam":1},{"name":2}]}`))
	f.Add([]byte(`{"messages":[{"role":"","role":"user","content":[{"type":"image"}],"content":"x"}, null],"tools":{"name":"a"}}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":1}]}],"tools":[null]} `))
	f.Add([]byte(` {"a":[1,-0.5e+3,true,false,null,"\"\\\/\b\f\n\r\t\u00e9"],"b":{}} `))
	f.Add([]byte(`{"a":01}`))
	f.Add([]byte("{\"a\":\"\x01\"}"))
	f.Add([]byte(`{"a":"\x"}`))
	f.Add([]byte(`{"a":1.}`))
	f.Add([]byte(`{"a":[1,]}`))
	f.Add([]byte(`{"a":"\ud800\u00"}`))
	f.Add([]byte(`{"a":"\ud800\ud800\udc00","\udc00":"\ud83d\ude00\ud800\\"}`))
	f.Add([]byte(`{"a":"\uDBFF\uDFFF\uDC00\uD800"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := &scanner{b: body}
		valid := s.value()
		s.space()
		valid = valid && s.i == len(body)
		if want := json.Valid(body); valid != want {
			t.Fatalf("scanner says valid=%v of %q, encoding/json %v", valid, body, want)
		}
		r, surrogate := scanRequest(body)
		if r != nil {
			if got, want := errorText(surrogate), errorText(referenceSurrogate(body)); got != want {
				t.Fatalf("surrogates of %q: scan says %q, reference %q", body, got, want)
			}
		}
		if want := valid && bytes.TrimLeft(body, " \t\r\n")[0] == '{'; (r != nil) != want {
			t.Fatalf("scanRequest of %q: %v, want an object: %v", body, r != nil, want)
		}
		if r == nil {
			return
		}
		if got, want := r.messagesFine, gjsonMessagesFine(r.fields["messages"]); got != want {
			t.Fatalf("messages of %q: scan says fine=%v, gjson walk %v", body, got, want)
		}
		// validate looks at the tools' verdict only when there are tools.
		if raw := r.fields["tools"]; !isNull(raw) {
			if got, want := errorText(r.toolsFault), errorText(gjsonToolsFault(raw)); got != want {
				t.Fatalf("tools of %q: scan says %q, gjson walk %q", body, got, want)
			}
		}
	})
}

func TestScanKeepsTheNestingLimitOfEncodingJSON(t *testing.T) {
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		body := []byte(`{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`)
		r, _ := scanRequest(body)
		got, want := r != nil, json.Valid(body)
		if got != want {
			t.Errorf("depth %d: scan says valid=%v, encoding/json %v", depth, got, want)
		}
	}
}

func TestScanJudgesClaudeCodeBodiesAsTheGJSONWalksDid(t *testing.T) {
	for _, size := range []int{50 << 10, 370 << 10, 1 << 20} {
		body := claudecode.Body(claudecode.Shape{Size: size})
		for _, variant := range []struct{ name, old, new string }{
			{"as sent", "", ""},
			{"a block without type", `{"type":"tool_result"`, `{"typ":"tool_result"`},
			{"an empty role", `"role":"assistant"`, `"role":""`},
			{"a tool without name", `{"name":"Bash"`, `{"nom":"Bash"`},
		} {
			b := body
			if variant.old != "" {
				if !bytes.Contains(b, []byte(variant.old)) {
					t.Fatalf("%d bytes: no %s to change", size, variant.old)
				}
				b = bytes.Replace(body, []byte(variant.old), []byte(variant.new), 1)
			}
			r, _ := scanRequest(b)
			if r == nil {
				t.Fatalf("%d bytes, %s: not valid JSON", size, variant.name)
			}
			if got, want := r.messagesFine, gjsonMessagesFine(r.fields["messages"]); got != want {
				t.Errorf("%d bytes, %s: messages fine=%v, gjson walk %v", size, variant.name, got, want)
			}
			if got, want := errorText(r.toolsFault), errorText(gjsonToolsFault(r.fields["tools"])); got != want {
				t.Errorf("%d bytes, %s: tools fault %q, gjson walk %q", size, variant.name, got, want)
			}
		}
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// gjsonMessagesFine is messagesFine as it was before the one-pass scan: a
// gjson walk per field looked for.
func gjsonMessagesFine(raw json.RawMessage) bool {
	list := gjson.ParseBytes(raw)
	if !list.IsArray() {
		return false
	}
	n := 0
	fine := true
	list.ForEach(func(_, m gjson.Result) bool {
		n++
		role, content := gjsonLast(m, "role"), gjsonLast(m, "content")
		fine = m.IsObject() && role.Type == gjson.String && role.Str != "" &&
			(content.Type == gjson.String || content.IsArray() && gjsonBlocksTyped(content))
		return fine
	})
	return fine && n > 0
}

func gjsonBlocksTyped(list gjson.Result) bool {
	fine := true
	list.ForEach(func(_, b gjson.Result) bool {
		fine = b.IsObject() && gjsonLast(b, "type").Type == gjson.String
		return fine
	})
	return fine
}

func gjsonLast(obj gjson.Result, name string) gjson.Result {
	var v gjson.Result
	obj.ForEach(func(k, val gjson.Result) bool {
		if k.Str == name {
			v = val
		}
		return true
	})
	return v
}

// gjsonToolsFault is the tools check as it was before the one-pass scan.
func gjsonToolsFault(raw json.RawMessage) error {
	list := gjson.ParseBytes(raw)
	if !list.IsArray() {
		return invalid("tools: Input should be a valid list of objects")
	}
	var err error
	i := 0
	list.ForEach(func(_, t gjson.Result) bool {
		switch {
		case !t.IsObject():
			err = invalid("tools: Input should be a valid list of objects")
		case !gjsonHasKey(t, "name"):
			err = invalid("tools.%d.name: Field required", i)
		}
		i++
		return err == nil
	})
	return err
}

func gjsonHasKey(obj gjson.Result, name string) bool {
	found := false
	obj.ForEach(func(k, _ gjson.Result) bool {
		found = k.Str == name
		return !found
	})
	return found
}

// FuzzCheckedUsageOfAgreesWithItsOldTwoPasses holds the one scan of an
// answer to what decided before it: encoding/json for whether it is JSON,
// and gjson.GetBytes for the usage found in it.
func FuzzCheckedUsageOfAgreesWithItsOldTwoPasses(f *testing.F) {
	f.Add([]byte(`{"type":"message","usage":{"input_tokens":3,"output_tokens":5,"cache_read_input_tokens":2}}`))
	f.Add([]byte(`{"usage":{"input_tokens":1},"usage":{"input_tokens":2}}`))
	f.Add([]byte(`{"us\u0061ge":{"output_tokens":7}}`))
	f.Add([]byte(`{"usage":null}`))
	f.Add([]byte(`[{"usage":{"input_tokens":1}}]`))
	f.Add([]byte(`{"type":"message","usage":{"input_tokens":3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := CheckedUsageOf(body)
		u := gjson.GetBytes(body, "usage")
		wantOK := json.Valid(body) && !(u.Exists() && !u.IsObject())
		if ok != wantOK {
			t.Fatalf("CheckedUsageOf(%q) ok=%v, want %v", body, ok, wantOK)
		}
		if !ok {
			return
		}
		if want := usageIn(u); got != want {
			t.Fatalf("CheckedUsageOf(%q) = %+v, gjson finds %+v", body, got, want)
		}
	})
}

var jsonEscape = regexp.MustCompile(`\\(?:u[0-9a-fA-F]{4}|[^u])`)

// referenceSurrogate finds the first escaped surrogate that is not half of
// a pair in a body that is JSON, where every backslash is in a string, by
// reading the escapes in order.
func referenceSurrogate(body []byte) error {
	escapes := jsonEscape.FindAllIndex(body, -1)
	value := func(k int) uint64 {
		e := body[escapes[k][0]:escapes[k][1]]
		if len(e) != 6 {
			return 0
		}
		v, _ := strconv.ParseUint(string(e[2:]), 16, 16)
		return v
	}
	for k := 0; k < len(escapes); k++ {
		switch v := value(k); {
		case v >= 0xDC00 && v <= 0xDFFF:
			return surrogateError(body, escapes[k][0], "invalid high surrogate in string")
		case v >= 0xD800 && v <= 0xDBFF:
			end := escapes[k][1]
			if k+1 == len(escapes) || escapes[k+1][0] != end || escapes[k+1][1]-end != 6 {
				return surrogateError(body, end, "no low surrogate in string")
			}
			if low := value(k + 1); low < 0xDC00 || low > 0xDFFF {
				return surrogateError(body, end, "invalid low surrogate in string")
			}
			k++
		}
	}
	return nil
}
