package claudecode_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/internal/claudecode"
)

func TestBodiesHaveTheAskedShapeAndAreValidRequests(t *testing.T) {
	for _, s := range []claudecode.Shape{
		{Size: 50 << 10},
		{},
		{Size: 1 << 20, Tools: 80},
		{Size: 100 << 10, NoThinking: true, NoStream: true},
	} {
		body := claudecode.Body(s)
		want := s.Size
		if want == 0 {
			want = 370 << 10
		}
		if len(body) < want || len(body) > max(want+want/8, 64<<10) { // 40 tools and 60 messages take about 60 KB
			t.Errorf("%+v: %d bytes, want about %d", s, len(body), want)
		}
		root := gjson.ParseBytes(body)
		if n, want := len(root.Get("tools").Array()), max(s.Tools, 40); n != want {
			t.Errorf("%+v: %d tools, want %d", s, n, want)
		}
		if n := len(root.Get("messages").Array()); n < 60 {
			t.Errorf("%+v: %d messages, want 60 or more", s, n)
		}
		if got, want := bytes.Contains(body, []byte(`"signature":"`)), !s.NoThinking; got != want {
			t.Errorf("%+v: signed thinking blocks present = %v, want %v", s, got, want)
		}
		if !root.Get("system.1.cache_control").Exists() || !root.Get("messages.@reverse.0.content.@reverse.0.cache_control").Exists() {
			t.Errorf("%+v: cache_control missing on the system or the last user block", s)
		}
		if _, err := anthropic.ParseRequest(body, http.Header{}, false); err != nil {
			t.Errorf("%+v: not a valid Messages request: %v", s, err)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("%+v: not JSON: %v", s, err)
		}
	}
}

func TestBodiesAreTheSameForTheSameShape(t *testing.T) {
	a, b := claudecode.Body(claudecode.Shape{Size: 80 << 10}), claudecode.Body(claudecode.Shape{Size: 80 << 10})
	if !bytes.Equal(a, b) {
		t.Error("two bodies of one shape differ")
	}
}
