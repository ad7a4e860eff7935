package bedrock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/claudecode"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// dropFieldsBySJSON is the dropper the one-pass walk replaced: every
// concrete path looked up from the root and deleted with sjson, one at a
// time. The walk must remove what it removed.
func dropFieldsBySJSON(body []byte, patterns []string) ([]byte, []string) {
	var removed []string
	for _, p := range patterns {
		for _, concrete := range expandBySJSON(body, strings.Split(p, "."), "") {
			out, err := sjson.DeleteBytes(body, concrete)
			if err != nil {
				continue
			}
			body = out
			removed = append(removed, concrete)
		}
	}
	return body, removed
}

func expandBySJSON(body []byte, segs []string, prefix string) []string {
	if len(segs) == 0 {
		if prefix != "" && gjson.GetBytes(body, prefix).Exists() {
			return []string{prefix}
		}
		return nil
	}
	join := func(s string) string {
		if prefix == "" {
			return s
		}
		return prefix + "." + s
	}
	if segs[0] != "*" {
		return expandBySJSON(body, segs[1:], join(escapeKey(segs[0])))
	}
	arr := gjson.GetBytes(body, prefix)
	if !arr.IsArray() {
		return nil
	}
	var out []string
	for i := range len(arr.Array()) {
		out = append(out, expandBySJSON(body, segs[1:], join(strconv.Itoa(i)))...)
	}
	return out
}

// dropTestPaths are the table's paths and ones learned from Bedrock's 400s,
// deep ones into the history among them.
var dropTestPaths = []string{
	"tools.*.eager_input_streaming", "tools.*.defer_loading", "tools.*.input_examples",
	"messages.*.content.*.caller", "messages.*.content.*.cache_control.ttl", "system.*.cache_control",
	"context_management",
}

