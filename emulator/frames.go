package emulator

import (
	"net/http"

	"github.com/claudebridge/claudebridge/eventstream"
)

// eventStreamContentType is the media type of every Bedrock streaming
// response (InvokeModelWithResponseStream and ConverseStream).
const eventStreamContentType = eventstream.ContentType

// frameWriter is an eventstream.Writer under the names the emulator's
// handlers call it by.
type frameWriter struct{ w *eventstream.Writer }

func newFrameWriter(w http.ResponseWriter) *frameWriter {
	return &frameWriter{w: eventstream.NewWriter(w)}
}

func (f *frameWriter) event(eventType string, payload []byte) error {
	return f.w.Event(eventType, payload)
}

func (f *frameWriter) chunk(data []byte) error { return f.w.Chunk(data) }

func (f *frameWriter) exception(exceptionType, message string) error {
	return f.w.Exception(exceptionType, message)
}
