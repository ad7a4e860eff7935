package ledger

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/sqlite"
)

// memStore keeps the batches it is given; block, when not nil, holds each
// AppendLedger until it is closed.
type memStore struct {
	claudebridge.LedgerService
	mu      sync.Mutex
	batches [][]claudebridge.LedgerEntry
	block   chan struct{}
}

func (s *memStore) AppendLedger(ctx context.Context, entries []claudebridge.LedgerEntry) error {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, append([]claudebridge.LedgerEntry(nil), entries...))
	return nil
}

func (s *memStore) rows() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.batches {
		n += len(b)
	}
	return n
}

func TestEntriesAreWrittenInBatchesOfBatchSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{block: make(chan struct{})}
		w := New(Options{Store: store, BatchSize: 10, QueueSize: 100, FlushInterval: time.Hour})
		for range 25 {
			w.Add(claudebridge.LedgerEntry{Model: "m"})
		}
		close(store.block)
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, want := store.rows(), 25; got != want {
			t.Errorf("rows %d, want %d", got, want)
		}
		for i, b := range store.batches {
			if len(b) > 10 {
				t.Errorf("batch %d has %d entries, over the batch size of 10", i, len(b))
			}
		}
	})
}

func TestAnEntryIsWrittenWithinTheFlushInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		w := New(Options{Store: store, BatchSize: 1000, FlushInterval: 200 * time.Millisecond})
		defer w.Close(context.Background())
		w.Add(claudebridge.LedgerEntry{Model: "m"})
		time.Sleep(199 * time.Millisecond)
		synctest.Wait()
		if got, want := store.rows(), 0; got != want {
			t.Errorf("rows before the interval %d, want %d", got, want)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got, want := store.rows(), 1; got != want {
			t.Errorf("rows after the interval %d, want %d", got, want)
		}
	})
}

func TestAFullQueueMakesAddWaitAndCountsTheWaitWithoutLosingEntries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{block: make(chan struct{})}
		w := New(Options{Store: store, BatchSize: 1, QueueSize: 2, FlushInterval: time.Hour})
		// The writer holds one entry in a blocked store; two fill the queue.
		for range 3 {
			w.Add(claudebridge.LedgerEntry{Model: "m"})
			synctest.Wait()
		}
		added := make(chan struct{})
		go func() {
			w.Add(claudebridge.LedgerEntry{Model: "m"})
			close(added)
		}()
		synctest.Wait()
		select {
		case <-added:
			t.Fatal("Add returned while the queue was full")
		default:
		}
		if got, want := w.Waits(), int64(1); got != want {
			t.Errorf("waits %d, want %d", got, want)
		}
		close(store.block)
		<-added
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, want := store.rows(), 4; got != want {
			t.Errorf("rows %d, want %d", got, want)
		}
	})
}

func TestCloseWritesEverythingQueuedAndAddAfterCloseStillStores(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		w := New(Options{Store: store, FlushInterval: time.Hour})
		for range 500 {
			w.Add(claudebridge.LedgerEntry{Model: "m"})
		}
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, want := store.rows(), 500; got != want {
			t.Errorf("rows after Close %d, want %d", got, want)
		}
		w.Add(claudebridge.LedgerEntry{Model: "late"})
		if got, want := store.rows(), 501; got != want {
			t.Errorf("rows after a late Add %d, want %d", got, want)
		}
	})
}

// BenchmarkWriterIntoSQLite is the writer's pace into a SQLite file: run
// with -benchtime=200000x; calls/s is the rate it keeps up with.
func BenchmarkWriterIntoSQLite(b *testing.B) {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "ledger.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w := New(Options{Store: db})
	e := claudebridge.LedgerEntry{Time: time.Now(), RequestID: "req_011CXa4vq9TBuSkPq3PKjD2H", Key: "ci", Model: "claude-sonnet-4-5",
		Upstream: "bedrock", Door: "messages", InputTokens: 1200, OutputTokens: 300, CacheReadTokens: 30000,
		CacheWrite5mTokens: 2000, CostUSD: 0.0213, PriceVersion: "builtin:0123456789ab", Latency: time.Second,
		FirstToken: 300 * time.Millisecond, Status: 200}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var heap uint64
	for i := range b.N {
		w.Add(e)
		if i%10_000 == 0 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = max(heap, ms.HeapAlloc)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
	b.ReportMetric(float64(w.Waits()), "waits")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
}

func TestABatchIsWrittenAsSoonAsItIsQueuedNotAtTheTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		w := New(Options{Store: store, BatchSize: 10, FlushInterval: time.Hour})
		defer w.Close(context.Background())
		for range 9 {
			w.Add(claudebridge.LedgerEntry{Model: "m"})
		}
		synctest.Wait()
		if got, want := store.rows(), 0; got != want {
			t.Errorf("rows of a batch not yet full %d, want %d", got, want)
		}
		w.Add(claudebridge.LedgerEntry{Model: "m"})
		synctest.Wait()
		if got, want := store.rows(), 10; got != want {
			t.Errorf("rows of a full batch %d, want %d", got, want)
		}
	})
}

func TestAQueueSmallerThanABatchIsWrittenWhenFullNotAtTheTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		w := New(Options{Store: store, BatchSize: 1000, QueueSize: 2, FlushInterval: time.Hour})
		defer w.Close(context.Background())
		for range 5 {
			w.Add(claudebridge.LedgerEntry{Model: "m"})
		}
		synctest.Wait()
		if got, want := store.rows(), 4; got < want {
			t.Errorf("rows %d, want at least %d", got, want)
		}
	})
}
