package anthropic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/claudebridge/claudebridge"
)

// MaxSSELine is the longest line SSEReader accepts. Anthropic sends each
// event's JSON on one line, so this bounds one event; a longer line ends the
// stream with an error instead of growing memory without limit.
const MaxSSELine = 32 << 20

// ErrSSELineTooLong is returned by SSEReader.Next for a line over MaxSSELine.
var ErrSSELineTooLong = errors.New("anthropic: server-sent event line too long")

// SSEReader reads server-sent events as the WHATWG event-stream format
// defines them, which is what the Anthropic API sends: "event:" and "data:"
// fields, one optional space after the colon, several data lines joined by
// "\n", lines ended by LF, CRLF or a lone CR, comments (":...") and other
// fields (id, retry) skipped, an event dispatched at a blank line and only if
// it had a data field, a leading byte-order mark ignored.
//
// Each Event's Data are the bytes of its data field(s) exactly as sent, in a
// slice of its own that the caller may keep. An event without an "event:"
// line takes its Type from the "type" member of its JSON data (Anthropic's
// data always names its type), or "message" as the format's default.
type SSEReader struct {
	lines   *bufio.Scanner
	typ     string
	data    []byte
	hasData bool
	started bool
	err     error

	// nextReady: when the last event was dispatched, the scanner already
	// held the whole of another one.
	nextReady bool
}

// NewSSEReader returns a reader of the events in r. It buffers r.
func NewSSEReader(r io.Reader) *SSEReader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4<<10), MaxSSELine)
	sr := &SSEReader{lines: s}
	s.Split(sr.scanLine)
	return sr
}

// scanLine splits lines, and at a blank line (an event's end) notes whether
// the rest of the buffer holds another whole event. Looking stops at that
// event's end, so each byte is looked at about twice in all.
func (r *SSEReader) scanLine(data []byte, atEOF bool) (int, []byte, error) {
	advance, token, err := scanSSELine(data, atEOF)
	if advance > 0 && len(token) == 0 && token != nil {
		r.nextReady = holdsEvent(data[advance:])
	}
	return advance, token, err
}

// holdsEvent reports whether b, which begins at a line's start, holds a
// whole event: a block ended by a blank line with a data line in it (a
// block of comments only dispatches nothing).
func holdsEvent(b []byte) bool {
	end := bytes.Index(b, []byte("\n\n"))
	if end < 0 {
		return false
	}
	block := b[:end]
	return bytes.HasPrefix(block, []byte("data")) || bytes.Contains(block, []byte("\ndata"))
}

// Buffered reports whether the next event has already been read from the
// underlying reader whole, so that Next returns it without waiting. Only
// blocks ended by "\n\n" are looked for, as the Anthropic API ends its
// lines with LF; with CRLF or CR lines Buffered is false, which costs no
// more than a flush per event.
func (r *SSEReader) Buffered() bool {
	return r.err == nil && r.nextReady
}

// Next returns the next complete event. At the end of the input it returns
// io.EOF; an event cut off before its blank line is dropped, as the format
// says. Errors of the underlying reader are returned as they are, and every
// later call returns the same error.
func (r *SSEReader) Next() (claudebridge.Event, error) {
	if r.err != nil {
		return claudebridge.Event{}, r.err
	}
	for r.lines.Scan() {
		line := r.lines.Bytes()
		if !r.started {
			r.started = true
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
		}
		if len(line) == 0 {
			if ev, ok := r.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			r.typ = eventType(value)
		case "data":
			if r.hasData {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			r.hasData = true
		}
	}
	r.err = r.lines.Err()
	switch {
	case r.err == nil:
		r.err = io.EOF
	case errors.Is(r.err, bufio.ErrTooLong):
		r.err = ErrSSELineTooLong
	}
	return claudebridge.Event{}, r.err
}

// dispatch ends the current event at a blank line.
func (r *SSEReader) dispatch() (claudebridge.Event, bool) {
	typ, data, hasData := r.typ, r.data, r.hasData
	r.typ, r.data, r.hasData = "", nil, false
	if !hasData {
		return claudebridge.Event{}, false
	}
	if data == nil {
		data = []byte{}
	}
	if typ == "" {
		typ = typeOfData(data)
	}
	return claudebridge.Event{Type: typ, Data: data}, true
}

// eventType returns the event name, without allocating for the names the
// Messages stream uses.
func eventType(b []byte) string {
	switch string(b) {
	case "message_start":
		return "message_start"
	case "content_block_start":
		return "content_block_start"
	case "content_block_delta":
		return "content_block_delta"
	case "content_block_stop":
		return "content_block_stop"
	case "message_delta":
		return "message_delta"
	case "message_stop":
		return "message_stop"
	case "ping":
		return "ping"
	case "error":
		return "error"
	}
	return string(b)
}

// typeOfData names an event that came without an "event:" line.
func typeOfData(data []byte) string {
	var v struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &v) == nil && v.Type != "" {
		return v.Type
	}
	return "message"
}

// scanSSELine is a bufio.SplitFunc for lines ended by LF, CRLF or CR.
func scanSSELine(data []byte, atEOF bool) (advance int, token []byte, err error) {
	lf := bytes.IndexByte(data, '\n')
	end := lf
	if end < 0 {
		end = len(data)
	}
	if cr := bytes.IndexByte(data[:end], '\r'); cr >= 0 {
		switch {
		case cr+1 < len(data) && data[cr+1] == '\n':
			return cr + 2, data[:cr], nil
		case cr+1 < len(data) || atEOF:
			return cr + 1, data[:cr], nil
		}
		// A CR at the end of the buffer: the next byte decides whether it
		// is a CRLF.
		return 0, nil, nil
	}
	if lf >= 0 {
		return lf + 1, data[:lf], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
