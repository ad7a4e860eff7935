package bedrockfront

import (
	"net/http"

	"github.com/claudebridge/claudebridge"
)

// DroppedHeader names, on an answer whose request lost body fields or
// anthropic-beta flags on the way upstream, what was left out, as the /v1
// door does with the same header (gateway.DroppedHeader):
// "fields=tools.0.strict; betas=flag-2099-01-01". The AWS SDKs ignore
// headers they do not model; boto3 shows it in ResponseMetadata.
const DroppedHeader = "claudebridge-dropped"

// droppedWriter sets DroppedHeader when the head is written, from what the
// upstream has noted by then: for a stream, by the time it was accepted.
type droppedWriter struct {
	http.ResponseWriter
	dropped *claudebridge.Dropped
	wrote   bool
}

func (w *droppedWriter) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		if s := w.dropped.String(); s != "" {
			w.Header().Set(DroppedHeader, s)
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *droppedWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's deadlines and
// flushes.
func (w *droppedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
