package batch

import (
	"context"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
)

// DefaultConcurrency is the number of calls a Runner makes at once when
// told none.
const DefaultConcurrency = 8

// Runner sends records to an upstream, a bounded number at once.
type Runner struct {
	// Upstream serves the calls: for the command, the gateway's own (the
	// configured upstream behind the sampling rule and the retries).
	Upstream claudebridge.Upstream
	// Concurrency is the most calls in flight at once; DefaultConcurrency
	// when 0 or less.
	Concurrency int
	// CallTimeout bounds each call; none when 0.
	CallTimeout time.Duration
}

// Run makes the non-streaming call of each record, at most Concurrency at
// once, and hands each Result to done as it comes, one at a time, in the
// order the calls end. A failed call, or a refused record (which makes no
// call), is a Result with Err: it never ends the run.
//
// Once stop ends, no more records are started; the calls already running
// finish (their context is not stop's) and are handed to done, and Run
// returns stop's error if records were left unstarted. Once done returns
// an error (the results could not be written), no more records are
// started either, and Run returns that error when the running calls have
// ended. Records not started have no Result: a later run picks them up.
func (r *Runner) Run(stop context.Context, records []*Record, done func(Result) error) error {
	n := r.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	calls := context.WithoutCancel(stop)
	var (
		mu      sync.Mutex
		doneErr error
	)
	failed := make(chan struct{})
	finish := func(res Result) {
		mu.Lock()
		defer mu.Unlock()
		if doneErr != nil {
			return
		}
		if doneErr = done(res); doneErr != nil {
			close(failed)
		}
	}
	slots := make(chan struct{}, n)
	var running sync.WaitGroup
	started := 0
	for _, rec := range records {
		select { // a free slot, unless the run is to end
		case slots <- struct{}{}:
		case <-stop.Done():
		case <-failed:
		}
		if stop.Err() != nil || isClosed(failed) {
			break
		}
		started++
		running.Go(func() {
			defer func() { <-slots }()
			finish(r.call(calls, rec))
		})
	}
	running.Wait()
	mu.Lock()
	defer mu.Unlock()
	if doneErr != nil {
		return doneErr
	}
	if started < len(records) {
		return stop.Err()
	}
	return nil
}

// call makes rec's call. The answer is made one line of JSON here, so that
// every format can embed it as it is.
func (r *Runner) call(ctx context.Context, rec *Record) Result {
	if rec.Refused != nil {
		return Result{Record: rec, Err: rec.Refused}
	}
	if r.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.CallTimeout)
		defer cancel()
	}
	resp, err := r.Upstream.Messages(ctx, rec.Request)
	if err != nil {
		return Result{Record: rec, Err: err}
	}
	body, err := compact(resp.Body)
	if err != nil {
		return Result{Record: rec, Err: err}
	}
	return Result{Record: rec, Response: &claudebridge.Response{Body: body, Usage: resp.Usage}}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
