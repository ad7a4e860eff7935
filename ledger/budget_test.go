package ledger

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/cost"
	"github.com/claudebridge/claudebridge/mock"
)

func TestABudgetStopsExactlyAtItsLimitUnder50WayConcurrency(t *testing.T) {
	// Each call reserves $1 and costs $1: a $10 budget with $3 already
	// spent lets exactly 7 of 50 concurrent calls through.
	b := &Budget{Limit: 10, Period: "month",
		Spent: func(context.Context, claudebridge.Caller, time.Time) (float64, error) { return 3, nil }}
	var passed, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			settle, err := b.Reserve(context.Background(), user, 1)
			if err != nil {
				if claudebridge.ErrorCode(err) != claudebridge.EINVALID {
					t.Errorf("refusal %v, want EINVALID", err)
				}
				refused.Add(1)
				return
			}
			passed.Add(1)
			settle(1)
		})
	}
	close(start)
	wg.Wait()
	if got, want := passed.Load(), int64(7); got != want {
		t.Errorf("calls through %d, want %d", got, want)
	}
	if got, want := refused.Load(), int64(43); got != want {
		t.Errorf("calls refused %d, want %d", got, want)
	}
}

func TestACallThatCostLessThanItsWorstCaseLeavesTheRestOfTheBudget(t *testing.T) {
	b := &Budget{Limit: 2, Period: "day", Spent: func(context.Context, claudebridge.Caller, time.Time) (float64, error) { return 0, nil }}
	settle, err := b.Reserve(context.Background(), user, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reserve(context.Background(), user, 0.5); err == nil {
		t.Fatal("a call passed while the whole budget was reserved")
	}
	settle(0.25)
	if _, err := b.Reserve(context.Background(), user, 1.75); err != nil {
		t.Errorf("the rest of the budget after settling was refused: %v", err)
	}
}

func TestANewPeriodReadsTheLedgerAgain(t *testing.T) {
	now := time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC)
	reads := 0
	b := &Budget{Limit: 1, Period: "day", Now: func() time.Time { return now },
		Spent: func(context.Context, claudebridge.Caller, time.Time) (float64, error) { reads++; return 0, nil }}
	settle, err := b.Reserve(context.Background(), user, 1)
	if err != nil {
		t.Fatal(err)
	}
	settle(1)
	if _, err := b.Reserve(context.Background(), user, 0.01); err == nil {
		t.Fatal("a spent day's budget let a call through")
	}
	now = now.Add(2 * time.Hour)
	if _, err := b.Reserve(context.Background(), user, 1); err != nil {
		t.Errorf("the next day's first call was refused: %v", err)
	}
	if got, want := reads, 2; got != want {
		t.Errorf("ledger reads %d, want %d", got, want)
	}
}

func TestBudgetedHoldsChatUsersCallsAndPassesOthers(t *testing.T) {
	sent := 0
	up := &mock.Upstream{MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
		sent++
		return &claudebridge.Response{Usage: claudebridge.Usage{OutputTokens: 1000}}, nil
	}}
	b := &Budget{Limit: 0.01, Period: "month", Prices: cost.Builtin(), Upstream: "anthropic",
		Spent: func(context.Context, claudebridge.Caller, time.Time) (float64, error) { return 0, nil }}
	u := &Budgeted{Next: up, For: Users(b)}
	body := `{"model":"claude-sonnet-4-5","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}`
	r := &claudebridge.Request{Model: "claude-sonnet-4-5", Body: []byte(body)}
	json.Unmarshal(r.Body, &r.Fields)
	user := claudebridge.WithCaller(context.Background(), claudebridge.Caller{UserID: 1})
	if _, err := u.Messages(user, r); claudebridge.ErrorCode(err) != claudebridge.EINVALID {
		t.Errorf("a user's call over the budget: %v, want EINVALID", err)
	}
	if _, err := u.Messages(context.Background(), r); err != nil {
		t.Errorf("a call of no user: %v, want it passed", err)
	}
	if got, want := sent, 1; got != want {
		t.Errorf("calls sent %d, want %d", got, want)
	}
}

var user = claudebridge.Caller{UserID: 1}

func TestAKeysBudgetIsItsOwnAndItsRefusalNamesTheKey(t *testing.T) {
	b := &Budget{Limit: 1, Period: "day",
		Spent: func(context.Context, claudebridge.Caller, time.Time) (float64, error) { return 0, nil }}
	if _, err := b.Reserve(context.Background(), claudebridge.Caller{Key: "alpha"}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reserve(context.Background(), claudebridge.Caller{Key: "beta"}, 1); err != nil {
		t.Errorf("another key's first call was refused: %v", err)
	}
	_, err := b.Reserve(context.Background(), claudebridge.Caller{Key: "alpha"}, 0.5)
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Fatalf("code %v, want %v", got, want)
	}
	if got, want := claudebridge.ErrorMessage(err), "this key has spent"; !strings.Contains(got, want) {
		t.Errorf("message %q, want it to contain %q", got, want)
	}
}

// spentLedger is a ledger whose spending is one figure per user and key.
type spentLedger struct {
	claudebridge.LedgerService
	byUser map[int64]float64
	byKey  map[string]float64
}

func (l spentLedger) SpentByUser(_ context.Context, id int64, _ time.Time) (float64, error) {
	return l.byUser[id], nil
}

func (l spentLedger) SpentByKey(_ context.Context, key string, _ time.Time) (float64, error) {
	return l.byKey[key], nil
}

func TestSpentByReadsAUsersSpendingByIdAndAKeysByName(t *testing.T) {
	spent := SpentBy(spentLedger{byUser: map[int64]float64{7: 2}, byKey: map[string]float64{"alpha": 3}})
	got, _ := spent(context.Background(), claudebridge.Caller{UserID: 7}, time.Time{})
	if want := 2.0; got != want {
		t.Errorf("user's spending %v, want %v", got, want)
	}
	got, _ = spent(context.Background(), claudebridge.Caller{Key: "alpha"}, time.Time{})
	if want := 3.0; got != want {
		t.Errorf("key's spending %v, want %v", got, want)
	}
}
