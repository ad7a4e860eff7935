package bedrockwire

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

func TestEnvelope(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[],"anthropic_beta":["a"]}`, ""},
		{`[]`, "#: expected type: JSONObject, found: JSONArray"},
		{`{"max_tokens":1,"messages":[]}`, "#: required key [anthropic_version] not found"},
		{`{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[],"model":"m","stream":true}`,
			"#: extraneous key [model] is not permitted#: extraneous key [stream] is not permitted"},
		{`{"anthropic_version":"2023-06-01","max_tokens":1,"messages":[]}`, "#/anthropic_version: 2023-06-01 is not a valid enum value"},
		{`{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[],"anthropic_beta":"a"}`, "#/anthropic_beta: expected type: JSONArray, found: String"},
	} {
		fields, betas, e := Envelope([]byte(c.body))
		switch {
		case c.want == "" && (e != nil || fields == nil || len(betas) != 1):
			t.Errorf("%s: %v %v", c.body, e, betas)
		case c.want != "" && (e == nil || e.Status != 400 || e.Type != "ValidationException" ||
			!strings.HasPrefix(e.Message, "Malformed input request: "+c.want+", please reformat")):
			t.Errorf("%s: %v, want %q", c.body, e, c.want)
		}
	}
}

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	(&Error{Type: "ThrottlingException", Status: 429, Message: "slow down", RetryAfter: 2}).Write(rec, "rid")
	if rec.Code != 429 || rec.Header().Get("X-Amzn-ErrorType") != "ThrottlingException:"+BedrockNamespace ||
		rec.Header().Get("X-Amzn-RequestId") != "rid" || rec.Header().Get("Retry-After") != "2" ||
		rec.Body.String() != `{"message":"slow down"}` {
		t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}

func TestWithInvocationMetrics(t *testing.T) {
	out := WithInvocationMetrics([]byte(`{"type":"message_stop"}`), claudebridge.Usage{InputTokens: 3, OutputTokens: 5}, 20*time.Millisecond, 5*time.Millisecond)
	var v struct {
		Type    string
		Metrics map[string]int `json:"amazon-bedrock-invocationMetrics"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Type != "message_stop" || v.Metrics["inputTokenCount"] != 3 ||
		v.Metrics["outputTokenCount"] != 5 || v.Metrics["invocationLatency"] != 20 || v.Metrics["firstByteLatency"] != 5 {
		t.Fatalf("%s: %v", out, err)
	}
}

func TestParseCountInput(t *testing.T) {
	in, e := ParseCountInput([]byte(`{"input":{"invokeModel":{"body":"eyJhIjoxfQ=="}}}`))
	if e != nil || string(in.InvokeModel) != `{"a":1}` {
		t.Fatalf("%v %v", in, e)
	}
	in, e = ParseCountInput([]byte(`{"input":{"converse":{"messages":[]}}}`))
	if e != nil || string(in.Converse) != `{"messages":[]}` {
		t.Fatalf("%v %v", in, e)
	}
	for _, bad := range []string{`{}`, `{"input":{"converse":null}}`, `nope`} {
		if _, e := ParseCountInput([]byte(bad)); e == nil || e.Type != "ValidationException" {
			t.Errorf("%s: %v", bad, e)
		}
	}
}
