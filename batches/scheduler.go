package batches

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/batch"
	"github.com/claudebridge/claudebridge/metrics"
)

const (
	// retryDelay is how long the scheduler waits after its store failed.
	retryDelay = 5 * time.Second
	// lease is how long a claim on a batch lasts: another serve on the
	// same store takes over a batch whose claim lapsed (its serve died).
	// Renewed every checkEvery, it lapses only when its serve is gone or
	// stuck for many renewals; as the limits' leases (limits.Lease), 15 s.
	lease = 15 * time.Second
	// checkEvery is how often a running chunk renews its claim and looks
	// for a cancel made through another serve.
	checkEvery = 2 * time.Second
)

// Scheduler runs the batches of a store in the background with the batch
// command's runner: the batches in progress take turns, a chunk of
// requests each, and at most Concurrency calls run at once in all. Each
// result is stored as its call ends, so that a restart runs only the
// requests without one. Serves that share a store each run the batches
// they claim (BatchService.ClaimBatch); a claim lapses 15 s after its
// serve stops renewing it, so that a batch a crash left behind waits that
// long (a clean stop gives it up at once).
type Scheduler struct {
	// Store holds the batches. Required.
	Store claudebridge.BatchService
	// Upstream serves the calls: serve's own, behind the sampling rule and
	// the retries. Required.
	Upstream claudebridge.Upstream
	// Concurrency is the most calls at once; batch.DefaultConcurrency
	// when 0 or less.
	Concurrency int
	// CallTimeout bounds each call; none when 0.
	CallTimeout time.Duration
	// Logger says when a batch ends and, at debug level, each result.
	// Nil: slog.Default().
	Logger *slog.Logger
	// KeepResults is how long after its creation a batch that has ended
	// keeps its results; then they are removed and the batch is archived.
	// Zero: 29 days, as the Message Batches API keeps them.
	KeepResults time.Duration
	// Now is the clock, for tests. Nil: time.Now.
	Now func() time.Time
	// Metrics records each call, as the door "batch", by the key that made
	// its batch. Nil: none.
	Metrics *metrics.Metrics
	// Keyed reports whether serve's doors ask for keys: the calls of
	// batches made without a virtual key are then recorded as of a static
	// key, else of none. Nil: never.
	Keyed func() bool

	init      sync.Once
	owner     string // this scheduler's name in its claims
	wake      chan struct{}
	stopping  context.Context // ends at Stop: no request is started any more
	stop      context.CancelFunc
	kill      context.Context // ends when Stop's grace is over: calls are cut
	killCalls context.CancelFunc
	done      chan struct{}
	inFlight  atomic.Int64
	archived  time.Time // when archive last ran

	mu        sync.Mutex
	started   bool
	running   string             // the batch whose chunk runs now
	endChunk  context.CancelFunc // stops starting that chunk's requests
	cancelled map[string]bool    // canceled since the scheduler read them
}

func (s *Scheduler) setup() {
	s.init.Do(func() {
		id := make([]byte, 8)
		rand.Read(id)
		s.owner = "sched_" + hex.EncodeToString(id)
		s.wake = make(chan struct{}, 1)
		s.stopping, s.stop = context.WithCancel(context.Background())
		s.kill, s.killCalls = context.WithCancel(context.Background())
		s.done = make(chan struct{})
		s.cancelled = map[string]bool{}
	})
}

// Start runs the scheduler until Stop, beginning with the batches a
// previous run left in progress.
func (s *Scheduler) Start() {
	s.setup()
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	go s.loop()
}

