package anthropic

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
)

func TestParseRequestRejectsBadInput(t *testing.T) {
	cases := []struct {
		body, field string
	}{
		{`{`, "not valid JSON"},
		{`[]`, "not valid JSON"},
		{`{"max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`, "model: Field required"},
		{`{"model":"[1m]","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`, "model: a model id is required"},
		{`{"model":"m","max_tokens":1,"messages":[null]}`, "messages.0: Input should be a valid object"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tools":[null]}`, "tools: Input should be a valid list of objects"},
		{`{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens: Input should be a valid integer"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"top_p":"x"}`, "top_p: Input should be a valid number"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"stream":1}`, "stream: Input should be a valid boolean"},
		{`{"model":5,"max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`, "model: Input should be a valid string"},
		{`{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "max_tokens: Field required"},
		{`{"model":"m","max_tokens":"10","messages":[{"role":"user","content":"hi"}]}`, "max_tokens: Input should be a valid integer"},
		{`{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens: Input should be greater"},
		{`{"model":"m","max_tokens":1}`, "messages: Field required"},
		{`{"model":"m","max_tokens":1,"messages":[]}`, "messages: at least one message"},
		{`{"model":"m","max_tokens":1,"messages":{}}`, "messages: Input should be a valid list"},
		{`{"model":"m","max_tokens":1,"messages":[{"content":"hi"}]}`, "messages.0.role: Field required"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user"}]}`, "messages.0.content: Field required"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"text":"x"}]}]}`, "messages.0.content.0.type"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"stream":"yes"}`, "stream: Input should be a valid boolean"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}`, "temperature"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tools":[{"input_schema":{}}]}`, "tools.0.name"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"a"},{"nam":"b"}]}`, "tools.1.name"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tools":{"name":"a"}}`, "tools: Input should be a valid list of objects"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"stop_sequences":["a",1]}`, "stop_sequences: Input should be a valid list of strings"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"stop_sequences":"a"}`, "stop_sequences: Input should be a valid list of strings"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]} x`, "not valid JSON"},
	}
	for _, c := range cases {
		_, err := ParseRequest([]byte(c.body), http.Header{}, false)
		if claudebridge.ErrorCode(err) != claudebridge.EINVALID || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: got %v, want EINVALID naming %q", c.body, err, c.field)
		}
	}
}

func TestParseRequestAcceptsWhatEncodingJSONDecodes(t *testing.T) {
	for _, body := range []string{
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"stop_sequences":["a",null]}`,
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":null}]}`,
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]},{"role":"assistant","content":"y"}]}`,
	} {
		if _, err := ParseRequest([]byte(body), http.Header{}, false); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}

func TestParseRequestKeepsTheBody(t *testing.T) {
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}],"future_field":{"a":1}}`)
	h := http.Header{}
	h.Add("anthropic-beta", "a-1, b-2")
	h.Add("anthropic-beta", "a-1,c-3")
	h.Set("anthropic-version", "2023-06-01")
	r, err := ParseRequest(body, h, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "claude-sonnet-4-5" || !r.Stream || r.Version != "2023-06-01" {
		t.Fatalf("got %+v", r)
	}
	if strings.Join(r.Betas, ",") != "a-1,b-2,c-3" {
		t.Fatalf("betas %v", r.Betas)
	}
	if string(r.JSON()) != string(body) {
		t.Fatal("an unchanged request must be sent as received")
	}
	if _, err := ParseRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`), h, true); err != nil {
		t.Fatalf("count_tokens needs no max_tokens: %v", err)
	}
}

func TestParseRequestStrips1MSuffix(t *testing.T) {
	body := []byte(`{"model":"claude-sonnet-4-5[1m]","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
	r, err := ParseRequest(body, http.Header{}, false)
	if err != nil {
		t.Fatal(err)
	}
	var sent struct{ Model string }
	json.Unmarshal(r.JSON(), &sent)
	if r.Model != "claude-sonnet-4-5" || sent.Model != "claude-sonnet-4-5" {
		t.Fatalf("model %q, sent %q", r.Model, sent.Model)
	}
	if len(r.Betas) != 1 || r.Betas[0] != Beta1MContext {
		t.Fatalf("betas %v", r.Betas)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"m[1m]","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"tools":[{"name":"t"}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":null}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body, http.Header{}, false)
		if err != nil {
			if claudebridge.ErrorCode(err) != claudebridge.EINVALID {
				t.Fatalf("error with code %q: %v", claudebridge.ErrorCode(err), err)
			}
			return
		}
		if r.Model == "" || !json.Valid(r.JSON()) {
			t.Fatalf("accepted request without model or with invalid JSON: %s", r.JSON())
		}
	})
}

