package anthropic

import (
	"bytes"
	"io"
)

// WriteEvent writes one server-sent event: an "event:" line, the data as one
// "data:" line per line of data, and the blank line that ends the event.
// The event line is always written: clients that see data-only SSE take the
// stream for broken and fall back to non-streaming calls.
func WriteEvent(w io.Writer, eventType string, data []byte) error {
	size := len("event: \ndata: \n\n") + len(eventType) + len(data)
	buf := make([]byte, 0, size)
	buf = append(buf, "event: "...)
	buf = append(buf, eventType...)
	buf = append(buf, '\n')
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		buf = append(buf, "data: "...)
		buf = append(buf, data[:i]...)
		buf = append(buf, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	_, err := w.Write(buf)
	return err
}

// Ping is the data of the keep-alive event the Anthropic API sends.
var Ping = []byte(`{"type": "ping"}`)
