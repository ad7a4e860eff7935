package ledger

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/sqlite"
)

// sharedBudgets are n Budgets of limit per month holding in n handles on
// one SQLite file, each under a lease of its own, as n serve processes on
// one database do; the first handle is returned too, for its ledger.
func sharedBudgets(t *testing.T, n int, limit float64, now time.Time) ([]*Budget, *sqlite.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shared.db")
	var budgets []*Budget
	var first *sqlite.DB
	for i := range n {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		holder := "process-" + string(rune('a'+i))
		if err := db.RenewLease(context.Background(), holder, now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		budgets = append(budgets, &Budget{Limit: limit, Period: "month", Now: func() time.Time { return now }, Holds: db, Holder: holder})
		if first == nil {
			first = db
		}
	}
	return budgets, first
}

var march = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestABudgetForThreeCallsLetsExactlyThreeOf20ConcurrentCallsThroughAcrossTwoProcesses(t *testing.T) {
	bs, _ := sharedBudgets(t, 2, 3*0.375, march)
	var passed, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 20 {
		wg.Go(func() {
			<-start
			_, err := bs[i%2].Reserve(context.Background(), claudebridge.Caller{Key: "ci"}, 0.375)
			switch claudebridge.ErrorCode(err) {
			case "":
				passed.Add(1)
			case claudebridge.EINVALID:
				refused.Add(1)
			default:
				t.Errorf("reserve: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := passed.Load(), int64(3); got != want {
		t.Errorf("calls through %d, want %d", got, want)
	}
	if got, want := refused.Load(), int64(17); got != want {
		t.Errorf("calls refused %d, want %d", got, want)
	}
}

func TestWhatACallCostOnceSettledCountsInEveryProcess(t *testing.T) {
	bs, _ := sharedBudgets(t, 2, 2, march)
	settle, err := bs[0].Reserve(context.Background(), user, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bs[1].Reserve(context.Background(), user, 0.5); err == nil {
		t.Fatal("another process passed a call while the whole budget was held")
	}
	settle(0.25)
	settle(0.25) // only the first counts
	if _, err := bs[1].Reserve(context.Background(), user, 1.75); err != nil {
		t.Fatalf("the rest of the budget after settling was refused: %v", err)
	}
	if _, err := bs[0].Reserve(context.Background(), user, 0.5); err == nil {
		t.Error("a call passed over 0.25 spent and 1.75 held of 2")
	}
}

func TestASharedBudgetCountsWhatTheLedgerSaysWasSpentThisPeriod(t *testing.T) {
	bs, db := sharedBudgets(t, 2, 3, march)
	if err := db.AppendLedger(context.Background(), []claudebridge.LedgerEntry{
		{Time: march.Add(-time.Hour), Key: "ci", Model: "m", Door: "messages", CostUSD: 2},
		{Time: march.AddDate(0, -1, 0), Key: "ci", Model: "m", Door: "messages", CostUSD: 5}, // February's
	}); err != nil {
		t.Fatal(err)
	}
	_, err := bs[1].Reserve(context.Background(), claudebridge.Caller{Key: "ci"}, 1.5)
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Fatalf("1.5 over 2 spent of 3: code %q, want %q", got, want)
	}
	if got, want := claudebridge.ErrorMessage(err), "this key has spent $2.0000 of $3.0000 this month"; !strings.Contains(got, want) {
		t.Errorf("message %q, want it to contain %q", got, want)
	}
	if _, err := bs[0].Reserve(context.Background(), claudebridge.Caller{Key: "ci"}, 1); err != nil {
		t.Errorf("1 over 2 spent of 3: %v", err)
	}
}
