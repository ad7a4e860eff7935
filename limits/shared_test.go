package limits_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/mock"
	"github.com/claudebridge/claudebridge/sqlite"
)

// processes are n keyrings sharing their limits through n handles on one
// SQLite file, as n serve processes on one database do, with the key
// given, all on clock c. It returns each process's entry of the key.
func processes(t *testing.T, n int, key claudebridge.Key, c *clock) []*limits.Entry {
	t.Helper()
	keys := &mock.Keys{}
	secret := add(t, keys, key)
	path := filepath.Join(t.TempDir(), "shared.db")
	var entries []*limits.Entry
	for range n {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		lease, err := limits.NewLease(context.Background(), db, c.now)
		if err != nil {
			t.Fatal(err)
		}
		ring, err := limits.NewSharedKeyring(context.Background(), nil, keys, c.now, nil, lease)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ring.Lookup(secret)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	return entries
}

// admitSmall admits a call of 400 bytes and max_tokens 100 (200 tokens).
func admitSmall(e *limits.Entry) (*limits.Ticket, limits.State, error) {
	return e.Admit(context.Background(), "claude-sonnet-4-5", make([]byte, 400), 100)
}

func TestSixtyConcurrentCallsOfAKeyWithRPM10AcrossThreeProcessesLetExactlyTenThrough(t *testing.T) {
	ps := processes(t, 3, claudebridge.Key{Name: "ci", RPM: 10}, newClock())
	var admitted, throttled atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 60 {
		wg.Go(func() {
			<-start
			tk, _, err := admitSmall(ps[i%3])
			switch claudebridge.ErrorCode(err) {
			case "":
				admitted.Add(1)
				tk.Release()
			case claudebridge.ERATELIMIT:
				throttled.Add(1)
			default:
				t.Errorf("admit: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := admitted.Load(), int64(10); got != want {
		t.Errorf("admitted %d of 60, want %d", got, want)
	}
	if got, want := throttled.Load(), int64(50); got != want {
		t.Errorf("throttled %d of 60, want %d", got, want)
	}
}

func TestARefusalAcrossProcessesSaysWhenTheSharedWindowCloses(t *testing.T) {
	c := newClock()
	ps := processes(t, 2, claudebridge.Key{Name: "ci", RPM: 2}, c)
	for _, p := range ps {
		tk, _, err := admitSmall(p)
		if err != nil {
			t.Fatal(err)
		}
		tk.Release()
	}
	c.add(20 * time.Second)
	_, st, err := admitSmall(ps[0])
	if got, want := claudebridge.ErrorCode(err), claudebridge.ERATELIMIT; got != want {
		t.Fatalf("third request: code %q, want %q", got, want)
	}
	if got, want := err.(*claudebridge.Error).RetryAfter, 40*time.Second; got != want {
		t.Errorf("retry after %v, want %v", got, want)
	}
	if got, want := st.RequestsRemaining, 0; got != want {
		t.Errorf("remaining %d, want %d", got, want)
	}
	c.add(40 * time.Second)
	if _, _, err := admitSmall(ps[1]); err != nil {
		t.Errorf("request in the next window: %v", err)
	}
}

func TestACallsCallsInFlightAreCountedAcrossProcessesUntilTheyEnd(t *testing.T) {
	ps := processes(t, 2, claudebridge.Key{Name: "ci", Concurrency: 1}, newClock())
	tk, _, err := admitSmall(ps[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := admitSmall(ps[1]); claudebridge.ErrorCode(err) != claudebridge.ERATELIMIT {
		t.Fatalf("second call in flight in another process: err %v, want rate limit", err)
	}
	tk.Release()
	if _, _, err := admitSmall(ps[1]); err != nil {
		t.Errorf("call after the first ended: %v", err)
	}
}

func TestTheCallsInFlightOfAProcessWhoseLeaseLapsedNoLongerCount(t *testing.T) {
	c := newClock()
	keys := &mock.Keys{}
	secret := add(t, keys, claudebridge.Key{Name: "ci", Concurrency: 1})
	path := filepath.Join(t.TempDir(), "shared.db")
	var leases []*limits.Lease
	var entries []*limits.Entry
	for range 2 {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		lease, err := limits.NewLease(context.Background(), db, c.now)
		if err != nil {
			t.Fatal(err)
		}
		ring, _ := limits.NewSharedKeyring(context.Background(), nil, keys, c.now, nil, lease)
		e, _ := ring.Lookup(secret)
		leases, entries = append(leases, lease), append(entries, e)
	}
	if _, _, err := admitSmall(entries[0]); err != nil { // never released: its process crashes
		t.Fatal(err)
	}
	if _, _, err := admitSmall(entries[1]); claudebridge.ErrorCode(err) != claudebridge.ERATELIMIT {
		t.Fatalf("second call while the first is in flight: err %v, want rate limit", err)
	}
	c.add(limits.LeaseTTL)
	if err := leases[1].Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := admitSmall(entries[1]); err != nil {
		t.Errorf("call after the crashed process's lease lapsed: %v", err)
	}
}

func TestAProcessThatEndsItsLeaseFreesItsCallsInFlightAtOnce(t *testing.T) {
	c := newClock()
	keys := &mock.Keys{}
	secret := add(t, keys, claudebridge.Key{Name: "ci", Concurrency: 1})
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "shared.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	lease, _ := limits.NewLease(context.Background(), db, c.now)
	ring, _ := limits.NewSharedKeyring(context.Background(), nil, keys, c.now, nil, lease)
	e, _ := ring.Lookup(secret)
	if _, _, err := admitSmall(e); err != nil {
		t.Fatal(err)
	}
	if err := lease.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	next, _ := limits.NewLease(context.Background(), db, c.now)
	ring, _ = limits.NewSharedKeyring(context.Background(), nil, keys, c.now, nil, next)
	e, _ = ring.Lookup(secret)
	if _, _, err := admitSmall(e); err != nil {
		t.Errorf("call after the other lease ended: %v", err)
	}
}

func TestTheTokensACallReallyUsedReplaceItsEstimateForEveryProcess(t *testing.T) {
	ps := processes(t, 2, claudebridge.Key{Name: "ci", TPM: 1000}, newClock())
	tk, _, err := ps[0].Admit(context.Background(), "claude-sonnet-4-5", make([]byte, 400), 500) // 600 tokens
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ps[1].Admit(context.Background(), "claude-sonnet-4-5", make([]byte, 400), 500); claudebridge.ErrorCode(err) != claudebridge.ERATELIMIT {
		t.Fatalf("600 more of 1000: err %v, want rate limit", err)
	}
	tk.Report(claudebridge.Usage{InputTokens: 50, OutputTokens: 50})
	tk.Release()
	_, st, err := ps[1].Admit(context.Background(), "claude-sonnet-4-5", make([]byte, 400), 500)
	if err != nil {
		t.Fatalf("after the correction: %v", err)
	}
	if got, want := st.TokensRemaining, 300; got != want {
		t.Errorf("remaining %d, want %d", got, want)
	}
}

func TestACallTheWindowRefusesGivesBackItsSlot(t *testing.T) {
	c := newClock()
	ps := processes(t, 2, claudebridge.Key{Name: "ci", RPM: 1, Concurrency: 1}, c)
	tk, _, err := admitSmall(ps[0])
	if err != nil {
		t.Fatal(err)
	}
	tk.Release()
	if _, _, err := admitSmall(ps[1]); claudebridge.ErrorCode(err) != claudebridge.ERATELIMIT {
		t.Fatalf("second request of rpm 1: err %v, want rate limit", err)
	}
	c.add(time.Minute)
	if _, _, err := admitSmall(ps[1]); err != nil {
		t.Errorf("request in the next window: %v", err)
	}
}

// countingStore counts the steps asked of a LimitService, each a round
// trip on PostgreSQL.
type countingStore struct {
	claudebridge.LimitService
	steps atomic.Int64
}

func (s *countingStore) TakeRate(ctx context.Context, key string, rpm, tpm, tokens int, window time.Duration, now time.Time) (claudebridge.RateWindow, bool, error) {
	s.steps.Add(1)
	return s.LimitService.TakeRate(ctx, key, rpm, tpm, tokens, window, now)
}

func (s *countingStore) SettleRate(ctx context.Context, key string, opened time.Time, delta int) error {
	s.steps.Add(1)
	return s.LimitService.SettleRate(ctx, key, opened, delta)
}

func (s *countingStore) AcquireSlot(ctx context.Context, key string, limit int, holder string, now time.Time) (int64, bool, error) {
	s.steps.Add(1)
	return s.LimitService.AcquireSlot(ctx, key, limit, holder, now)
}

func (s *countingStore) ReleaseSlot(ctx context.Context, slot int64) error {
	s.steps.Add(1)
	return s.LimitService.ReleaseSlot(ctx, slot)
}

func (s *countingStore) TakeCall(ctx context.Context, key string, c claudebridge.CallLimits, holder string, now time.Time) (claudebridge.CallTaken, error) {
	s.steps.Add(1)
	return s.LimitService.TakeCall(ctx, key, c, holder, now)
}

func (s *countingStore) EndCall(ctx context.Context, key string, slot int64, opened time.Time, delta int) error {
	s.steps.Add(1)
	return s.LimitService.EndCall(ctx, key, slot, opened, delta)
}

func TestACallOfAKeyWithEveryLimitAsksTheStoreOnceToBeginAndOnceToEnd(t *testing.T) {
	keys := &mock.Keys{}
	secret := add(t, keys, claudebridge.Key{Name: "ci", RPM: 10, TPM: 10000, Concurrency: 2})
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "shared.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := &countingStore{LimitService: db}
	c := newClock()
	lease, err := limits.NewLease(t.Context(), store, c.now)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := limits.NewSharedKeyring(t.Context(), nil, keys, c.now, nil, lease)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ring.Lookup(secret)
	if err != nil {
		t.Fatal(err)
	}
	tk, _, err := admitSmall(e)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := store.steps.Load(), int64(1); got != want {
		t.Errorf("steps of the store to admit %d, want %d", got, want)
	}
	tk.Report(claudebridge.Usage{InputTokens: 50, OutputTokens: 20}) // not the estimate: the window is corrected
	tk.Release()
	if got, want := store.steps.Load(), int64(2); got != want {
		t.Errorf("steps of the store to admit and release %d, want %d", got, want)
	}
}

// BenchmarkSharedKeyedCall is BenchmarkKeyedCall with the limits counted
// in a SQLite file (SHARED_LIMITS): a slot and a take in one transaction,
// a token correction and the slot's release in another.
func BenchmarkSharedKeyedCall(b *testing.B) {
	keys := &mock.Keys{}
	secret, _ := keys.Add(claudebridge.Key{Name: "bench", RPM: 1 << 30, TPM: 1 << 40, Concurrency: 1 << 20})
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	lease, err := limits.NewLease(context.Background(), db, nil)
	if err != nil {
		b.Fatal(err)
	}
	ring, err := limits.NewSharedKeyring(context.Background(), nil, keys, nil, nil, lease)
	if err != nil {
		b.Fatal(err)
	}
	e, _ := ring.Lookup(secret)
	body := make([]byte, 2000)
	b.ReportAllocs()
	for b.Loop() {
		t, _, err := e.Admit(context.Background(), "claude-sonnet-4-5", body, 1024)
		if err != nil {
			b.Fatal(err)
		}
		t.Report(claudebridge.Usage{InputTokens: 500, OutputTokens: 100})
		t.Release()
	}
}
