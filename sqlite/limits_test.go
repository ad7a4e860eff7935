package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge/storetest"
)

// openTwice opens one new database file twice, as two processes do.
func openTwice(t *testing.T) (a, b storetest.LimitStore) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shared.db")
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	y, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { y.Close() })
	return x, y
}

func TestTwoHandlesOnOneSQLiteFileShareLimitsAndBudgets(t *testing.T) {
	storetest.RunLimits(t, openTwice)
}

// BenchmarkTakeRate is a key's rate-window take of one request and its
// tokens, the store's part of every call of a key with an RPM or TPM when
// SHARED_LIMITS is on.
func BenchmarkTakeRate(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "bench.db"))
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
