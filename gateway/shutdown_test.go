package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/mock"
)

// shuttingDown is the cause with which serve ends the calls still running
// when its shutdown grace period is over.
var shuttingDown = claudebridge.Errorf(claudebridge.EOVERLOADED, "server shutting down")

func TestAStreamEndedByTheServerGetsTheCauseAsAnErrorEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{}, 1)
		gate <- struct{}{} // message_start, then the model thinks
		s := &mock.Stream{Events: events, Gate: gate}
		g := streaming(s)
		ctx, end := context.WithCancelCause(context.Background())
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			g.ServeHTTP(w, streamRequest().WithContext(ctx))
		}()
		synctest.Wait()
		streams, _ := g.InFlight()
		if got, want := streams, 1; got != want {
			t.Errorf("streams in flight %d, want %d", got, want)
		}
		end(shuttingDown)
		<-done
		if got, want := strings.Join(eventNames(w.Body.String()), ","), "message_start,error"; got != want {
			t.Errorf("events %s, want %s", got, want)
		}
		if got, want := strings.Contains(w.Body.String(), `{"type":"overloaded_error","message":"server shutting down"}`), true; got != want {
			t.Errorf("the error event is not overloaded_error, server shutting down:\n%s", w.Body.String())
		}
		streams, _ = g.InFlight()
		if got, want := streams, 0; got != want {
			t.Errorf("streams in flight after the end %d, want %d", got, want)
		}
	})
}

func TestACallEndedByTheServerGetsTheCauseAsItsResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateway.Gateway{Upstream: &mock.Upstream{MessagesFn: func(ctx context.Context, _ *claudebridge.Request) (*claudebridge.Response, error) {
			<-ctx.Done()
			return nil, claudebridge.Errorf(claudebridge.ECANCELED, "call cancelled")
		}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		ctx, end := context.WithCancelCause(context.Background())
		w := httptest.NewRecorder()
		done := make(chan struct{})
		body := strings.Replace(streamBody, `"stream":true`, `"stream":false`, 1)
		go func() {
			defer close(done)
			r := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(body))
			r.Header.Set("anthropic-version", "2023-06-01")
			g.ServeHTTP(w, r.WithContext(ctx))
		}()
		synctest.Wait()
		_, others := g.InFlight()
		if got, want := others, 1; got != want {
			t.Errorf("calls in flight %d, want %d", got, want)
		}
		end(shuttingDown)
		<-done
		if got, want := w.Code, 529; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
		if got, want := strings.Contains(w.Body.String(), `{"type":"overloaded_error","message":"server shutting down"}`), true; got != want {
			t.Errorf("body %s, want overloaded_error, server shutting down", w.Body.String())
		}
	})
}
