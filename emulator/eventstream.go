package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// eventStreamContentType is the media type of every Bedrock streaming
// response (InvokeModelWithResponseStream and ConverseStream).
const eventStreamContentType = "application/vnd.amazon.eventstream"

// frameWriter writes AWS event-stream messages to a response, flushing each
// one so a client sees every event as soon as it is made.
type frameWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	encoder *eventstream.Encoder
}

func newFrameWriter(w http.ResponseWriter) *frameWriter {
	return &frameWriter{w: w, rc: http.NewResponseController(w), encoder: eventstream.NewEncoder()}
}

// event writes an event message: :message-type "event", :event-type as
// given, :content-type application/json, and payload as the message body.
func (f *frameWriter) event(eventType string, payload []byte) error {
	var h eventstream.Headers
	h.Set(":event-type", eventstream.StringValue(eventType))
	h.Set(":content-type", eventstream.StringValue("application/json"))
	h.Set(":message-type", eventstream.StringValue("event"))
	return f.write(eventstream.Message{Headers: h, Payload: payload})
}

// chunk writes one InvokeModelWithResponseStream "chunk" event whose
// payload is {"bytes":"<base64 of data>"}, the PayloadPart shape.
func (f *frameWriter) chunk(data []byte) error {
	payload, err := json.Marshal(map[string]string{"bytes": base64.StdEncoding.EncodeToString(data)})
	if err != nil {
		return err
	}
	return f.event("chunk", payload)
}

// exception writes an exception message. exceptionType is the member name
// of the stream union in the service model (throttlingException,
// modelStreamErrorException, ...), which is what the SDKs match on.
func (f *frameWriter) exception(exceptionType, message string) error {
	var h eventstream.Headers
	h.Set(":exception-type", eventstream.StringValue(exceptionType))
	h.Set(":content-type", eventstream.StringValue("application/json"))
	h.Set(":message-type", eventstream.StringValue("exception"))
	payload, err := json.Marshal(map[string]string{"message": message})
	if err != nil {
		return err
	}
	return f.write(eventstream.Message{Headers: h, Payload: payload})
}

func (f *frameWriter) write(m eventstream.Message) error {
	if err := f.encoder.Encode(f.w, m); err != nil {
		return err
	}
	return f.rc.Flush()
}