// FuzzFastChecksAgreeWithEncodingJSON holds the one-scan checks to what
// encoding/json makes of the same bytes: the top-level fields, and the
// messages the exact (slow) path accepts.
func FuzzFastChecksAgreeWithEncodingJSON(f *testing.F) {
	f.Add([]byte(`{"model":"m","model":"n","messages":[{"role":"user","content":"hi"}],"a\u0062":1}`))
	f.Add([]byte(`[{"role":"user","content":[{"type":"text","type":null}]}]`))
	f.Add([]byte(`[{"role":"","role":"user","content":[{"type":"image"}],"content":"x"}, null]`))
	f.Add([]byte(`[{"role":"user","content":[{"type":1}]}]`))
	f.Add([]byte(`{"\ud800\u0041":1,"\udc00\ud800":2,"\ud800\ud800\udc00":3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var want map[string]json.RawMessage
		if err := json.Unmarshal(body, &want); err != nil {
			want = nil
		}
		got := topLevelFields(body)
		if (got == nil) != (want == nil) {
			t.Fatalf("fields of %q: %v, encoding/json %v", body, got, want)
		}
		for k, v := range want {
			if !bytes.Equal(bytes.TrimSpace(got[k]), bytes.TrimSpace(v)) {
				t.Fatalf("field %q of %q: %s, encoding/json %s", k, body, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("fields of %q: %d, encoding/json %d", body, len(got), len(want))
		}
		if json.Valid(body) && messagesFine(body) && explainMessages(body) != nil {
			t.Fatalf("messages %q: fast check accepts what the exact one refuses: %v", body, explainMessages(body))
		}
	})
}

func TestCheckedUsageOf(t *testing.T) {
	for _, c := range []struct {
		body string
		want claudebridge.Usage
		ok   bool
	}{
		{`{"type":"message","usage":{"input_tokens":3,"output_tokens":5,"cache_read_input_tokens":2}}`, claudebridge.Usage{InputTokens: 3, OutputTokens: 5, CacheReadInputTokens: 2}, true},
		{`{"type":"message"}`, claudebridge.Usage{}, true},
		{`{"type":"message","usage":"many"}`, claudebridge.Usage{}, false},
		{`{"type":"message","usage":{"input_tokens":3}`, claudebridge.Usage{}, false},
		{`<html>bad gateway</html>`, claudebridge.Usage{}, false},
	} {
		got, ok := CheckedUsageOf([]byte(c.body))
		if ok != c.ok || got != c.want {
			t.Errorf("CheckedUsageOf(%s) = %+v, %v; want %+v, %v", c.body, got, ok, c.want, c.ok)
		}
		if c.ok && UsageOf([]byte(c.body)) != got {
			t.Errorf("UsageOf(%s) differs from CheckedUsageOf", c.body)
		}
	}
}

func TestUsageOfReadsCacheWritesByLifetime(t *testing.T) {
	got := UsageOf([]byte(`{"usage":{"input_tokens":1,"cache_creation_input_tokens":30,"cache_creation":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":20},"output_tokens":2}}`))
	if got, want := got.CacheCreation.Ephemeral1hInputTokens, 20; got != want {
		t.Errorf("1h writes %d, want %d", got, want)
	}
	if got, want := got.CacheCreation.Ephemeral5mInputTokens, 10; got != want {
		t.Errorf("5m writes %d, want %d", got, want)
	}
}

// A body that is not UTF-8 is refused as the Anthropic API refuses it, with
// the byte and its position.
func TestABodyThatIsNotUTF8IsRefused(t *testing.T) {
	for _, tc := range []struct {
		body, want string
	}{
		{"{\"model\":\"m\xff\"}", "The request body is not valid JSON: 'utf-8' codec can't decode byte 0xff in position 11: invalid start byte"},
		{"{\"model\":\"m\xc3(\"}", "The request body is not valid JSON: 'utf-8' codec can't decode byte 0xc3 in position 11: invalid continuation byte"},
		{"{\"model\":\"m\"}\xe2\x82", "The request body is not valid JSON: 'utf-8' codec can't decode byte 0xe2 in position 13: unexpected end of data"},
	} {
		_, err := ParseRequest([]byte(tc.body), http.Header{}, false)
		if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
			t.Errorf("%q: code %q, want %q", tc.body, got, want)
		}
		if got := claudebridge.ErrorMessage(err); got != tc.want {
			t.Errorf("%q: message %q, want %q", tc.body, got, tc.want)
		}
	}
}

// An escaped surrogate that is not half of a pair is refused as the
// Anthropic API refuses it (its decoder is yyjson's reader, its place
// Python's JSONDecodeError, in characters), though encoding/json takes it.
// Claude Code sends such bodies when it cuts text inside an emoji.
func TestALoneSurrogateEscapeIsRefusedAsTheAPIRefusesIt(t *testing.T) {
	for _, tc := range []struct {
		body, want string
	}{
		{`{"model":"\ud800"}`, "no low surrogate in string: line 1 column 17 (char 16)"},
		{`{"model":"\udc00"}`, "invalid high surrogate in string: line 1 column 11 (char 10)"},
		{`{"model":"\ud800\u0041"}`, "invalid low surrogate in string: line 1 column 17 (char 16)"},
		{`{"model":"\uD800\uD800"}`, "invalid low surrogate in string: line 1 column 17 (char 16)"},
		{"{\n\"model\":\"é\\udc00\"}", "invalid high surrogate in string: line 2 column 11 (char 12)"},
		{`{"\udc00":1}`, "invalid high surrogate in string: line 1 column 3 (char 2)"},
		{`{"model":"\ud800", `, "no low surrogate in string: line 1 column 17 (char 16)"},
		{`{"messages":[{"role":"user","content":"é\ud83d\ude00\ud83d"}],"max_tokens":1,"model":"m"}`,
			"no low surrogate in string: line 1 column 59 (char 58)"},
	} {
		_, err := ParseRequest([]byte(tc.body), http.Header{}, false)
		if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
			t.Errorf("%q: code %q, want %q", tc.body, got, want)
		}
		if got, want := claudebridge.ErrorMessage(err), "The request body is not valid JSON: "+tc.want; got != want {
			t.Errorf("%q: message %q, want %q", tc.body, got, want)
		}
	}
}

// Pairs, and text that only looks like an escape, are taken.
func TestSurrogatePairsAndEscapedBackslashesAreTaken(t *testing.T) {
	for _, body := range []string{
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"\ud83d\ude00 \uD83D\uDE00"}]}`,
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"\\ud800 \\udc00 \u0041"}]}`,
	} {
		if _, err := ParseRequest([]byte(body), http.Header{}, false); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
}
