package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/mock"
)

// These tests run the gateway's stream copy on a mock upstream, in
// synctest's fake time: pings, the idle timeout and a client leaving are
// each a matter of minutes or an exact instant, asserted exactly.

const streamBody = `{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`

var events = []claudebridge.Event{
	{Type: "message_start", Data: []byte(`{"type":"message_start"}`)},
	{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)},
}

// streaming is a gateway whose upstream hands out s.
func streaming(s *mock.Stream) *gateway.Gateway {
	return &gateway.Gateway{
		Upstream: &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
			return s, nil
		}},
		PingInterval: 15 * time.Second,
		ReadTimeout:  5 * time.Minute,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// eventNames lists the SSE event names of a response body, in order.
func eventNames(body string) []string {
	var names []string
	for _, line := range strings.Split(body, "\n") {
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			names = append(names, name)
		}
	}
	return names
}

func TestPingsFillTheSilenceBeforeTheFirstEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		s := &mock.Stream{Events: events, Gate: gate}
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			streaming(s).ServeHTTP(w, streamRequest())
		}()
		time.Sleep(40 * time.Second) // two ping intervals and some
		close(gate)
		<-done
		got, want := strings.Join(eventNames(w.Body.String()), ","), "ping,ping,message_start,message_stop"
		if got != want {
			t.Errorf("events %s, want %s", got, want)
		}
	})
}

func TestAnUpstreamSilentForReadTimeoutEndsWithATimeoutError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{}, 1)
		gate <- struct{}{} // message_start, then silence
		s := &mock.Stream{Events: events, Gate: gate}
		w := httptest.NewRecorder()
		start := time.Now()
		streaming(s).ServeHTTP(w, streamRequest())
		if got, want := time.Since(start), 5*time.Minute; got != want {
			t.Errorf("stream ended after %s, want %s", got, want)
		}
		names := eventNames(w.Body.String())
		if got, want := names[len(names)-1], "error"; got != want {
			t.Fatalf("last event %s, want %s", got, want)
		}
		if !strings.Contains(w.Body.String(), `"type":"timeout_error"`) {
			t.Errorf("the error event is not a timeout_error:\n%s", w.Body.String())
		}
		if !s.Closed() {
			t.Error("the upstream stream was left open")
		}
	})
}

func TestAClientLeavingClosesTheUpstreamStreamAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &mock.Stream{Events: events, Gate: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		req := streamRequest().WithContext(ctx)
		done := make(chan time.Time)
		go func() {
			streaming(s).ServeHTTP(httptest.NewRecorder(), req)
			done <- time.Now()
		}()
		time.Sleep(time.Second)
		left := time.Now()
		cancel()
		if ended := <-done; ended != left {
			t.Errorf("the handler returned %s after the client left, want at once", ended.Sub(left))
		}
		if !s.Closed() {
			t.Error("the upstream stream was left open")
		}
	})
}

func TestAnErrorBeforeTheStreamOpensIsAPlainErrorResponse(t *testing.T) {
	g := &gateway.Gateway{Upstream: &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
		return nil, claudebridge.Errorf(claudebridge.EOVERLOADED, "busy")
	}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, streamRequest())
	if got, want := w.Code, 529; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := w.Header().Get("Content-Type"), "application/json"; !strings.HasPrefix(got, want) {
		t.Errorf("content type %q, want %s", got, want)
	}
	if !strings.Contains(w.Body.String(), `"type":"overloaded_error"`) {
		t.Errorf("body %s", w.Body.String())
	}
}

var _ http.Handler = (*gateway.Gateway)(nil)
