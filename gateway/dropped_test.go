package gateway_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/mock"
)

// Every answer whose request lost fields or betas names them in the
// claudebridge-dropped header and in the log line: messages, streams and
// counts alike.
func TestDropsAreNamedInAHeaderAndTheLog(t *testing.T) {
	for _, tc := range []struct{ path, body string }{
		{"/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/messages", streamBody},
		{"/v1/messages/count_tokens", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`},
	} {
		var log bytes.Buffer
		g := &gateway.Gateway{Upstream: mock.Dropping([]byte(`{"type":"message"}`), events), Logger: slog.New(slog.NewTextHandler(&log, nil))}
		r := httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body))
		r.Header.Set("content-type", "application/json")
		r.Header.Set("anthropic-version", "2023-06-01")
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		const want = "fields=tools.0.strict; betas=made-up-2099-01-01"
		if got := w.Header().Get(claudebridge.DroppedHeader); got != want {
			t.Errorf("%s %.40s: header %q, want %q", tc.path, tc.body, got, want)
		}
		if !strings.Contains(log.String(), want) {
			t.Errorf("%s %.40s: the log does not name the drops: %s", tc.path, tc.body, log.String())
		}
	}
}

// An answer whose request lost nothing has no such header.
func TestNoDropsNoHeader(t *testing.T) {
	g := &gateway.Gateway{Upstream: &mock.Upstream{MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
		return &claudebridge.Response{Body: []byte(`{"type":"message"}`)}, nil
	}}, Logger: slog.New(slog.DiscardHandler)}
	r := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
	r.Header.Set("anthropic-version", "2023-06-01")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if got, want := len(w.Header().Values(claudebridge.DroppedHeader)), 0; got != want {
		t.Errorf("%d %s headers, want %d", got, claudebridge.DroppedHeader, want)
	}
}
