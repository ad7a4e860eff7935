package anthropic

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestAppendEvent(t *testing.T) {
	buf := AppendEvent(nil, "content_block_delta", []byte(`{"type":"content_block_delta"}`))
	buf = AppendEvent(buf, "x", []byte("line one\r\nline two\nthree"))
	want := "event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n" +
		"event: x\ndata: line one\ndata: line two\ndata: three\n\n"
	if string(buf) != want {
		t.Fatalf("got %q", buf)
	}
}

// FuzzSSEWriter checks that whatever is written reads back as the same
// event: the writer never produces a stream the reader splits differently.
func FuzzSSEWriter(f *testing.F) {
	f.Add("message_start", []byte(`{"type":"message_start"}`))
	f.Add("ping", []byte("a\nb\r\nc\rd"))
	f.Add("e\nvent", []byte(""))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		if strings.Trim(typ, "\r\n") == "" {
			return // an empty type reads back as the format's default, "message"
		}
		raw := AppendEvent(nil, typ, data)
		r := NewSSEReader(bytes.NewReader(raw))
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("written event unreadable: %v (%q)", err, raw)
		}
		// Line breaks in data come back as "\n", as the SSE format defines.
		norm := bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
		if !bytes.Equal(ev.Data, norm) {
			t.Fatalf("data %q came back as %q", data, ev.Data)
		}
		if want := strings.NewReplacer("\r", "", "\n", "").Replace(typ); ev.Type != want {
			t.Fatalf("type %q came back as %q", typ, ev.Type)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("one event written, more read: %v", err)
		}
	})
}