// Wake tells the scheduler that a batch was made.
func (s *Scheduler) Wake() {
	s.setup()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Cancel tells the scheduler that batch id was canceled in the store: no
// more of its requests are started; those running finish and keep their
// results, the others become canceled.
func (s *Scheduler) Cancel(id string) {
	s.setup()
	s.mu.Lock()
	s.cancelled[id] = true
	if s.running == id {
		s.endChunk()
	}
	s.mu.Unlock()
	s.Wake()
}

// InFlight is the number of calls running now.
func (s *Scheduler) InFlight() int { return int(s.inFlight.Load()) }

// Stop starts no more requests and waits for the calls running until grace
// ends; then it cuts them, and their requests are left without a result,
// to run again at the next Start. It returns once the scheduler is idle
// (at once if it never started). A stopped scheduler does not start again.
func (s *Scheduler) Stop(grace context.Context) {
	s.setup()
	s.stop()
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return
	}
	select {
	case <-s.done:
		return
	case <-grace.Done():
	}
	s.killCalls()
	<-s.done
}

func (s *Scheduler) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Scheduler) concurrency() int {
	if s.Concurrency > 0 {
		return s.Concurrency
	}
	return batch.DefaultConcurrency
}

func (s *Scheduler) loop() {
	defer close(s.done)
	for s.stopping.Err() == nil {
		s.archive()
		worked, err := s.pass()
		wait := time.After(lease) // for batches whose claims lapse
		switch {
		case err != nil:
			s.logger().Error("message batches: the store failed; trying again", "err", err, "in", retryDelay)
			wait = time.After(retryDelay)
		case worked:
			continue
		}
		select {
		case <-s.stopping.Done():
		case <-s.wake:
		case <-wait:
		}
	}
}

// archive archives the batches whose results are past KeepResults, once
// an hour at most.
func (s *Scheduler) archive() {
	now := s.now()
	if now.Sub(s.archived) < time.Hour {
		return
	}
	s.archived = now
	keep := s.KeepResults
	if keep <= 0 {
		keep = 29 * 24 * time.Hour
	}
	n, err := s.Store.ArchiveBatches(context.Background(), now.Add(-keep), now)
	switch {
	case err != nil:
		s.logger().Error("message batches: archiving", "err", err)
	case n > 0:
		s.logger().Info("message batches archived: their results are removed", "count", n, "after", keep)
	}
}

// pass gives every active batch one turn; worked says some took it.
func (s *Scheduler) pass() (worked bool, err error) {
	active, err := s.Store.ActiveBatches(context.Background())
	if err != nil {
		return false, err
	}
	for i := range active {
		if s.stopping.Err() != nil {
			return true, nil
		}
		took, err := s.turn(&active[i])
		if err != nil {
			return true, err
		}
		worked = worked || took
	}
	return worked, nil
}

// turn runs one chunk of b's requests, or ends b when it is canceled,
// expired or done; took is false when another serve holds b.
func (s *Scheduler) turn(b *claudebridge.Batch) (took bool, err error) {
	store := context.Background() // results are stored during a shutdown too
	now := s.now()
	if took, err = s.Store.ClaimBatch(store, b.ID, s.owner, now, now.Add(lease)); !took || err != nil {
		return took, err
	}
	defer func() {
		if s.stopping.Err() != nil { // give it up for the next serve
			t := s.now()
			s.Store.ClaimBatch(store, b.ID, s.owner, t, t)
		}
	}()
	return true, s.chunk(b)
}

