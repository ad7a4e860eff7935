package anthropic

import (
	"bytes"
	"strings"
)

// AppendEvent appends one server-sent event to dst: an "event:" line, the
// data as one "data:" line per line of data, and the blank line that ends
// the event. The event line is always written: clients that see data-only
// SSE take the stream for broken and fall back to non-streaming calls.
// Line breaks in eventType, which would forge fields, are dropped.
func AppendEvent(dst []byte, eventType string, data []byte) []byte {
	dst = append(dst, "event: "...)
	if strings.ContainsAny(eventType, "\r\n") {
		eventType = strings.NewReplacer("\r", "", "\n", "").Replace(eventType)
	}
	dst = append(dst, eventType...)
	dst = append(dst, '\n')
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, "\n\n"...)
}

// Ping is the data of the keep-alive event the Anthropic API sends.
var Ping = []byte(`{"type": "ping"}`)
