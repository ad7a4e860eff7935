package bedrockwire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"testing"

	awseventstream "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

func FuzzEventStreamRoundTrip(f *testing.F) {
	f.Add("chunk", []byte(`{"type":"message_start"}`), false)
	f.Add("throttlingException", []byte(""), true)
	f.Add("", []byte{0, 1, 2, 255}, false)
	f.Fuzz(func(t *testing.T, name string, payload []byte, exception bool) {
		if len(name) > 255 {
			return
		}
		rec := httptest.NewRecorder()
		fw := NewEventWriter(rec)
		var err error
		if exception {
			err = fw.Exception(name, string(payload))
		} else {
			err = fw.Event(name, payload)
		}
		if err != nil {
			t.Fatal(err)
		}
		msg, err := awseventstream.NewDecoder().Decode(bytes.NewReader(rec.Body.Bytes()), nil)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		wantType, typeHeader := "event", ":event-type"
		if exception {
			wantType, typeHeader = "exception", ":exception-type"
		}
		if got := msg.Headers.Get(":message-type"); got == nil || got.String() != wantType {
			t.Errorf(":message-type %v", got)
		}
		if got := msg.Headers.Get(typeHeader); got == nil || got.String() != name {
			t.Errorf("%s %v, want %q", typeHeader, got, name)
		}
		if !exception && !bytes.Equal(msg.Payload, payload) {
			t.Errorf("payload %q, want %q", msg.Payload, payload)
		}
	})
}

func TestChunkIsBase64Bytes(t *testing.T) {
	rec := httptest.NewRecorder()
	data := []byte(`{"type":"message_stop"}`)
	if err := NewEventWriter(rec).Chunk(data); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed {
		t.Error("chunk not flushed")
	}
	msg, err := awseventstream.NewDecoder().Decode(bytes.NewReader(rec.Body.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Headers.Get(":event-type"); got == nil || got.String() != "chunk" {
		t.Errorf(":event-type %v", got)
	}
	var part struct{ Bytes string }
	if err := json.Unmarshal(msg.Payload, &part); err != nil {
		t.Fatal(err)
	}
	if got, _ := base64.StdEncoding.DecodeString(part.Bytes); !bytes.Equal(got, data) {
		t.Errorf("bytes decode to %q, want %q", got, data)
	}
}