// withFieldsToDrop adds to a Claude Code body the fields dropTestPaths name:
// on some tools, some content blocks and at the top.
func withFieldsToDrop(t *testing.T, body []byte) []byte {
	t.Helper()
	set := func(path string, v any) {
		var err error
		if body, err = sjson.SetBytes(body, path, v); err != nil {
			t.Fatal(err)
		}
	}
	for i := range int(gjson.GetBytes(body, "tools.#").Int()) {
		switch i % 3 {
		case 0:
			set("tools."+strconv.Itoa(i)+".eager_input_streaming", true)
		case 1:
			set("tools."+strconv.Itoa(i)+".defer_loading", false)
			set("tools."+strconv.Itoa(i)+".input_examples", []any{map[string]any{"a": 1}})
		}
	}
	for i := range int(gjson.GetBytes(body, "messages.#").Int()) {
		if i%4 == 1 {
			set("messages."+strconv.Itoa(i)+".content.0.caller", map[string]any{"type": "direct"})
			set("messages."+strconv.Itoa(i)+".content.0.cache_control", map[string]any{"type": "ephemeral", "ttl": "1h"})
		}
	}
	set("context_management", map[string]any{"edits": []any{}})
	return body
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestDropFieldsRemovesWhatSJSONDeletionRemoved(t *testing.T) {
	for _, size := range []int{50 << 10, 370 << 10} {
		body := withFieldsToDrop(t, claudecode.Body(claudecode.Shape{Size: size}))
		want, wantRemoved := dropFieldsBySJSON(body, dropTestPaths)
		got, gotRemoved := dropFields(body, dropTestPaths)
		if !bytes.Equal(got, want) {
			t.Errorf("%d bytes: the body differs from sjson's deletions", size)
		}
		if !slices.Equal(sortedCopy(gotRemoved), sortedCopy(wantRemoved)) {
			t.Errorf("%d bytes: removed %d paths, want %d", size, len(gotRemoved), len(wantRemoved))
		}
		if len(wantRemoved) < 40 {
			t.Errorf("%d bytes: only %d fields to drop: the test body lacks them", size, len(wantRemoved))
		}
	}
}

// TestBodyDropsAsTheOldBuildDid: the one build (fields, betas, drops) gives
// what invokeBody then dropFields by sjson gave, byte for byte.
func TestBodyDropsAsTheOldBuildDid(t *testing.T) {
	body := withFieldsToDrop(t, claudecode.Body(claudecode.Shape{Size: 370 << 10}))
	r := request(t, string(body))
	betas := []string{"interleaved-thinking-2025-05-14"}
	want, wantRemoved := dropFieldsBySJSON(invokeBody(r, betas), dropTestPaths)
	got, gotRemoved := buildBody(r, betas, compileDrops(dropTestPaths))
	if !bytes.Equal(got.bytes(), want) {
		t.Error("the body differs from the two-step build")
	}
	if !slices.Equal(sortedCopy(gotRemoved), sortedCopy(wantRemoved)) {
		t.Errorf("removed %d paths, want %d", len(gotRemoved), len(wantRemoved))
	}
}

func TestDropFieldsKeepsValidJSONWhenEveryMemberGoes(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"a":[{"x":1,"y":2},{"y":3,"x":4},{"x":5}]}`, `{"a":[{"y":2},{"y":3},{}]}`},
		{`{"a":[ {"x":1 , "y":2 , "x2":0} ]}`, `{"a":[ {"y":2 , "x2":0} ]}`},
		{`{"x":1,"a":[]}`, `{"a":[]}`},
		{`{"a":[{"y":1,"x":2,"x":3}]}`, `{"a":[{"y":1}]}`},
	} {
		got, _ := dropFields([]byte(tc.body), []string{"x", "a.*.x"})
		if string(got) != tc.want {
			t.Errorf("%s: got %s, want %s", tc.body, got, tc.want)
		}
	}
}

// fuzzDropPaths are the paths the fuzz target drops: none is a prefix of
// another, none ends with "*" (generalise makes neither).
var fuzzDropPaths = []string{"a", "b.c", "l.*.x", "l.*.m.*.y", "k\\e.y"}

func FuzzDropFields(f *testing.F) {
	f.Add(`{"a":1,"b":{"c":[1,2],"d":3},"l":[{"x":1},{"m":[{"y":1,"z":2},{"z":3}]},2,"s"]}`)
	f.Add(`{ "l" : [ { "x" : 1 , "y" : 2 } , { "x" : "\"}" } ] , "a" : null }`)
	f.Add(`{"\u0061":1,"l":[{"\u0078":true}]}`)
	f.Add(`[{"a":1}]`)
	f.Fuzz(func(t *testing.T, body string) {
		if !json.Valid([]byte(body)) || hasDuplicateKeys(gjson.Parse(body)) {
			return // the gateway parses bodies; sjson deletes the first of duplicates only
		}
		want, wantRemoved := dropFieldsBySJSON([]byte(body), fuzzDropPaths)
		got, gotRemoved := dropFields([]byte(body), fuzzDropPaths)
		if !json.Valid(got) {
			t.Fatalf("invalid JSON %s from %s", got, body)
		}
		if !jsonEqual(got, want) {
			t.Fatalf("got %s, want %s (from %s)", got, want, body)
		}
		if !slices.Equal(sortedCopy(gotRemoved), sortedCopy(wantRemoved)) {
			t.Fatalf("removed %q, want %q", gotRemoved, wantRemoved)
		}
	})
}

func hasDuplicateKeys(v gjson.Result) bool {
	dup := false
	seen := map[string]bool{}
	v.ForEach(func(k, e gjson.Result) bool {
		if v.IsObject() {
			if seen[k.String()] {
				dup = true
			}
			seen[k.String()] = true
		}
		if e.IsObject() || e.IsArray() {
			dup = dup || hasDuplicateKeys(e)
		}
		return !dup
	})
	return dup
}

// jsonEqual reports whether a and b are the same JSON value, or both
// absent.
func jsonEqual(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	decode := func(b []byte) (any, error) {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		err := d.Decode(&v)
		return v, err
	}
	va, ea := decode(a)
	vb, eb := decode(b)
	return ea == nil && eb == nil && reflect.DeepEqual(va, vb)
}

// foldSystemByMarshal is the fold the one walk replaced.
func foldSystemByMarshal(r *claudebridge.Request) *claudebridge.Request {
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

func TestFoldSystemFoldsAsTheMarshallingFoldDid(t *testing.T) {
	for _, body := range []string{
		string(claudeCodeRequest(t, 370<<10, "claude-opus-4-7", true).Body),
		`{"model":"m","system":"Be brief.","messages":[{"role":"system","content":"one"},{"role":"user","content":"hi"},{"content":[{"type":"text","text":"two"}],"role":"system"}]}`,
		`{"model":"m","messages":[ {"role":"user","content":"hi"} , {"role":"system","content":""} ]}`,
		`{"model":"m","system":[{"type":"text","text":"a<b"}],"messages":[{"role":"sys\u0074em","content":"x"},{"role":"user","content":"y"}]}`,
	} {
		r := request(t, body)
		want, got := foldSystemByMarshal(r), foldSystem(r)
		for _, k := range []string{"messages", "system"} {
			if !jsonEqual(got.Fields[k], want.Fields[k]) {
				t.Errorf("%.60s: %s is %.200s, want %.200s", body, k, got.Fields[k], want.Fields[k])
			}
		}
	}
}

func TestFoldSystemKeepsTheClientsBytes(t *testing.T) {
	r := request(t, `{"model":"m","messages":[{"role":"user","content":"a<b &  c"},{"role":"system","content":[{"type":"text", "text":"<notes>"}]}]}`)
	f := foldSystem(r)
	got, want := string(f.Fields["messages"]), `[{"role":"user","content":"a<b &  c"}]`
	if got != want {
		t.Errorf("messages %s, want %s", got, want)
	}
	got, want = string(f.Fields["system"]), `[{"type":"text", "text":"<notes>"}]`
	if got != want {
		t.Errorf("system %s, want %s", got, want)
	}
}

// TestCountTokensSendsTheBodyInvokeModelGets: the body count_tokens builds
// once, for its cache key and its first call, is the one InvokeModel gets,
// less the fields the model refuses.
func TestCountTokensSendsTheBodyInvokeModelGets(t *testing.T) {
	u, rc, _ := emulated(t, "us-east-1")
	body := `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"Hi"}],` +
		`"tools":[{"name":"a","eager_input_streaming":true,"input_schema":{"type":"object"}}]}`
	if _, err := u.CountTokens(context.Background(), request(t, body)); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Messages(context.Background(), request(t, body)); err != nil {
		t.Fatal(err)
	}
	counts, invokes := rc.calls("/count-tokens"), rc.calls("/invoke")
	if len(counts) != 1 || len(invokes) != 1 {
		t.Fatalf("%d count-tokens and %d invoke calls, want 1 and 1", len(counts), len(invokes))
	}
	got, err := base64.StdEncoding.DecodeString(gjson.GetBytes(counts[0].Body, "input.invokeModel.body").String())
	if err != nil {
		t.Fatal(err)
	}
	want := invokes[0].Body
	if !bytes.Equal(got, want) {
		t.Errorf("count-tokens sent %s, invoke %s", got, want)
	}
	if bytes.Contains(got, []byte("eager_input_streaming")) {
		t.Errorf("a field the model refuses was counted: %s", got)
	}
}
