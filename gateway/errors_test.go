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
	streaming(s).ServeHTTP(w, streamRequest())
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

// streamRequest is a streaming Messages call with the headers every
// official SDK sends.
func streamRequest() *http.Request {
	r := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(streamBody))
	r.Header.Set("content-type", "application/json")
	r.Header.Set("anthropic-version", "2023-06-01")
	return r
}

// Headers the Anthropic API refuses get its answers: 400
// invalid_request_error with its words, before the body is read.
func TestRequestsWithoutAVersionOrWithANonJSONBodyAreRefused(t *testing.T) {
	const body = `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name    string
		header  map[string]string
		message string
	}{
		{"no version", map[string]string{"anthropic-version": ""}, "anthropic-version: header is required"},
		{"not a version", map[string]string{"anthropic-version": "2023-06-01, 2023-06-01"}, `anthropic-version: "2023-06-01, 2023-06-01" is not a valid version`},
		{"form body", map[string]string{"content-type": "application/x-www-form-urlencoded"}, `content-type: "application/x-www-form-urlencoded" is not supported: the request body must be JSON (application/json)`},
		{"text body", map[string]string{"content-type": "text/plain"}, `content-type: "text/plain" is not supported: the request body must be JSON (application/json)`},
	} {
		for _, path := range []string{"/v1/messages", "/v1/messages/count_tokens"} {
			g := &gateway.Gateway{Upstream: &mock.Upstream{}, Logger: slog.New(slog.DiscardHandler)}
			r := httptest.NewRequest("POST", path, strings.NewReader(body))
			r.Header.Set("content-type", "application/json")
			r.Header.Set("anthropic-version", "2023-06-01")
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if got, want := w.Code, http.StatusBadRequest; got != want {
				t.Errorf("%s %s: status %d, want %d", tc.name, path, got, want)
			}
			var e struct {
				Error struct{ Type, Message string }
			}
			json.Unmarshal(w.Body.Bytes(), &e)
			if got, want := e.Error.Type, "invalid_request_error"; got != want {
				t.Errorf("%s %s: type %q, want %q", tc.name, path, got, want)
			}
			if got, want := e.Error.Message, tc.message; got != want {
				t.Errorf("%s %s: message %q, want %q", tc.name, path, got, want)
			}
		}
	}
}

// What the official SDKs and Claude Code send is taken: JSON with a
// charset, a version of any date (a new SDK's too), and no content-type
// at all (curl's users).
func TestWhatClientsSendIsTaken(t *testing.T) {
	for _, header := range []map[string]string{
		{"content-type": "application/json"},
		{"content-type": "application/json; charset=utf-8"},
		{"content-type": ""},
		{"anthropic-version": "2026-10-21"},
	} {
		g := &gateway.Gateway{Upstream: &mock.Upstream{MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
			return &claudebridge.Response{Body: []byte(`{"type":"message"}`)}, nil
		}}, Logger: slog.New(slog.DiscardHandler)}
		r := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
		r.Header.Set("content-type", "application/json")
		r.Header.Set("anthropic-version", "2023-06-01")
		for k, v := range header {
			r.Header.Set(k, v)
			if v == "" {
				r.Header.Del(k)
			}
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if got, want := w.Code, http.StatusOK; got != want {
			t.Errorf("%v: status %d, want %d: %s", header, got, want, w.Body)
		}
	}
}

// A client without a key hears of that first, as from the API.
func TestTheKeyIsCheckedBeforeTheVersion(t *testing.T) {
	g := &gateway.Gateway{Upstream: &mock.Upstream{}, Keys: claudebridge.NewClientKeys("k"), Logger: slog.New(slog.DiscardHandler)}
	r := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(`{}`))
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if got, want := w.Code, http.StatusUnauthorized; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
}