// chunk runs one chunk of b's requests, or ends b.
func (s *Scheduler) chunk(b *claudebridge.Batch) error {
	store := context.Background()
	s.mu.Lock()
	cancelled := s.cancelled[b.ID]
	s.mu.Unlock()
	if cancelled || b.Status == claudebridge.BatchCanceling {
		return s.end(b, claudebridge.ResultCanceled)
	}
	if !s.now().Before(b.ExpiresAt) {
		return s.end(b, claudebridge.ResultExpired)
	}
	pending, err := s.Store.PendingRequests(store, b.ID, 16*s.concurrency())
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		return s.end(b, claudebridge.ResultCanceled) // none is left to be canceled
	}
	records := make([]*batch.Record, len(pending))
	for i, p := range pending {
		rec := batch.AnthropicRecord(p.CustomID, p.Params)
		for _, flag := range b.Betas {
			if rec.Request != nil && !slices.Contains(rec.Request.Betas, flag) {
				rec.Request.Betas = append(rec.Request.Betas, flag)
			}
		}
		records[i] = rec
	}

	chunk, endChunk := context.WithCancel(s.stopping)
	defer endChunk()
	s.mu.Lock()
	if s.cancelled[b.ID] {
		endChunk()
	}
	s.running, s.endChunk = b.ID, endChunk
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running, s.endChunk = "", nil
		s.mu.Unlock()
	}()

	go s.watch(chunk, endChunk, b.ID)
	up := s.Upstream
	if s.Metrics != nil {
		keyed := s.Keyed != nil && s.Keyed()
		up = &metrics.Upstream{Next: up, Metrics: s.Metrics, Door: metrics.Batch, Key: metrics.KeyLabel(b.KeyName, keyed)}
	}
	runner := &batch.Runner{Upstream: &cuttable{Upstream: up, cut: s.kill, inFlight: &s.inFlight},
		Concurrency: s.concurrency(), CallTimeout: s.CallTimeout}
	log := s.logger()
	// The calls are the key's: the ledger records them by its name and
	// its limits and budget hold them (limits.Paced, in serve).
	calls := claudebridge.WithCaller(chunk, claudebridge.Caller{Key: b.KeyName})
	err = runner.Run(calls, records, func(res batch.Result) error {
		if res.Err != nil && s.kill.Err() != nil {
			return nil // cut by the shutdown: it runs again after a restart
		}
		r := claudebridge.BatchResult{CustomID: res.Record.ID, Type: claudebridge.ResultSucceeded, Line: batch.Anthropic{}.Line(res)}
		if res.Err != nil {
			r.Type = claudebridge.ResultErrored
		}
		if err := s.Store.AddBatchResult(store, b.ID, r); err != nil {
			return err
		}
		log.Debug("message batch result", "batch", b.ID, "custom_id", r.CustomID, "type", r.Type)
		return nil
	})
	if errors.Is(err, context.Canceled) {
		return nil // stopped or canceled: the next pass says which
	}
	return err
}

// watch renews the claim on batch id while chunk runs, and ends chunk
// when the claim is lost or the batch was canceled through another serve.
func (s *Scheduler) watch(chunk context.Context, endChunk context.CancelFunc, id string) {
	tick := time.NewTicker(checkEvery)
	defer tick.Stop()
	for {
		select {
		case <-chunk.Done():
			return
		case <-tick.C:
		}
		now := s.now()
		held, err := s.Store.ClaimBatch(context.Background(), id, s.owner, now, now.Add(lease))
		if err == nil && !held {
			endChunk()
			return
		}
		if b, err := s.Store.Batch(context.Background(), id); err == nil && b.Status != claudebridge.BatchInProgress {
			endChunk()
			return
		}
	}
}

// end gives the requests of b left without a result a result of type rest
// and ends b.
func (s *Scheduler) end(b *claudebridge.Batch, rest string) error {
	if err := s.Store.EndBatch(context.Background(), b.ID, rest, s.now()); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.cancelled, b.ID)
	s.mu.Unlock()
	ended, err := s.Store.Batch(context.Background(), b.ID)
	if err != nil {
		return err
	}
	c := ended.Counts
	s.logger().Info("message batch ended", "batch", b.ID, "succeeded", c.Succeeded, "errored", c.Errored,
		"canceled", c.Canceled, "expired", c.Expired)
	return nil
}

// cuttable is an upstream whose calls end when cut does, and which counts
// the calls in flight.
type cuttable struct {
	claudebridge.Upstream
	cut      context.Context
	inFlight *atomic.Int64
}

func (c *cuttable) Messages(ctx context.Context, req *claudebridge.Request) (*claudebridge.Response, error) {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.cut, cancel)()
	return c.Upstream.Messages(ctx, req)
}
