package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge/internal/pgtest"
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
