package emulator

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
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
		fw := newFrameWriter(rec)
		var err error
		if exception {
			err = fw.exception(name, string(payload))
		} else {
			err = fw.event(name, payload)
		}
		if err != nil {
			t.Fatal(err)
		}
		msg, err := eventstream.NewDecoder().Decode(bytes.NewReader(rec.Body.Bytes()), nil)
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
