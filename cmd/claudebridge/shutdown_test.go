package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge/internal/syncbuf"
)

// serving runs serveUntilDone with h and sd until the returned stop is
// called; done gets what it returned.
func serving(t *testing.T, h http.Handler, sd shutdown, log *slog.Logger) (url string, stop func(), done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	out := make(chan error, 1)
	go func() { out <- serveUntilDone(ctx, newServer(h), ln, log, sd) }()
	return "http://" + ln.Addr().String(), cancel, out
}

func TestShutdownWithNothingInFlightDoesNotWaitForTheGracePeriod(t *testing.T) {
	_, stop, done := serving(t, http.NotFoundHandler(), shutdown{Grace: time.Hour}, slog.New(slog.DiscardHandler))
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveUntilDone: %v, want nil", err)
		}
	case <-time.After(time.Minute): // a bound on a hang, not a wait
		t.Fatal("shutdown waited with nothing in flight")
	}
}

func TestShutdownEndsACallStillRunningAfterTheGracePeriodWithOverloaded(t *testing.T) {
	started := make(chan struct{})
	var running atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		running.Add(1)
		defer running.Add(-1)
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
		io.WriteString(w, context.Cause(r.Context()).Error())
	})
	var logs syncbuf.Buffer
	drainEnded := make(chan error, 1)
	sd := shutdown{
		Grace:    50 * time.Millisecond,
		InFlight: func() string { return count(int(running.Load()), "API stream", "API streams") },
		Drain: func(ctx context.Context) error {
			<-ctx.Done()
			drainEnded <- ctx.Err()
			return nil
		},
	}
	url, stop, done := serving(t, h, sd, slog.New(slog.NewTextHandler(&logs, nil)))
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-started
	stop()
	body, _ := io.ReadAll(resp.Body)
	if got, want := string(body), errShuttingDown.Error(); got != want {
		t.Errorf("the call was ended with %q, want %q", got, want)
	}
	if err := <-done; err != nil {
		t.Errorf("serveUntilDone: %v, want nil", err)
	}
	if got, want := <-drainEnded, context.DeadlineExceeded; !errors.Is(got, want) {
		t.Errorf("Drain's context ended with %v, want %v", got, want)
	}
	if got, want := strings.Contains(logs.String(), "waiting up to 50ms for 1 API stream"), true; got != want {
		t.Errorf("the log does not say what shutdown waits for:\n%s", logs.String())
	}
	if _, err := http.Get(url); err == nil {
		t.Error("a new connection was taken after shutdown")
	}
}

func TestCountsAreSaidInWords(t *testing.T) {
	got := joinCounts(count(2, "API stream", "API streams"), count(0, "other API call", "other API calls"), count(1, "chat answer", "chat answers"))
	want := "2 API streams, 1 chat answer"
	if got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestACallInFlightAtShutdownFinishesWithinTheGracePeriod(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-release:
			io.WriteString(w, "finished")
		case <-r.Context().Done():
			io.WriteString(w, context.Cause(r.Context()).Error())
		}
	})
	began := make(chan struct{})
	sd := shutdown{Grace: time.Hour, InFlight: func() string { close(began); return "1 API call" }}
	url, stop, done := serving(t, h, sd, slog.New(slog.DiscardHandler))
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- string(b)
	}()
	<-started
	stop()
	<-began
	close(release)
	if got, want := <-answer, "finished"; got != want {
		t.Errorf("the call in flight got %q, want %q", got, want)
	}
	if err := <-done; err != nil {
		t.Errorf("serveUntilDone: %v, want nil", err)
	}
}
