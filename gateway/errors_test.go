package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/mock"
)

// endless is a request body that never ends, counting what was read of it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	e.n += int64(len(p))
	return len(p), nil
}

// A body over MaxBodyBytes is 413 request_too_large, refused while it is
// read: a body that never ends is not read to its end.
func TestABodyOverTheLimitIsRefusedWhileItIsRead(t *testing.T) {
	g := &gateway.Gateway{Upstream: &mock.Upstream{}, MaxBodyBytes: 1000, Logger: slog.New(slog.DiscardHandler)}
	body := &endless{}
	r := httptest.NewRequest("POST", "/v1/messages", io.MultiReader(strings.NewReader(`{"model":"x","messages":"`), body))
	r.ContentLength = -1
	r.Header.Set("content-type", "application/json")
	r.Header.Set("anthropic-version", "2023-06-01")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if got, want := w.Code, http.StatusRequestEntityTooLarge; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := errorType(t, w.Body.Bytes()), "request_too_large"; got != want {
		t.Errorf("error type %q, want %q", got, want)
	}
	if body.n > 64<<10 {
		t.Errorf("read %d bytes of a body refused at 1000", body.n)
	}
}

// A declared Content-Length over the limit is refused before any of the
// body is read.
func TestADeclaredLengthOverTheLimitIsRefusedUnread(t *testing.T) {
	g := &gateway.Gateway{Upstream: &mock.Upstream{}, MaxBodyBytes: 1000, Logger: slog.New(slog.DiscardHandler)}
	body := &endless{}
	r := httptest.NewRequest("POST", "/v1/messages", body)
	r.ContentLength = 1001
	r.Header.Set("anthropic-version", "2023-06-01")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if got, want := w.Code, http.StatusRequestEntityTooLarge; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := body.n, int64(0); got != want {
		t.Errorf("read %d bytes, want %d", got, want)
	}
}

// A timeout after the stream has begun (Bedrock's ModelTimeoutException as
// a stream exception) is an SSE error event of type timeout_error.
func TestATimeoutMidStreamIsATimeoutErrorEvent(t *testing.T) {
	s := &mock.Stream{Events: events[:1], Err: claudebridge.Errorf(claudebridge.ETIMEOUT, "Model has timed out in processing the request.")}
	w := httptest.NewRecorder()
	streaming(s).ServeHTTP(w, httptest.NewRequest("POST", "/v1/messages", strings.NewReader(streamBody)))
	if got, want := strings.Join(eventNames(w.Body.String()), " "), "message_start error"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	data := w.Body.String()[strings.LastIndex(w.Body.String(), "data: ")+len("data: "):]
	if got, want := errorType(t, []byte(strings.TrimSpace(data))), "timeout_error"; got != want {
		t.Errorf("error event type %q, want %q", got, want)
	}
}

// Upstream text that names the account, a role or a host reaches the client
// cleaned; the log keeps it whole, for the operator.
func TestUpstreamErrorsAreCleanedForTheClientAndKeptInTheLog(t *testing.T) {
	const upstream = "User: arn:aws:sts::123456789012:assumed-role/Bridge/i-1 is not authorized to perform: bedrock:InvokeModel"
	var log bytes.Buffer
	g := &gateway.Gateway{
		Upstream: &mock.Upstream{MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
			return nil, claudebridge.Errorf(claudebridge.EPERMISSION, "%s", upstream)
		}},
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
	}
	r := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
	r.Header.Set("content-type", "application/json")
	r.Header.Set("anthropic-version", "2023-06-01")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if strings.Contains(w.Body.String(), "123456789012") || strings.Contains(w.Body.String(), "Bridge") {
		t.Errorf("the client sees the account or the role: %s", w.Body)
	}
	if !strings.Contains(log.String(), "123456789012") {
		t.Errorf("the log lost the original text: %s", log.String())
	}
}

func errorType(t *testing.T, body []byte) string {
	t.Helper()
	var e struct{ Error struct{ Type string } }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not an error body: %s", body)
	}
	return e.Error.Type
}
