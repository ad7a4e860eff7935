package bedrockfront

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/converse"
	"github.com/claudebridge/claudebridge/metrics"
)

// converse serves Converse and ConverseStream: the request is translated to
// Messages, sent to the upstream, and the answer translated back.
func (h *Handler) converse(c *call, stream bool) error {
	fields, err := converseFields(c.body, false)
	if err != nil {
		return c.fail(err)
	}
	req, err := h.messagesRequest(c.model, fields, c.r.Header, stream, false)
	if err != nil {
		return c.fail(err)
	}
	paths := converse.ResponseFieldPaths(c.body)
	if stream {
		return h.converseStream(c, req, paths)
	}
	resp, err := h.opts.Upstream.Messages(c.ctx, req)
	if err != nil {
		return c.fail(err)
	}
	c.tally.Usage = resp.Usage
	out, err := converse.ResponseFromMessages(resp.Body, paths)
	if err != nil {
		return c.fail(err)
	}
	out = bytes.Replace(out, []byte(`"latencyMs":0`), []byte(`"latencyMs":`+strconv.FormatInt(time.Since(c.start).Milliseconds(), 10)), 1)
	c.writeJSON(out)
	return nil
}

// converseStream writes the upstream's events as ConverseStream events,
// each an event-stream message whose :event-type is the event's name.
// paths are the request's additionalModelResponseFieldPaths.
func (h *Handler) converseStream(c *call, req *claudebridge.Request, paths []string) error {
	st, err := h.opts.Upstream.Stream(c.ctx, req)
	if err != nil {
		return c.fail(err)
	}
	defer st.Close()
	h.opts.Metrics.StreamOpened(metrics.BedrockConverse)
	defer h.opts.Metrics.StreamClosed(metrics.BedrockConverse)
	c.w.Header().Set("Content-Type", bedrockwire.EventStreamContentType)
	c.w.WriteHeader(http.StatusOK)
	fw := bedrockwire.NewEventWriter(c.w)
	translator := converse.StreamFromMessages{FieldPaths: paths}
	for {
		ev, err := st.Next()
		if err == io.EOF {
			return nil
		}
		var out []converse.ConverseEvent
		if err == nil {
			c.tally.Event(ev.Type, ev.Data)
			if ev.Type == "message_stop" {
				translator.LatencyMs = time.Since(c.start).Milliseconds()
			}
			out, err = translator.Event(ev)
		}
		if err != nil {
			err = c.why(err)
			e := AWSError(err)
			fw.Exception(streamExceptionType(e, true), e.Message)
			return err
		}
		for _, ce := range out {
			if err := fw.Event(ce.Type, ce.Payload); err != nil {
				return claudebridge.Errorf(claudebridge.ECANCELED, "client went away")
			}
		}
	}
}
