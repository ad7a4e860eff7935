// Package ledger writes the ledger of calls off the hot path: each call's
// entry goes into a bounded queue, and one goroutine commits the queue to
// the store in batches, every BatchSize entries or FlushInterval, each
// batch in one transaction.
//
// Nothing is dropped. When the queue is full, Add waits for room
// (backpressure on the call that ends, which has already answered its
// client) and counts the wait (Waits, the metric
// claudebridge_ledger_queue_waits_total): a full queue means the store is
// slower than the calls, which a metric must show rather than a silent
// loss. A batch the store refuses is tried again (3 times, a second
// apart) and then logged with its size and counted (Failed); Close drains
// the queue before it returns, so a clean shutdown loses nothing.
package ledger

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claudebridge/claudebridge"
)

// Options configure a Writer; zero values are the defaults.
type Options struct {
	// Store receives the batches. Required.
	Store claudebridge.LedgerService
	// QueueSize bounds the entries waiting to be written. Default 65,536
	// (about 20 MB of entries; three seconds of 20,000 calls a second).
	QueueSize int
	// BatchSize is the most entries of one transaction. Default 1,000.
	BatchSize int
	// FlushInterval is the longest an entry waits for its batch to fill.
	// Default 200 ms.
	FlushInterval time.Duration
	// Logger gets a line per batch that could not be stored. Nil:
	// slog.Default().
	Logger *slog.Logger
}

// Writer is the ledger's queue and its writing goroutine.
type Writer struct {
	opts  Options
	queue chan claudebridge.LedgerEntry
	wake  chan struct{} // a batch waits in the queue, or it is closed: write now, not at the tick
	done  chan struct{}

	mu     sync.RWMutex // held for reading by Add's send, for writing by Close
	closed bool

	waits, written, failed atomic.Int64
}

// New starts a Writer.
func New(opts Options) *Writer {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1 << 16
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 200 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w := &Writer{opts: opts, queue: make(chan claudebridge.LedgerEntry, opts.QueueSize),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

// Add queues e. It waits while the queue is full (counting the wait);
// after Close it stores e at once, itself.
func (w *Writer) Add(e claudebridge.LedgerEntry) {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		w.store([]claudebridge.LedgerEntry{e})
		return
	}
	select {
	case w.queue <- e:
	default:
		w.waits.Add(1)
		w.wakeUp()
		w.queue <- e
	}
	if len(w.queue) >= min(w.opts.BatchSize, cap(w.queue)) {
		w.wakeUp()
	}
	w.mu.RUnlock()
}

// wakeUp has run write the queue now.
func (w *Writer) wakeUp() {
	select {
	case w.wake <- struct{}{}:
	default: // woken already
	}
}

// Close stops taking entries into the queue, writes what is in it and
// returns once that is stored, or when ctx ends (the rest is then being
// written still, and ctx's error is returned).
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
		w.wakeUp()
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Len is how many entries wait in the queue.
func (w *Writer) Len() int { return len(w.queue) }

// Waits is how many Adds found the queue full and waited.
func (w *Writer) Waits() int64 { return w.waits.Load() }

// Written is how many entries were stored.
func (w *Writer) Written() int64 { return w.written.Load() }

// Failed is how many entries the store refused, each logged.
func (w *Writer) Failed() int64 { return w.failed.Load() }

// run writes the queue at each tick, and as soon as it holds a batch.
// It does not wake for each entry: at a few calls at a time a wake per
// call would cost more of the process's CPU than the call's row.
func (w *Writer) run() {
	defer close(w.done)
	batch := make([]claudebridge.LedgerEntry, 0, w.opts.BatchSize)
	tick := time.NewTicker(w.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-w.wake:
		case <-tick.C:
		}
		// Write what is queued, a batch at a time, until the queue is
		// empty, or closed and empty: then the writer is done.
		for {
			closed := false
		fill:
			for len(batch) < w.opts.BatchSize {
				select {
				case e, ok := <-w.queue:
					if !ok {
						closed = true
						break fill
					}
					batch = append(batch, e)
				default:
					break fill
				}
			}
			if len(batch) > 0 {
				w.store(batch)
			}
			full := len(batch) == w.opts.BatchSize
			batch = batch[:0]
			if closed {
				return
			}
			if !full {
				break
			}
		}
	}
}

// store writes one batch, trying again on failure.
func (w *Writer) store(batch []claudebridge.LedgerEntry) {
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Second)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = w.opts.Store.AppendLedger(ctx, batch)
		cancel()
		if err == nil {
			w.written.Add(int64(len(batch)))
			return
		}
	}
	w.failed.Add(int64(len(batch)))
	w.opts.Logger.Error("ledger: entries not stored", "entries", len(batch), "err", err)
}
