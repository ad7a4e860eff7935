package bedrockwire

// This file writes the AWS event-stream framing that Bedrock's streaming
// operations (InvokeModelWithResponseStream, ConverseStream) answer with:
// binary messages with typed headers, each with a prelude CRC and a message
// CRC, as the AWS SDKs decode them.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	awseventstream "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// EventStreamContentType is the media type of every Bedrock streaming
// response.
const EventStreamContentType = "application/vnd.amazon.eventstream"

// writeTimeout bounds the write of one message, not the stream.
const writeTimeout = time.Minute

// EventWriter writes event-stream messages to a response, flushing each one
// so a client sees every event as soon as it is made. Each message must
// reach the connection within writeTimeout: a stream lasts as long as the
// model writes, but a client that takes none of it for that long is stuck,
// and the write fails. It is not safe for concurrent use.
type EventWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	encoder *awseventstream.Encoder
}

// NewEventWriter returns an EventWriter on w. The caller sets the response
// headers (Content-Type: EventStreamContentType) and the status before the
// first message.
func NewEventWriter(w http.ResponseWriter) *EventWriter {
	return &EventWriter{w: w, rc: http.NewResponseController(w), encoder: awseventstream.NewEncoder()}
}

// Event writes an event message: :message-type "event", :event-type as
// given, :content-type application/json, and payload as the message body.
func (f *EventWriter) Event(eventType string, payload []byte) error {
	var h awseventstream.Headers
	h.Set(":event-type", awseventstream.StringValue(eventType))
	h.Set(":content-type", awseventstream.StringValue("application/json"))
	h.Set(":message-type", awseventstream.StringValue("event"))
	return f.write(awseventstream.Message{Headers: h, Payload: payload})
}

// Chunk writes one InvokeModelWithResponseStream "chunk" event whose payload
// is {"bytes":"<base64 of data>"}, the PayloadPart shape.
func (f *EventWriter) Chunk(data []byte) error {
	payload, err := json.Marshal(map[string]string{"bytes": base64.StdEncoding.EncodeToString(data)})
	if err != nil {
		return err
	}
	return f.Event("chunk", payload)
}

// Exception writes an exception message with {"message": message} as its
// body. exceptionType is the member name of the stream union in the service
// model (throttlingException, modelStreamErrorException, ...), which is
// what the SDKs match on.
func (f *EventWriter) Exception(exceptionType, message string) error {
	var h awseventstream.Headers
	h.Set(":exception-type", awseventstream.StringValue(exceptionType))
	h.Set(":content-type", awseventstream.StringValue("application/json"))
	h.Set(":message-type", awseventstream.StringValue("exception"))
	payload, err := json.Marshal(map[string]string{"message": message})
	if err != nil {
		return err
	}
	return f.write(awseventstream.Message{Headers: h, Payload: payload})
}

func (f *EventWriter) write(m awseventstream.Message) error {
	f.rc.SetWriteDeadline(time.Now().Add(writeTimeout)) // a recorder has none: not an error of the client's
	if err := f.encoder.Encode(f.w, m); err != nil {
		return err
	}
	return f.rc.Flush()
}
