package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
)

// errShuttingDown ends the calls still running when the shutdown grace
// period is over: the gateway tells it as overloaded_error, an error event
// on a stream that has begun.
var errShuttingDown = claudebridge.Errorf(claudebridge.EOVERLOADED, "server shutting down")

// writeEndings is how long the calls ended at the close of the grace period
// have to write their error and return before their connections are cut.
const writeEndings = 5 * time.Second

// shutdown is what a server does once its context ends.
type shutdown struct {
	// Grace is how long calls in flight may take to finish.
	Grace time.Duration
	// InFlight says what is running, in words ("2 API streams, 1 chat
	// answer"), "" when nothing is; nil: nothing is counted.
	InFlight func() string
	// Drain waits for work that is not an HTTP call (chat answers) until
	// ctx ends, then ends what is left and returns once that is stored.
	// Nil: none.
	Drain func(ctx context.Context) error
}

// serveUntilDone serves srv on ln until ctx ends (the first Ctrl-C or
// SIGTERM), then shuts down: no new connection is taken, calls in flight
// and sd.Drain's work get sd.Grace to finish, and whatever still runs then
// is ended with errShuttingDown, through the requests' contexts. It
// returns nil once all that is over: a shutdown is not a failure.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger, sd shutdown) error {
	base, endCalls := context.WithCancelCause(context.Background())
	defer endCalls(nil)
	srv.BaseContext = func(net.Listener) context.Context { return base }
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	inFlight := func() string {
		if sd.InFlight == nil {
			return ""
		}
		return sd.InFlight()
	}
	if what := inFlight(); what != "" {
		log.Info(fmt.Sprintf("shutting down: no new connections; waiting up to %s for %s (interrupt again to exit at once)", sd.Grace, what))
	} else {
		log.Info("shutting down: no new connections, nothing in flight")
	}

	grace, cancel := context.WithTimeout(context.Background(), sd.Grace)
	defer cancel()
	// Shutdown closes the listener at once and returns once every
	// connection is idle: its deadline leaves the calls ended at the close
	// of the grace period the time to say so.
	hard, cancelHard := context.WithTimeout(context.Background(), sd.Grace+writeEndings)
	defer cancelHard()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(hard) }()
	drained := make(chan error, 1)
	go func() {
		if sd.Drain == nil {
			drained <- nil
			return
		}
		drained <- sd.Drain(grace)
	}()

	var shutErr, drainErr error
	graceOver := grace.Done()
	pending := 2
	for pending > 0 {
		select {
		case shutErr = <-shut:
			shut = nil
			pending--
		case drainErr = <-drained:
			drained = nil
			pending--
		case <-graceOver:
			if what := inFlight(); what != "" {
				log.Warn(fmt.Sprintf("shutdown grace of %s over: ending %s", sd.Grace, what))
			}
			endCalls(errShuttingDown)
			graceOver = nil // spent
		}
	}
	if errors.Is(shutErr, context.DeadlineExceeded) {
		log.Warn("connections still open after the grace period: closed")
		srv.Close()
	}
	if drainErr != nil {
		log.Warn("shutdown: chat answers not stored", "err", drainErr)
	}
	return nil
}

// count is "n thing" with thing in the plural when n is not 1, or "" for 0.
func count(n int, thing, things string) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "1 " + thing
	}
	return fmt.Sprintf("%d %s", n, things)
}

// joinCounts joins the non-empty counts with commas.
func joinCounts(counts ...string) string {
	var out []string
	for _, c := range counts {
		if c != "" {
			out = append(out, c)
		}
	}
	return strings.Join(out, ", ")
}
