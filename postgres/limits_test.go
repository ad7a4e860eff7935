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
