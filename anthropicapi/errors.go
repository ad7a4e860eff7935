package anthropicapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// apiError is the Anthropic error JSON, as a response body or the data of an
// SSE error event: {"type":"error","error":{"type":...,"message":...}}.
type apiError struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// responseError turns a non-2xx response into an *Error: the code from the
// API's error type (or, failing that, from the status), the API's message,
// the status and the delay asked for by retry-after. It reads and closes the
// body.
func responseError(resp *http.Response) *claudebridge.Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	e := errorFromJSON(body)
	if e == nil {
		e = &claudebridge.Error{
			Code:    codeOfStatus(resp.StatusCode),
			Message: "The Anthropic API answered " + strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode),
		}
	}
	e.Status = resp.StatusCode
	e.RetryAfter = retryAfter(resp.Header, time.Now())
	if e.Code == claudebridge.EAUTH {
		// The key refused is the gateway's, not the client's.
		e.Code = claudebridge.EUPSTREAMAUTH
		e.Message = "The Anthropic API refused claudebridge's API key: " + e.Message
	}
	return e
}

// errorFromJSON reads the Anthropic error JSON; nil if body is not one.
func errorFromJSON(body []byte) *claudebridge.Error {
	var v apiError
	if json.Unmarshal(body, &v) != nil || v.Error.Type == "" {
		return nil
	}
	msg := v.Error.Message
	if msg == "" {
		msg = v.Error.Type
	}
	return &claudebridge.Error{Code: anthropic.Code(v.Error.Type), Message: msg}
}

// codeOfStatus is the code for a status that came without an error JSON
// (from a proxy in front of the API, say).
func codeOfStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return claudebridge.EINVALID
	case http.StatusUnauthorized:
		return claudebridge.EAUTH
	case http.StatusPaymentRequired:
		return claudebridge.EBILLING
	case http.StatusForbidden:
		return claudebridge.EPERMISSION
	case http.StatusNotFound:
		return claudebridge.ENOTFOUND
	case http.StatusRequestEntityTooLarge:
		return claudebridge.ETOOLARGE
	case http.StatusTooManyRequests:
		return claudebridge.ERATELIMIT
	case 529, http.StatusServiceUnavailable:
		return claudebridge.EOVERLOADED
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return claudebridge.ETIMEOUT
	}
	if status >= 400 && status < 500 {
		return claudebridge.EINVALID
	}
	return claudebridge.EINTERNAL
}

// retryAfter reads the delay the API asked for: retry-after-ms (what the
// Anthropic SDKs read first), else retry-after in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// transportError turns a failure to talk to the API into an *Error: the
// caller's cancellation is ECANCELED, a deadline or a network timeout is
// ETIMEOUT, anything else (refused, reset, cut) EINTERNAL, which may be
// retried. The message does not carry the cause, which names hosts; callers
// log it.
func transportError(ctx context.Context, err error) *claudebridge.Error {
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return claudebridge.Errorf(claudebridge.ECANCELED, "The request was canceled")
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return claudebridge.Errorf(claudebridge.ETIMEOUT, "The Anthropic API did not answer in time")
	}
	return claudebridge.Errorf(claudebridge.EINTERNAL, "The connection to the Anthropic API failed")
}
