package postgres

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/pgtest"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/mock"
	"github.com/claudebridge/claudebridge/storetest"
)

// openTwice opens one new database twice, two pools as two processes
// have.
func openTwice(t *testing.T) (a, b storetest.LimitStore) {
	t.Helper()
	url := pgtest.URL(t)
	x, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	y, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { y.Close() })
	return x, y
}

func TestTwoPoolsOnOnePostgreSQLDatabaseShareLimitsAndBudgets(t *testing.T) {
	storetest.RunLimits(t, openTwice)
}

func TestConcurrentTakesOfAnRPMOnlyKeyLetTheLimitThroughInSharedRoundTrips(t *testing.T) {
	const calls, rpm = 200, 50
	now := time.Now()
	granted := inSharedRoundTrips(t, calls, nil, func(db *DB) bool {
		taken, err := db.TakeCall(t.Context(), "k", claudebridge.CallLimits{RPM: rpm, Tokens: 1, Window: time.Minute}, "p", now)
		if err != nil {
			t.Error(err)
			return false
		}
		if !taken.Granted && taken.Window.Requests != rpm {
			t.Errorf("refused with %d requests in the window, want %d", taken.Window.Requests, rpm)
		}
		return taken.Granted
	})
	if granted != rpm {
		t.Errorf("%d of %d takes granted, want %d", granted, calls, rpm)
	}
}

// inSharedRoundTrips runs call calls times at once on a database of its
// own, after prepare (nil: nothing), and returns how many it granted. It
// fails the test unless the calls, prepare's statements included, took
// fewer transactions than there were calls: they shared round trips.
func inSharedRoundTrips(t *testing.T, calls int, prepare func(*DB), call func(*DB) (granted bool)) int64 {
	t.Helper()
	url := pgtest.Database(t)
	db, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := transactions(t, url) // the opening's migrations
	if db, err = Open(t.Context(), url); err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(db)
	}
	var granted atomic.Int64
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if call(db) {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	db.Close()
	// The second opening's own statements are a few dozen at most.
	if xacts := transactions(t, url) - before; xacts >= int64(calls) {
		t.Errorf("%d transactions for %d calls, want them to share round trips", xacts, calls)
	}
	return granted.Load()
}

