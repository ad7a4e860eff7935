package bedrockfront

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/metrics"
)

// invoke serves InvokeModel and InvokeModelWithResponseStream: the body is
// checked as Bedrock checks it, sent to the upstream as a Messages call,
// and the Messages answer returned as it came, JSON or one event-stream
// chunk per Messages event.
func (h *Handler) invoke(c *call, stream bool) error {
	fields, err := invokeFields(c.body)
	if err != nil {
		return c.fail(err)
	}
	req, err := h.messagesRequest(c.model, fields, c.r.Header, stream, false)
	if err != nil {
		return c.fail(err)
	}
	if stream {
		return h.invokeStream(c, req)
	}
	resp, err := h.opts.Upstream.Messages(c.ctx, req)
	if err != nil {
		return c.fail(err)
	}
	c.tally.Usage = resp.Usage
	hdr := c.w.Header()
	setTokenHeaders(hdr, resp.Usage)
	hdr.Set("X-Amzn-Bedrock-Invocation-Latency", strconv.FormatInt(time.Since(c.start).Milliseconds(), 10))
	c.writeJSON(resp.Body)
	return nil
}

// setTokenHeaders sets the X-Amzn-Bedrock-*-Token-Count headers of an
// InvokeModel response.
func setTokenHeaders(h http.Header, u claudebridge.Usage) {
	h.Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(u.InputTokens))
	h.Set("X-Amzn-Bedrock-Output-Token-Count", strconv.Itoa(u.OutputTokens))
	if u.CacheReadInputTokens > 0 || u.CacheCreationInputTokens > 0 {
		h.Set("X-Amzn-Bedrock-Cache-Read-Input-Token-Count", strconv.Itoa(u.CacheReadInputTokens))
		h.Set("X-Amzn-Bedrock-Cache-Write-Input-Token-Count", strconv.Itoa(u.CacheCreationInputTokens))
	}
}

// invokeStream copies the upstream's Messages events to the client, each as
// a chunk whose bytes are the event's JSON, with
// "amazon-bedrock-invocationMetrics" added to message_stop as Bedrock does.
// Pings are not sent: Bedrock's streams have none. An error before the
// first event is an error response; after it, an exception frame.
func (h *Handler) invokeStream(c *call, req *claudebridge.Request) error {
	st, err := h.opts.Upstream.Stream(c.ctx, req)
	if err != nil {
		return c.fail(err)
	}
	defer st.Close()
	h.opts.Metrics.StreamOpened(metrics.BedrockInvoke)
	defer h.opts.Metrics.StreamClosed(metrics.BedrockInvoke)
	hdr := c.w.Header()
	hdr.Set("Content-Type", bedrockwire.EventStreamContentType)
	hdr.Set("X-Amzn-Bedrock-Content-Type", "application/json")
	c.w.WriteHeader(http.StatusOK)
	fw := bedrockwire.NewEventWriter(c.w)
	var firstByte time.Duration
	for {
		ev, err := st.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			err = c.why(err)
			e := AWSError(err)
			fw.Exception(streamExceptionType(e, false), e.Message)
			return err
		}
		data := ev.Data
		c.tally.Event(ev.Type, data) // the usage of message_start and message_delta
		switch ev.Type {
		case "ping":
			continue
		case "message_stop":
			data = bedrockwire.WithInvocationMetrics(data, c.tally.Usage, time.Since(c.start), firstByte)
		}
		if err := fw.Chunk(data); err != nil {
			return claudebridge.Errorf(claudebridge.ECANCELED, "client went away")
		}
		if firstByte == 0 {
			firstByte = time.Since(c.start)
		}
	}
}

// isCanceled reports whether err only says the client went away.
func isCanceled(err error) bool {
	var e *claudebridge.Error
	return errors.As(err, &e) && e.Code == claudebridge.ECANCELED
}
