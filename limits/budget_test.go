package limits_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/cost"
	"github.com/claudebridge/claudebridge/ledger"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/mock"
)

// budgetRing is a keyring of one key, holding its budget with the built-in
// prices, past spending read as spent.
func budgetRing(t *testing.T, key claudebridge.Key, spent float64) *limits.Entry {
	t.Helper()
	s := &mock.Keys{}
	secret := add(t, s, key)
	budgets := func(k *claudebridge.Key) limits.Budget {
		return &ledger.Budget{Limit: k.BudgetUSD, Period: k.BudgetPeriod, Prices: cost.Builtin(), Upstream: "anthropic",
			Spent: func(context.Context, claudebridge.Caller, time.Time) (float64, error) { return spent, nil }}
	}
	ring, err := limits.NewKeyring(context.Background(), nil, s, nil, &limits.Spending{Budgets: budgets})
	if err != nil {
		t.Fatal(err)
	}
	e, err := ring.Lookup(secret)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const budgetModel = "claude-sonnet-4-5"

var budgetBody = make([]byte, 4000) // 1000 input tokens, counted locally

func worstCase() float64 { return cost.Builtin().WorstCase(budgetModel, "anthropic", budgetBody, 1000) }

func TestAKeysBudgetLetsExactlyTheCallsItCoversThroughUnder50WayConcurrency(t *testing.T) {
	// $1 already spent, and room for 7 calls at their worst case and half
	// of an eighth: 7 of 50 calls in flight at once pass.
	worst := worstCase()
	e := budgetRing(t, claudebridge.Key{Name: "ci", BudgetUSD: 1 + 7.5*worst, BudgetPeriod: "month"}, 1)
	var passed, refused atomic.Int64
	var admitted, wg sync.WaitGroup
	admitted.Add(50)
	start, end := make(chan struct{}), make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			ticket, _, err := e.Admit(context.Background(), budgetModel, budgetBody, 1000)
			admitted.Done()
			if err != nil {
				if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
					t.Errorf("refusal code %q, want %q", got, want)
				}
				refused.Add(1)
				return
			}
			passed.Add(1)
			<-end // every call stays in flight until all were admitted or refused
			ticket.Report(claudebridge.Usage{InputTokens: 1000, OutputTokens: 1000})
			ticket.Release()
		})
	}
	close(start)
	admitted.Wait()
	close(end)
	wg.Wait()
	if got, want := passed.Load(), int64(7); got != want {
		t.Errorf("calls through %d, want %d", got, want)
	}
	if got, want := refused.Load(), int64(43); got != want {
		t.Errorf("calls refused %d, want %d", got, want)
	}
}

func TestAKeysCallSettlesAtReleaseWithTheUsageLastReported(t *testing.T) {
	worst := worstCase()
	e := budgetRing(t, claudebridge.Key{Name: "ci", BudgetUSD: 1.5 * worst, BudgetPeriod: "day"}, 0)
	first, _, err := e.Admit(context.Background(), budgetModel, budgetBody, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Admit(context.Background(), budgetModel, budgetBody, 1000); err == nil {
		t.Fatal("a second call passed while the first's worst case was reserved")
	}
	first.Report(claudebridge.Usage{InputTokens: 10, OutputTokens: 1}) // a stream cut after message_start
	first.Release()
	if _, _, err := e.Admit(context.Background(), budgetModel, budgetBody, 1000); err != nil {
		t.Errorf("a call after the first settled at its small cost was refused: %v", err)
	}
}

func TestACallTheRateLimitRefusesGivesItsBudgetReservationBack(t *testing.T) {
	worst := worstCase()
	e := budgetRing(t, claudebridge.Key{Name: "ci", Concurrency: 1, BudgetUSD: 2.5 * worst, BudgetPeriod: "day"}, 0)
	first, _, err := e.Admit(context.Background(), budgetModel, budgetBody, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _, err := e.Admit(context.Background(), budgetModel, budgetBody, 1000)
		if got, want := claudebridge.ErrorCode(err), claudebridge.ERATELIMIT; got != want {
			t.Fatalf("a call over the concurrency: code %q, want %q", got, want)
		}
	}
	first.Release() // it failed: no usage, no cost
	if _, _, err := e.Admit(context.Background(), budgetModel, budgetBody, 1000); err != nil {
		t.Errorf("a call after the refused ones was refused: %v", err)
	}
}

func TestAKeyWithoutABudgetHasNone(t *testing.T) {
	e := budgetRing(t, claudebridge.Key{Name: "ci"}, 0)
	if e.Budget != nil {
		t.Error("a key without a budget got one")
	}
}

func TestNamedFindsALiveKeyWithItsBudgetAndNoOther(t *testing.T) {
	s := &mock.Keys{}
	add(t, s, claudebridge.Key{Name: "ci", BudgetUSD: 1, BudgetPeriod: "day"})
	add(t, s, claudebridge.Key{Name: "gone"})
	if err := s.RevokeKey(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	budgets := func(k *claudebridge.Key) limits.Budget {
		return &ledger.Budget{Limit: k.BudgetUSD, Period: k.BudgetPeriod}
	}
	ring, err := limits.NewKeyring(context.Background(), nil, s, nil, &limits.Spending{Budgets: budgets})
	if err != nil {
		t.Fatal(err)
	}
	if e := ring.Named("ci"); e == nil || e.Budget == nil {
		t.Errorf("ci: %v, want the key with its budget", e)
	}
	for _, name := range []string{"gone", "nobody", ""} {
		if e := ring.Named(name); e != nil {
			t.Errorf("%q: %v, want none", name, e)
		}
	}
}
