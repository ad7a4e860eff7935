package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/converse"
)

// converseStream is a Messages stream translated from the raw event-stream
// body of ConverseStream (see rawExchange for why the frames are read here
// rather than through the SDK's typed events).
type converseStream struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	dec    *eventstream.Decoder
	buf    []byte
	tr     converse.StreamToMessages
	queue  []claudebridge.Event
	err    error // sticky: once failed, Next keeps failing

	mu      sync.Mutex
	stopped bool // message_stop handed out: the next Next is io.EOF
	closed  bool
}

func newConverseStream(body io.ReadCloser, cancel context.CancelFunc, model string) *converseStream {
	return &converseStream{body: body, cancel: cancel, dec: eventstream.NewDecoder(),
		buf: make([]byte, 0, 4096), tr: converse.StreamToMessages{Model: model}}
}

// Next returns the next Messages event; io.EOF after message_stop. An
// exception frame returns the mapped *claudebridge.Error; a stream that ends
// before messageStop returns EINTERNAL with Status 502, as on InvokeModel.
func (s *converseStream) Next() (claudebridge.Event, error) {
	for {
		s.mu.Lock()
		stopped, closed := s.stopped, s.closed
		s.mu.Unlock()
		switch {
		case len(s.queue) > 0:
			ev := s.queue[0]
			s.queue = s.queue[1:]
			if ev.Type == "message_stop" {
				s.mu.Lock()
				s.stopped = true
				s.mu.Unlock()
			}
			return ev, nil
		case stopped:
			return claudebridge.Event{}, io.EOF
		case closed:
			return claudebridge.Event{}, &claudebridge.Error{Code: claudebridge.ECANCELED, Message: "the stream was closed"}
		case s.err != nil:
			return claudebridge.Event{}, s.err
		}
		s.queue, s.err = s.read()
	}
}

// read decodes one frame and translates it.
func (s *converseStream) read() ([]claudebridge.Event, error) {
	msg, err := s.dec.Decode(s.body, s.buf[:0])
	if err != nil {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil, &claudebridge.Error{Code: claudebridge.ECANCELED, Message: "the stream was closed"}
		}
		if errors.Is(err, io.EOF) {
			events, ferr := s.tr.Finish()
			if ferr == nil {
				return events, nil
			}
		}
		return nil, &claudebridge.Error{Code: claudebridge.EINTERNAL, Status: 502,
			Message: "Bedrock ended the stream before messageStop"}
	}
	if cap(msg.Payload) > cap(s.buf) {
		s.buf = msg.Payload[:0]
	}
	switch header(msg, ":message-type") {
	case "event":
		return s.tr.Event(header(msg, ":event-type"), msg.Payload)
	case "exception":
		return nil, exceptionError(header(msg, ":exception-type"), msg.Payload)
	default: // "error": a failure of the service itself
		code := header(msg, ":error-code")
		return nil, &claudebridge.Error{Code: claudebridge.EINTERNAL, Message: code + ": " + header(msg, ":error-message")}
	}
}

// header returns a string header of msg, "" when absent.
func header(msg eventstream.Message, name string) string {
	if v := msg.Headers.Get(name); v != nil {
		return v.String()
	}
	return ""
}

// exceptionError maps an exception frame of ConverseStream
// ("throttlingException", "modelStreamErrorException", ...) with the same
// table as the exceptions of HTTP answers.
func exceptionError(kind string, payload []byte) error {
	var body struct {
		Message            string `json:"message"`
		OriginalStatusCode int    `json:"originalStatusCode"`
	}
	_ = json.Unmarshal(payload, &body)
	name := kind
	if name != "" {
		name = string(name[0]&^0x20) + name[1:]
	}
	e := &claudebridge.Error{Code: claudebridge.EINTERNAL, Message: body.Message}
	if c, ok := codes[name]; ok {
		e.Code = c
	}
	if body.OriginalStatusCode != 0 {
		e.Code = modelStatusCode(body.OriginalStatusCode)
	}
	if e.Message == "" {
		e.Message = name
	}
	return e
}

// Close cancels the call and releases the body. Safe to call more than once.
func (s *converseStream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	return s.body.Close()
}
