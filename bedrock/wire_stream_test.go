package bedrock

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/claudebridge/claudebridge"
)

// frame is one event-stream message as a stand-in sends it.
type frame struct {
	messageType, kind string // kind: :event-type or :exception-type or :error-code
	payload           string
}

func encodeFrames(t *testing.T, frames []frame) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, f := range frames {
		var m eventstream.Message
		m.Headers.Set(":message-type", eventstream.StringValue(f.messageType))
		switch f.messageType {
		case "event":
			m.Headers.Set(":event-type", eventstream.StringValue(f.kind))
		case "exception":
			m.Headers.Set(":exception-type", eventstream.StringValue(f.kind))
		case "error":
			m.Headers.Set(":error-code", eventstream.StringValue(f.kind))
			m.Headers.Set(":error-message", eventstream.StringValue(f.payload))
		}
		m.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		if f.messageType != "error" {
			m.Payload = []byte(f.payload)
		}
		if err := enc.Encode(&b, m); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// chunkFrame wraps a Messages event as InvokeModelWithResponseStream does.
func chunkFrame(event string) frame {
	return frame{"event", "chunk", `{"bytes":"` + base64.StdEncoding.EncodeToString([]byte(event)) + `"}`}
}

// streamFrom makes an InvokeModelWithResponseStream call to a stand-in that
// answers with frames, and reads the stream to its end.
func streamFrom(t *testing.T, frames []frame) ([]claudebridge.Event, error) {
	t.Helper()
	body := encodeFrames(t, frames)
	u := rawUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if !strings.HasSuffix(r.URL.Path, "/invoke-with-response-stream") {
			w.WriteHeader(404)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.Write(body)
	})
	s, err := u.Stream(context.Background(), request(t, userText("claude-sonnet-4-5", "Hi")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var events []claudebridge.Event
	for {
		ev, err := s.Next()
		if err != nil {
			return events, err
		}
		events = append(events, ev)
	}
}

const (
	wireMessageStart = `{"message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"usage":{"input_tokens":3,"output_tokens":1}},"type":"message_start"}`
	wireMessageStop  = `{"type":"message_stop"}`
)

// Exception frames of every kind end the stream with the error they stand
// for; a ModelStreamErrorException says by originalStatusCode what the model
// answered.
func TestStreamExceptionFrames(t *testing.T) {
	for _, tc := range []struct {
		f    frame
		code string
	}{
		{frame{"exception", "throttlingException", `{"message":"Too many tokens, please wait before trying again."}`}, claudebridge.ERATELIMIT},
		{frame{"exception", "serviceUnavailableException", `{"message":"Bedrock is unable to process your request."}`}, claudebridge.EOVERLOADED},
		{frame{"exception", "modelTimeoutException", `{"message":"Model has timed out in processing the request."}`}, claudebridge.ETIMEOUT},
		{frame{"exception", "validationException", `{"message":"Input is too long for requested model."}`}, claudebridge.EINVALID},
		{frame{"exception", "internalServerException", `{"message":"An internal server error occurred."}`}, claudebridge.EINTERNAL},
		{frame{"exception", "modelStreamErrorException", `{"message":"The model stream failed.","originalStatusCode":529,"originalMessage":"Overloaded"}`}, claudebridge.EOVERLOADED},
		{frame{"exception", "modelStreamErrorException", `{"message":"The model stream failed.","originalStatusCode":429,"originalMessage":"Too many tokens"}`}, claudebridge.ERATELIMIT},
		{frame{"exception", "modelStreamErrorException", `{"message":"The model stream failed."}`}, claudebridge.EINTERNAL},
		{frame{"error", "InternalFailure", "something broke"}, claudebridge.EINTERNAL},
	} {
		events, err := streamFrom(t, []frame{chunkFrame(wireMessageStart), tc.f})
		var ce *claudebridge.Error
		if !errors.As(err, &ce) || ce.Code != tc.code || ce.Message == "" {
			t.Errorf("%s %s: got %+v, want code %s", tc.f.kind, tc.f.payload, err, tc.code)
		}
		if len(events) != 1 || events[0].Type != "message_start" {
			t.Errorf("%s: events before the failure: %+v", tc.f.kind, events)
		}
	}
}

// A stream as Bedrock sends it: "type" need not come first, message_stop
// may or may not carry amazon-bedrock-invocationMetrics, and neither it nor
// anything Bedrock-only reaches the client.
func TestStreamChunksAsBedrockSendsThem(t *testing.T) {
	for _, stop := range []string{wireMessageStop, `{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":3,"outputTokenCount":1,"invocationLatency":10,"firstByteLatency":5}}`} {
		events, err := streamFrom(t, []frame{chunkFrame(wireMessageStart), chunkFrame(`{"delta":{"text":"Hi","type":"text_delta"},"index":0,"type":"content_block_delta"}`), chunkFrame(stop)})
		if err != io.EOF {
			t.Fatalf("end: %v", err)
		}
		var types []string
		for _, ev := range events {
			types = append(types, ev.Type)
			if bytes.Contains(ev.Data, []byte("amazon-bedrock")) {
				t.Errorf("%s carries Bedrock's metrics: %s", ev.Type, ev.Data)
			}
		}
		if strings.Join(types, " ") != "message_start content_block_delta message_stop" {
			t.Errorf("types %v", types)
		}
		if !bytes.Contains(events[0].Data, []byte(`"model":"claude-sonnet-4-5"`)) || !bytes.Contains(events[0].Data, []byte(`"cache_read_input_tokens":0`)) {
			t.Errorf("message_start: %s", events[0].Data)
		}
	}
}
