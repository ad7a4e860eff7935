package anthropicapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// Stream sends r to POST /v1/messages as a streaming call and returns once
// the API has answered with its headers (a request not marked Stream goes
// with "stream": true). The events are the API's own, data bytes untouched,
// ping events included.
func (u *Upstream) Stream(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
	if !r.Stream {
		r = r.Clone()
		r.SetField("stream", json.RawMessage("true"))
	}
	ctx, cancel := context.WithCancel(ctx)
	resp, err := u.call(ctx, http.MethodPost, "/v1/messages", r)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &stream{
		ctx:       ctx,
		cancel:    cancel,
		body:      resp.Body,
		requestID: resp.Header.Get("Request-Id"),
		log:       u.log,
	}
	s.events = anthropic.NewSSEReader(resp.Body)
	return s, nil
}

// maxEventsAfterStop bounds what is read and dropped after message_stop
// while waiting for the end of the response.
const maxEventsAfterStop = 16

// stream is one streaming call. Next is called from one goroutine at a time;
// Close may be called from any.
type stream struct {
	ctx       context.Context
	cancel    context.CancelFunc
	body      io.ReadCloser
	events    *anthropic.SSEReader
	requestID string
	log       *slog.Logger

	stopped bool  // message_stop was read
	err     error // what every Next returns once the stream is over

	closeOnce sync.Once
}

// Buffered reports whether the next event has arrived already.
func (s *stream) Buffered() bool {
	return s.err == nil && !s.stopped && s.events.Buffered()
}

// Next returns the next event of the API's stream. After message_stop it
// reads the response to its end, so that the connection goes back to the
// pool, and returns io.EOF. An error event becomes the *Error it carries; a
// stream that ends or breaks before message_stop is an EINTERNAL *Error; a
// closed or canceled stream is ECANCELED.
func (s *stream) Next() (claudebridge.Event, error) {
	if s.err != nil {
		return claudebridge.Event{}, s.err
	}
	if s.stopped {
		s.err = io.EOF
		for i := 0; i < maxEventsAfterStop; i++ {
			if _, err := s.events.Next(); err != nil {
				break
			}
		}
		return claudebridge.Event{}, io.EOF
	}
	ev, err := s.events.Next()
	switch {
	case err == io.EOF:
		s.err = claudebridge.Errorf(claudebridge.EINTERNAL, "The Anthropic API stream ended before message_stop")
		s.log.Warn("anthropic api: stream ended before message_stop", "request_id", s.requestID)
		return claudebridge.Event{}, s.err
	case err != nil:
		s.err = s.readError(err)
		return claudebridge.Event{}, s.err
	case ev.Type == "error":
		e := errorFromJSON(ev.Data)
		if e == nil {
			e = claudebridge.Errorf(claudebridge.EINTERNAL, "The Anthropic API stream failed")
		}
		s.err = e
		s.log.Warn("anthropic api: error event", "request_id", s.requestID, "code", e.Code, "message", e.Message)
		return claudebridge.Event{}, s.err
	case ev.Type == "message_stop":
		s.stopped = true
	}
	return ev, nil
}

// readError is the error for a stream whose body could not be read.
func (s *stream) readError(err error) *claudebridge.Error {
	if errors.Is(err, anthropic.ErrSSELineTooLong) {
		s.log.Warn("anthropic api: stream line too long", "request_id", s.requestID)
		return claudebridge.Errorf(claudebridge.EINTERNAL, "The Anthropic API sent an event over the size limit")
	}
	e := transportError(s.ctx, err)
	if e.Code != claudebridge.ECANCELED {
		s.log.Warn("anthropic api: stream broke off", "request_id", s.requestID, "err", err)
		e.Message = "The Anthropic API stream broke off before message_stop"
	}
	return e
}

// Close cancels the call if it is still running and releases the connection.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.body.Close()
	})
	return nil
}