// BenchmarkTakeRate is a key's rate-window take of one request and its
// tokens, the store's part of every call of a key with an RPM or TPM when
// limits are shared.
func BenchmarkTakeRate(b *testing.B) {
	db, err := Open(context.Background(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := db.TakeRate(ctx, "bench", 1<<30, 1<<40, 1500, time.Minute, now); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkSlot is a call's slot taken and given back: the store's part of
// every call of a key with a concurrency limit when limits are shared.
func BenchmarkSlot(b *testing.B) {
	db, err := Open(context.Background(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	now := time.Now()
	if err := db.RenewLease(ctx, "bench", now, now.Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		id, ok, err := db.AcquireSlot(ctx, "bench", 1<<20, "bench", now)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		if err := db.ReleaseSlot(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyedCall is one whole admitted call of a key with rpm, tpm and
// concurrency limits counted in the database (SHARED_LIMITS): admitted
// (slot and window), its usage reported and its slot released, as the
// gateway makes it. Besides the time it reports the transactions the
// database ran per call (each a round trip: pgx sends a batch as one) and
// the CPU its server processes spent per call, read from /proc where
// there is one.
func BenchmarkKeyedCall(b *testing.B) {
	benchmarkKeyedCall(b, allLimits, false)
}

// allLimits and rpmOnly are the keys the benchmarks call with: every kind
// of limit, and an rpm alone (a key made with just --rpm).
var (
	allLimits = claudebridge.Key{Name: "bench", RPM: 1 << 30, TPM: 1 << 40, Concurrency: 1 << 20}
	rpmOnly   = claudebridge.Key{Name: "bench", RPM: 1 << 30}
)

// BenchmarkKeyedCallParallel is BenchmarkKeyedCall with calls of the one
// key made from many goroutines at once: what one busy key carries.
func BenchmarkKeyedCallParallel(b *testing.B) {
	benchmarkKeyedCall(b, allLimits, true)
}

// BenchmarkRPMKeyedCall is BenchmarkKeyedCall of a key with an rpm
// alone.
func BenchmarkRPMKeyedCall(b *testing.B) {
	benchmarkKeyedCall(b, rpmOnly, false)
}

// BenchmarkRPMKeyedCallParallel is BenchmarkKeyedCallParallel of a key
// with an rpm alone.
func BenchmarkRPMKeyedCallParallel(b *testing.B) {
	benchmarkKeyedCall(b, rpmOnly, true)
}

func benchmarkKeyedCall(b *testing.B, key claudebridge.Key, parallel bool) {
	url := pgtest.Database(b)
	ctx := context.Background()
	db, err := Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	keys := &mock.Keys{}
	secret, _ := keys.Add(key)
	lease, err := limits.NewLease(ctx, db, nil)
	if err != nil {
		b.Fatal(err)
	}
	ring, err := limits.NewSharedKeyring(ctx, nil, keys, nil, nil, lease)
	if err != nil {
		b.Fatal(err)
	}
	e, _ := ring.Lookup(secret)
	body := make([]byte, 2000)
	call := func() {
		t, _, err := e.Admit(ctx, "claude-sonnet-4-5", body, 1024)
		if err != nil {
			b.Error(err)
			return
		}
		t.Report(claudebridge.Usage{InputTokens: 500, OutputTokens: 100})
		t.Release()
	}
	call() // the pools' connections and their prepared statements
	serverBefore, clientBefore := serverCPU(b, db), processCPU(os.Getpid())
	var calls int
	b.ReportAllocs()
	if parallel {
		b.SetParallelism(16)
		b.ResetTimer() // b.Loop does, RunParallel does not
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				call()
			}
		})
		calls = b.N
	} else {
		for b.Loop() {
			call()
			calls++
		}
	}
	b.StopTimer()
	if client := processCPU(os.Getpid()) - clientBefore; client > 0 {
		b.ReportMetric(float64(client.Microseconds())/float64(calls), "client-µs/call")
	}
	if server := serverCPU(b, db) - serverBefore; server > 0 {
		b.ReportMetric(float64(server.Microseconds())/float64(calls), "server-µs/call")
	}
	db.Close()
	b.ReportMetric(float64(transactions(b, url))/float64(calls), "xacts/call")
}

// serverCPU is the CPU, user and system, that the server processes of
// db's database have used, from /proc; 0 where there is none.
func serverCPU(b *testing.B, db *DB) time.Duration {
	rows, err := db.pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for _, pid := range pids {
		total += processCPU(int(pid))
	}
	return total
}

// processCPU is the CPU, user and system, process pid has used, from
// /proc; 0 where there is none.
func processCPU(pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// utime and stime are the 14th and 15th fields, in clock ticks
	// (USER_HZ, 100 a second); the 2nd, the command, ends at ')'.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	var total time.Duration
	for _, f := range fields[11:13] {
		ticks, _ := strconv.ParseInt(f, 10, 64)
		total += time.Duration(ticks) * 10 * time.Millisecond
	}
	return total
}

// transactions is how many transactions the database of url has run, once
// every other connection to it has closed (a server process counts its
// transactions in the statistics when it ends). The opening's migrations
// are among them: a few dozen.
func transactions(b testing.TB, url string) int64 {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for {
		var others int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid != pg_backend_pid()`).Scan(&others); err != nil {
			b.Fatal(err)
		}
		if others == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var n int64
	if err := conn.QueryRow(ctx, `SELECT pg_stat_clear_snapshot(), xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()`).Scan(nil, &n); err != nil {
		b.Fatal(err)
	}
	return n
}

func TestConcurrentBudgetHoldsLetTheBudgetThroughInSharedRoundTrips(t *testing.T) {
	const calls, fit = 200, 40
	now := time.Now()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	who := claudebridge.Caller{Key: "k"}
	lease := func(db *DB) {
		if err := db.RenewLease(t.Context(), "p", now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	granted := inSharedRoundTrips(t, calls, lease, func(db *DB) bool {
		_, held, ok, err := db.HoldBudget(t.Context(), who, month, fit*0.25, 0.25, "p", now)
		if err != nil {
			t.Error(err)
			return false
		}
		if !ok && held != fit*0.25 {
			t.Errorf("refused with %v held, want %v", held, fit*0.25)
		}
		return ok
	})
	if granted != fit {
		t.Errorf("%d of %d holds granted, want %d", granted, calls, fit)
	}
}

// BenchmarkBudgetHoldParallel is a budgeted call's hold and settle, made
// from many goroutines at once for one key: what one busy budgeted key
// asks of the store. It reports the transactions per call.
func BenchmarkBudgetHoldParallel(b *testing.B) {
	url := pgtest.Database(b)
	ctx := context.Background()
	db, err := Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if err := db.RenewLease(ctx, "bench", now, now.Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	who := claudebridge.Caller{Key: "bench"}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, _, ok, err := db.HoldBudget(ctx, who, month, 1e12, 0.01, "bench", now)
			if err != nil || !ok {
				b.Error(ok, err)
				return
			}
			if err := db.SettleHold(ctx, id, who, month, 0.001); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	db.Close()
	b.ReportMetric(float64(transactions(b, url))/float64(b.N), "xacts/call")
}

func TestRateOnlyAndSlotCountingTakesOfOneKeyFromTwoPoolsLetTheLimitThrough(t *testing.T) {
	a, b := openTwice(t)
	now := time.Now()
	for _, s := range []storetest.LimitStore{a, b} {
		if err := s.RenewLease(t.Context(), "p", now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	const calls, rpm = 300, 100
	var granted atomic.Int64
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			c := claudebridge.CallLimits{RPM: rpm, Tokens: 1, Window: time.Minute}
			if i%3 == 0 { // the key edited to count slots too, mid-flight
				c.Concurrency = calls
			}
			s := []storetest.LimitStore{a, b}[i%2]
			taken, err := s.TakeCall(t.Context(), "k", c, "p", now)
			if err != nil {
				t.Error(err)
				return
			}
			if taken.Granted {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if got := granted.Load(); got != rpm {
		t.Errorf("%d of %d takes granted, want %d", got, calls, rpm)
	}
}

// leased gives holder "p" a lease on db for an hour from now, and
// returns now.
func leased(t *testing.T, db *DB) time.Time {
	t.Helper()
	now := time.Now()
	if err := db.RenewLease(t.Context(), "p", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return now
}

func TestAnEndAndATakeOfAKeyInOneRoundTripEndFirst(t *testing.T) {
	url := pgtest.Database(t)
	db, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := leased(t, db)
	c := claudebridge.CallLimits{TPM: 1000, Concurrency: 1, Tokens: 800, Window: time.Minute}
	first, err := db.TakeCall(t.Context(), "k", c, "p", now)
	if err != nil || !first.Granted {
		t.Fatalf("first call: %+v, %v", first, err)
	}
	// The take came first, the end while its round trip was out: they go
	// in one round trip, and the take finds the slot free and the tokens
	// given back.
	c.Tokens = 300
	second := &callTake{key: "k", c: c, holder: "p", now: now}
	end := &callEnd{key: "k", slot: first.Slot, opened: first.Window.Opened, delta: 100 - 800}
	if err := db.sendSteps(t.Context(), []limitStep{{take: second}, {end: end}}); err != nil {
		t.Fatal(err)
	}
	if got, want := second.slot != nil, true; got != want {
		t.Fatalf("the second call of concurrency 1 got a slot %v, want %v", got, want)
	}
	if got, want := *second.tokens, 400; got != want {
		t.Errorf("window tokens %d, want %d", got, want)
	}
}

func TestEndsThatComeWhileATakeIsOutGoWithTheNextTakes(t *testing.T) {
	url := pgtest.Database(t)
	db, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	now := leased(t, db)
	c := claudebridge.CallLimits{RPM: 100, TPM: 1_000_000, Concurrency: 100, Tokens: 10, Window: time.Minute}
	const calls = 10
	var ended []claudebridge.CallTaken
	for range calls {
		taken, err := db.TakeCall(ctx, "ended", c, "p", now)
		if err != nil || !taken.Granted {
			t.Fatalf("take: %+v, %v", taken, err)
		}
		ended = append(ended, taken)
	}
	// A take held out by its key's lock, which another connection has.
	blocker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close(context.Background())
	tx, err := blocker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('limit_slots:' || $1::text, 0))`, "held"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := db.TakeCall(ctx, "held", c, "p", now); err != nil {
			t.Error(err)
		}
	})
	waitFor(t, func() bool { return lockWaiters(t, blocker) == 1 })
	for _, e := range ended {
		wg.Go(func() {
			if err := db.EndCall(ctx, "ended", e.Slot, e.Window.Opened, -5); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := db.TakeCall(ctx, "other", c, "p", now); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, func() bool {
		db.steps.mu.Lock()
		defer db.steps.mu.Unlock()
		return len(db.steps.pending) == 2*calls
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	// The ends' window and the takes' slots and window were written by
	// one transaction.
	var writers int
	if err := blocker.QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM (
		SELECT xmin FROM limit_slots WHERE key = 'other'
		UNION ALL SELECT xmin FROM rate_windows WHERE key IN ('ended', 'other')) w`).Scan(&writers); err != nil {
		t.Fatal(err)
	}
	if got, want := writers, 1; got != want {
		t.Errorf("the %d ends and %d takes queued behind a take were written by %d transactions, want %d", calls, calls, got, want)
	}
	var slots, tokens int
	if err := blocker.QueryRow(ctx, `SELECT (SELECT count(*) FROM limit_slots WHERE key = 'ended'),
		(SELECT tokens FROM rate_windows WHERE key = 'ended')`).Scan(&slots, &tokens); err != nil {
		t.Fatal(err)
	}
	if got, want := slots, 0; got != want {
		t.Errorf("%d slots of the ended calls left, want %d", got, want)
	}
	if got, want := tokens, calls*(10-5); got != want {
		t.Errorf("the ended calls' window holds %d tokens, want %d", got, want)
	}
}

// waitFor polls cond until it holds, or fails the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
	}
}

// lockWaiters is how many server processes of conn's database wait for a
// lock.
func lockWaiters(t *testing.T, conn *pgx.Conn) int {
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTheEndsOfAKeyInOneRoundTripFreeEverySlotAndGiveBackEveryCorrection(t *testing.T) {
	db := open(t)
	now := leased(t, db)
	c := claudebridge.CallLimits{TPM: 10_000, Concurrency: 3, Tokens: 800, Window: time.Minute}
	var steps []limitStep
	for _, delta := range []int{-100, -200, 50} {
		taken, err := db.TakeCall(t.Context(), "k", c, "p", now)
		if err != nil || !taken.Granted {
			t.Fatalf("take: %+v, %v", taken, err)
		}
		steps = append(steps, limitStep{end: &callEnd{key: "k", slot: taken.Slot, opened: taken.Window.Opened, delta: delta}})
	}
	// A rate-only end of the same key: a correction without a slot.
	steps = append(steps, limitStep{end: &callEnd{key: "k", opened: steps[0].end.opened, delta: -10}})
	if err := db.sendSteps(t.Context(), steps); err != nil {
		t.Fatal(err)
	}
	var slots, tokens int
	if err := db.counters.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM limit_slots WHERE key = 'k'),
		(SELECT tokens FROM rate_windows WHERE key = 'k')`).Scan(&slots, &tokens); err != nil {
		t.Fatal(err)
	}
	if got, want := slots, 0; got != want {
		t.Errorf("%d slots left, want %d", got, want)
	}
	if got, want := tokens, 3*800-100-200+50-10; got != want {
		t.Errorf("window tokens %d, want %d", got, want)
	}
}

func TestASettleAndAHoldOfACallerInOneRoundTripSettleFirst(t *testing.T) {
	db := open(t)
	now := leased(t, db)
	who := claudebridge.Caller{Key: "k"}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	first, _, ok, err := db.HoldBudget(t.Context(), who, month, 1, 0.8, "p", now)
	if err != nil || !ok {
		t.Fatalf("first hold: %v, %v", ok, err)
	}
	// The hold came first, the settles while its round trip was out: they
	// go in one round trip, and the hold sees the first call's 0.8 given
	// back and its 0.1 spent.
	second := &budgetHold{who: who, caller: callerID(who), since: month, limit: 1, worst: 0.5, holder: "p", now: now}
	steps := []budgetStep{{hold: second}, {settle: &holdSettle{hold: first, caller: callerID(who), since: month, actual: 0.1}}}
	if err := db.sendBudgetSteps(t.Context(), steps); err != nil {
		t.Fatal(err)
	}
	if got, want := second.id != nil, true; got != want {
		t.Fatalf("the second hold granted %v, want %v (held %v)", got, want, second.held)
	}
	if got, want := second.held, 0.1; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("held before the second hold %v, want %v", got, want)
	}
}

func TestTheSettlesOfACallerInOneRoundTripAddUpAndFreeEveryHold(t *testing.T) {
	db := open(t)
	now := leased(t, db)
	who := claudebridge.Caller{Key: "k"}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var steps []budgetStep
	for _, actual := range []float64{0.1, 0.2, 0.3} {
		id, _, ok, err := db.HoldBudget(t.Context(), who, month, 10, 1, "p", now)
		if err != nil || !ok {
			t.Fatalf("hold: %v, %v", ok, err)
		}
		steps = append(steps, budgetStep{settle: &holdSettle{hold: id, caller: callerID(who), since: month, actual: actual}})
	}
	if err := db.sendBudgetSteps(t.Context(), steps); err != nil {
		t.Fatal(err)
	}
	_, held, ok, err := db.HoldBudget(t.Context(), who, month, 10, 0, "p", now)
	if err != nil || !ok {
		t.Fatalf("hold after the settles: %v, %v", ok, err)
	}
	if got, want := held, 0.6; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("spent and held after the settles %v, want %v (what they cost, no hold left)", got, want)
	}
}
