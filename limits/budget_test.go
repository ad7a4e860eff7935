package limits_test

import (
	"context"
	"encoding/json"
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
	ring, err := limits.NewKeyring(context.Background(), nil, s, nil, budgets)
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

func TestBudgetedHoldsACallMadeForAKeyAwayFromTheDoorsToItsBudget(t *testing.T) {
	s := &mock.Keys{}
	worst := worstCase()
	add(t, s, claudebridge.Key{Name: "ci", BudgetUSD: 1.5 * worst, BudgetPeriod: "day"})
	budgets := func(k *claudebridge.Key) limits.Budget {
		return &ledger.Budget{Limit: k.BudgetUSD, Period: k.BudgetPeriod, Prices: cost.Builtin(), Upstream: "anthropic",
			Spent: func(context.Context, claudebridge.Caller, time.Time) (float64, error) { return 0, nil }}
	}
	ring, err := limits.NewKeyring(context.Background(), nil, s, nil, budgets)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	up := limits.Budgeted{Keyring: ring, Upstream: &mock.Upstream{MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
		sent++
		return &claudebridge.Response{Usage: claudebridge.Usage{InputTokens: 1000, OutputTokens: 1000}}, nil
	}}}
	req := &claudebridge.Request{Model: budgetModel, Body: budgetBody, Fields: map[string]json.RawMessage{"max_tokens": json.RawMessage("1000")}}
	ci := claudebridge.WithCaller(context.Background(), claudebridge.Caller{Key: "ci"})
	if _, err := up.Messages(ci, req); err != nil {
		t.Fatalf("the first call: %v", err)
	}
	_, err = up.Messages(ci, req)
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Errorf("the second call: code %q, want %q", got, want)
	}
	if _, err := up.Messages(claudebridge.WithCaller(context.Background(), claudebridge.Caller{Key: "other"}), req); err != nil {
		t.Errorf("a call of a key without a budget: %v", err)
	}
	if got, want := sent, 2; got != want {
		t.Errorf("calls sent %d, want %d", got, want)
	}
}
