package anthropicapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

func TestResponseErrorMapsTheAPIErrorTypes(t *testing.T) {
	tests := []struct {
		status int
		body   string
		code   string
		msg    string
	}{
		{400, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`, claudebridge.EINVALID, "max_tokens: Field required"},
		{401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`, claudebridge.EUPSTREAMAUTH, "The Anthropic API refused claudebridge's API key: invalid x-api-key"},
		{402, `{"type":"error","error":{"type":"billing_error","message":"credit balance too low"}}`, claudebridge.EBILLING, "credit balance too low"},
		{403, `{"type":"error","error":{"type":"permission_error","message":"no"}}`, claudebridge.EPERMISSION, "no"},
		{404, `{"type":"error","error":{"type":"not_found_error","message":"model: x"}}`, claudebridge.ENOTFOUND, "model: x"},
		{413, `{"type":"error","error":{"type":"request_too_large","message":"big"}}`, claudebridge.ETOOLARGE, "big"},
		{429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"},"request_id":"req_1"}`, claudebridge.ERATELIMIT, "slow down"},
		{529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, claudebridge.EOVERLOADED, "Overloaded"},
		{504, `{"type":"error","error":{"type":"timeout_error","message":"late"}}`, claudebridge.ETIMEOUT, "late"},
		{500, `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`, claudebridge.EINTERNAL, "Internal server error"},
		{500, `{"type":"error","error":{"type":"brand_new_error","message":"new"}}`, claudebridge.EINTERNAL, "new"},
		// No error JSON (a proxy in front of the API): the status decides.
		{502, `<html>bad gateway</html>`, claudebridge.EINTERNAL, "The Anthropic API answered 502 Bad Gateway"},
		{503, ``, claudebridge.EOVERLOADED, "The Anthropic API answered 503 Service Unavailable"},
		{429, `{}`, claudebridge.ERATELIMIT, "The Anthropic API answered 429 Too Many Requests"},
		{418, `nope`, claudebridge.EINVALID, "The Anthropic API answered 418 I'm a teapot"},
	}
	for _, tt := range tests {
		resp := &http.Response{StatusCode: tt.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tt.body))}
		e := responseError(resp)
		if e.Code != tt.code || e.Message != tt.msg || e.Status != tt.status {
			t.Errorf("%d %s: got %+v, want code %s message %q", tt.status, tt.body, e, tt.code, tt.msg)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{http.Header{"Retry-After": {"soon"}}, 0},
		{http.Header{"Retry-After": {"-3"}}, 0},
		{http.Header{"Retry-After-Ms": {"1500"}, "Retry-After": {"2"}}, 1500 * time.Millisecond},
		{http.Header{}, 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.h, now); got != tt.want {
			t.Errorf("%v: got %v, want %v", tt.h, got, tt.want)
		}
	}
}

func TestTransportError(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	tests := []struct {
		ctx  context.Context
		err  error
		code string
	}{
		{canceled, context.Canceled, claudebridge.ECANCELED},
		{expired, context.DeadlineExceeded, claudebridge.ETIMEOUT},
		{context.Background(), errors.New("read: connection reset by peer"), claudebridge.EINTERNAL},
	}
	for _, tt := range tests {
		e := transportError(tt.ctx, tt.err)
		if e.Code != tt.code {
			t.Errorf("%v: got %s, want %s", tt.err, e.Code, tt.code)
		}
		if strings.Contains(e.Message, tt.err.Error()) {
			t.Errorf("message %q carries the cause", e.Message)
		}
	}
	if !claudebridge.Retryable(transportError(context.Background(), errors.New("dial tcp: connection refused"))) {
		t.Error("a refused connection should be retryable")
	}
}

func TestKeyFromSecret(t *testing.T) {
	const key = "sk-ant-api03-secretvalue"
	tests := []struct {
		secret string
		want   string
		ok     bool
	}{
		{`{"api_key":"` + key + `"}`, key, true},
		{` {"api_key": " ` + key + `\n", "other": 1}`, key, true},
		{`{"ANTHROPIC_API_KEY":"` + key + `"}`, key, true},
		{key + "\n", key, true},
		{`{"key":"` + key + `"}`, "", false},
		{`{"api_key":` + key + `}`, "", false},
		{`{"api_key":""}`, "", false},
		{"  ", "", false},
	}
	for _, tt := range tests {
		got, err := keyFromSecret(tt.secret)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%q: got %q, %v", tt.secret, got, err)
		}
		if err != nil && strings.Contains(err.Error(), "secretvalue") {
			t.Errorf("error %q quotes the secret", err)
		}
	}
}
