package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// LimitStore is a store that counts keys' limits and holds budgets for
// several processes (claudebridge.LimitService, BudgetHoldService), with
// the ledger the budgets read.
type LimitStore interface {
	claudebridge.LimitService
	claudebridge.BudgetHoldService
	claudebridge.LedgerService
}

// limitsOne runs the limits behaviours on one handle, as both processes,
// when the store counts limits; Run calls it.
func limitsOne(t *testing.T, open func(t *testing.T) Store) {
	for _, b := range limitBehaviours {
		t.Run(b.name, func(t *testing.T) {
			s, ok := open(t).(LimitStore)
			if !ok {
				t.Skip("the store counts no limits")
			}
			b.test(t, s, s)
		})
	}
}

// RunLimits runs the limits behaviours on two handles of one new, empty
// database from open (as two processes open it), each call of a behaviour
// going to one or the other: limits and budgets must hold across them.
func RunLimits(t *testing.T, open func(t *testing.T) (a, b LimitStore)) {
	for _, b := range limitBehaviours {
		t.Run(b.name, func(t *testing.T) {
			x, y := open(t)
			b.test(t, x, y)
		})
	}
}

var limitBehaviours = []struct {
	name string
	test func(t *testing.T, a, b LimitStore)
}{
	{"SixtyConcurrentTakesAgainstRPM10GrantExactlyTen", sixtyConcurrentTakesAgainstRPM10GrantExactlyTen},
	{"AClosedWindowGivesWayToANewOneAtTheNextTake", aClosedWindowGivesWayToANewOneAtTheNextTake},
	{"TokensOverTheLimitAreRefusedUntilSettlingGivesThemBack", tokensOverTheLimitAreRefusedUntilSettlingGivesThemBack},
	{"ARequestOverTheTokenLimitOnItsOwnIsRefusedInANewWindow", aRequestOverTheTokenLimitOnItsOwnIsRefusedInANewWindow},
	{"SettlingAWindowThatClosedChangesNothing", settlingAWindowThatClosedChangesNothing},
	{"TwentyConcurrentSlotsAgainstALimitOf3GrantExactlyThree", twentyConcurrentSlotsAgainstALimitOf3GrantExactlyThree},
	{"AReleasedSlotIsTakenAgain", aReleasedSlotIsTakenAgain},
	{"TheSlotsOfAHolderWhoseLeaseLapsedCountForNothing", theSlotsOfAHolderWhoseLeaseLapsedCountForNothing},
	{"ALateReleaseOfASweptSlotLeavesTheNextSlotHeld", aLateReleaseOfASweptSlotLeavesTheNextSlotHeld},
	{"SixtyConcurrentCallsAgainstConcurrency3TakeThreeSlotsAndCountThreeRequests", sixtyConcurrentCallsAgainstConcurrency3TakeThreeSlotsAndCountThreeRequests},
	{"SixtyConcurrentCallsAgainstRPM5HoldFiveSlots", sixtyConcurrentCallsAgainstRPM5HoldFiveSlots},
	{"ACallTheWindowRefusesHoldsNoSlot", aCallTheWindowRefusesHoldsNoSlot},
	{"EndingACallFreesItsSlotAndGivesBackItsTokens", endingACallFreesItsSlotAndGivesBackItsTokens},
	{"ACallOfAKeyWithOneKindOfLimitTakesThatKindOnly", aCallOfAKeyWithOneKindOfLimitTakesThatKindOnly},
	{"TwentyConcurrentHoldsOfABudgetForThreeGrantExactlyThree", twentyConcurrentHoldsOfABudgetForThreeGrantExactlyThree},
	{"WhatTheLedgerSaysWasSpentCountsAgainstTheBudget", whatTheLedgerSaysWasSpentCountsAgainstTheBudget},
	{"SettlingAHoldReplacesItsWorstCaseByWhatTheCallCost", settlingAHoldReplacesItsWorstCaseByWhatTheCallCost},
	{"TheHoldsOfAHolderWhoseLeaseLapsedCountForNothing", theHoldsOfAHolderWhoseLeaseLapsedCountForNothing},
	{"ALateSettleOfASweptHoldLeavesTheNextHoldHeld", aLateSettleOfASweptHoldLeavesTheNextHoldHeld},
	{"AUsersBudgetAndAKeysAreApart", aUsersBudgetAndAKeysAreApart},
}

// t0 is the suite's clock: each call is given its time.
var t0 = time.Date(2026, 12, 3, 14, 0, 30, 0, time.UTC)

// lease makes holder live for an hour from t0, and fails t if it cannot.
func lease(t *testing.T, s LimitStore, holder string) {
	t.Helper()
	if err := s.RenewLease(t.Context(), holder, t0, t0.Add(time.Hour)); err != nil {
		t.Fatalf("RenewLease %s: %v", holder, err)
	}
}

// either returns a for even i, b for odd: calls alternate between the two
// handles.
func either(i int, a, b LimitStore) LimitStore {
	if i%2 == 0 {
		return a
	}
	return b
}

func take(t *testing.T, s LimitStore, rpm, tpm, tokens int, now time.Time) (claudebridge.RateWindow, bool) {
	t.Helper()
	w, ok, err := s.TakeRate(t.Context(), "k", rpm, tpm, tokens, time.Minute, now)
	if err != nil {
		t.Fatalf("TakeRate: %v", err)
	}
	return w, ok
}

func sixtyConcurrentTakesAgainstRPM10GrantExactlyTen(t *testing.T, a, b LimitStore) {
	var granted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 60 {
		wg.Go(func() {
			<-start
			_, ok, err := either(i, a, b).TakeRate(t.Context(), "k", 10, 0, 1, time.Minute, t0)
			if err != nil {
				t.Errorf("TakeRate: %v", err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := granted.Load(), int64(10); got != want {
		t.Errorf("granted %d of 60, want %d", got, want)
	}
	w, _ := take(t, a, 10, 0, 1, t0)
	if got, want := w.Requests, 10; got != want {
		t.Errorf("requests counted %d, want %d", got, want)
	}
}

func aClosedWindowGivesWayToANewOneAtTheNextTake(t *testing.T, a, b LimitStore) {
	if _, ok := take(t, a, 1, 0, 5, t0); !ok {
		t.Fatal("first request refused")
	}
	w, ok := take(t, b, 1, 0, 5, t0.Add(59*time.Second))
	if ok {
		t.Fatal("second request granted in the same window")
	}
	if got, want := w.Opened, t0; !got.Equal(want) {
		t.Errorf("refused: window opened %v, want %v", got, want)
	}
	if got, want := w.Requests, 1; got != want {
		t.Errorf("refused: requests %d, want %d", got, want)
	}
	w, ok = take(t, b, 1, 0, 5, t0.Add(time.Minute))
	if !ok {
		t.Fatal("request refused once the window closed")
	}
	if got, want := w.Opened, t0.Add(time.Minute); !got.Equal(want) {
		t.Errorf("new window opened %v, want %v", got, want)
	}
	if got, want := w.Requests, 1; got != want {
		t.Errorf("new window: requests %d, want %d", got, want)
	}
	if got, want := w.Tokens, 5; got != want {
		t.Errorf("new window: tokens %d, want %d", got, want)
	}
}

func tokensOverTheLimitAreRefusedUntilSettlingGivesThemBack(t *testing.T, a, b LimitStore) {
	w, ok := take(t, a, 0, 100, 60, t0)
	if !ok {
		t.Fatal("60 of 100 tokens refused")
	}
	if _, ok := take(t, b, 0, 100, 60, t0); ok {
		t.Fatal("120 of 100 tokens granted")
	}
	if err := b.SettleRate(t.Context(), "k", w.Opened, -30); err != nil {
		t.Fatal(err)
	}
	w, ok = take(t, a, 0, 100, 60, t0.Add(time.Second))
	if !ok {
		t.Fatal("30 + 60 of 100 tokens refused")
	}
	if got, want := w.Tokens, 90; got != want {
		t.Errorf("tokens %d, want %d", got, want)
	}
	if got, want := w.Requests, 2; got != want {
		t.Errorf("requests %d, want %d (the refused one not counted)", got, want)
	}
}

func aRequestOverTheTokenLimitOnItsOwnIsRefusedInANewWindow(t *testing.T, a, b LimitStore) {
	if _, ok := take(t, a, 0, 100, 101, t0); ok {
		t.Fatal("101 of 100 tokens granted in a first window")
	}
	take(t, b, 0, 100, 10, t0)
	if _, ok := take(t, a, 0, 100, 101, t0.Add(time.Minute)); ok {
		t.Fatal("101 of 100 tokens granted in a renewed window")
	}
}

func settlingAWindowThatClosedChangesNothing(t *testing.T, a, b LimitStore) {
	w, _ := take(t, a, 0, 100, 50, t0)
	take(t, b, 0, 100, 70, t0.Add(time.Minute))
	if err := a.SettleRate(t.Context(), "k", w.Opened, -50); err != nil {
		t.Fatal(err)
	}
	if _, ok := take(t, a, 0, 100, 40, t0.Add(time.Minute)); ok {
		t.Error("the new window lost the tokens settled for the old one")
	}
}

func acquire(t *testing.T, s LimitStore, holder string, limit int, now time.Time) (int64, bool) {
	t.Helper()
	id, ok, err := s.AcquireSlot(t.Context(), "k", limit, holder, now)
	if err != nil {
		t.Fatalf("AcquireSlot: %v", err)
	}
	return id, ok
}

func twentyConcurrentSlotsAgainstALimitOf3GrantExactlyThree(t *testing.T, a, b LimitStore) {
	lease(t, a, "p1")
	lease(t, b, "p2")
	var granted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 20 {
		wg.Go(func() {
			<-start
			_, ok, err := either(i, a, b).AcquireSlot(t.Context(), "k", 3, []string{"p1", "p2"}[i%2], t0)
			if err != nil {
				t.Errorf("AcquireSlot: %v", err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := granted.Load(), int64(3); got != want {
		t.Errorf("granted %d of 20, want %d", got, want)
	}
}

func aReleasedSlotIsTakenAgain(t *testing.T, a, b LimitStore) {
	lease(t, a, "p1")
	id, ok := acquire(t, a, "p1", 1, t0)
	if !ok {
		t.Fatal("first slot refused")
	}
	if _, ok := acquire(t, b, "p1", 1, t0); ok {
		t.Fatal("second slot of 1 granted")
	}
	if err := b.ReleaseSlot(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if err := a.ReleaseSlot(t.Context(), id); err != nil {
		t.Errorf("releasing a slot twice: %v", err)
	}
	if _, ok := acquire(t, b, "p1", 1, t0); !ok {
		t.Error("slot refused after the release")
	}
}

func theSlotsOfAHolderWhoseLeaseLapsedCountForNothing(t *testing.T, a, b LimitStore) {
	lease(t, a, "crashed")
	lease(t, b, "alive")
	acquire(t, a, "crashed", 2, t0)
	acquire(t, a, "crashed", 2, t0)
	if _, ok := acquire(t, b, "alive", 2, t0); ok {
		t.Fatal("third slot of 2 granted")
	}
	// "alive" renews; "crashed" does not, and its hour runs out.
	later := t0.Add(time.Hour)
	if err := b.RenewLease(t.Context(), "alive", later, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok := acquire(t, b, "alive", 2, later); !ok {
		t.Fatal("slot refused while the others' holder's lease had lapsed")
	}
	if _, ok := acquire(t, b, "alive", 2, later); !ok {
		t.Fatal("second slot refused while the others' holder's lease had lapsed")
	}
	if _, ok := acquire(t, b, "alive", 2, later); ok {
		t.Error("third slot of 2 granted to the live holder")
	}
}

// A process that stalled past its lease still ends its calls when it
// wakes: the slot it releases then was swept, and its id must not be the
// id of a slot taken since (a store that reuses the ids of deleted rows
// would free the newer slot).
func aLateReleaseOfASweptSlotLeavesTheNextSlotHeld(t *testing.T, a, b LimitStore) {
	lease(t, a, "stalled")
	stale, ok := acquire(t, a, "stalled", 1, t0)
	if !ok {
		t.Fatal("first slot refused")
	}
	later := t0.Add(time.Hour)
	if err := b.RenewLease(t.Context(), "alive", later, later.Add(time.Hour)); err != nil {
		t.Fatal(err) // sweeps the stalled holder's slot
	}
	if _, ok := acquire(t, b, "alive", 1, later); !ok {
		t.Fatal("slot refused once the stalled holder's lease had lapsed")
	}
	if err := a.ReleaseSlot(t.Context(), stale); err != nil {
		t.Fatalf("late ReleaseSlot: %v", err)
	}
	if _, ok := acquire(t, b, "alive", 1, later); ok {
		t.Error("second slot of 1 granted: the late release freed the newer slot")
	}
}

func takeCall(t *testing.T, s LimitStore, holder string, c claudebridge.CallLimits, now time.Time) claudebridge.CallTaken {
	t.Helper()
	c.Window = time.Minute
	taken, err := s.TakeCall(t.Context(), "k", c, holder, now)
	if err != nil {
		t.Fatalf("TakeCall: %v", err)
	}
	return taken
}

// concurrentCalls makes 60 calls of c at once, alternating between the
// handles and holders, none ended, and returns how many were granted.
func concurrentCalls(t *testing.T, a, b LimitStore, c claudebridge.CallLimits) int64 {
	lease(t, a, "p1")
	lease(t, b, "p2")
	c.Window = time.Minute
	var granted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 60 {
		wg.Go(func() {
			<-start
			taken, err := either(i, a, b).TakeCall(t.Context(), "k", c, []string{"p1", "p2"}[i%2], t0)
			if err != nil {
				t.Errorf("TakeCall: %v", err)
			}
			if taken.Granted {
				granted.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	return granted.Load()
}

func sixtyConcurrentCallsAgainstConcurrency3TakeThreeSlotsAndCountThreeRequests(t *testing.T, a, b LimitStore) {
	granted := concurrentCalls(t, a, b, claudebridge.CallLimits{RPM: 100, Concurrency: 3, Tokens: 1})
	if got, want := granted, int64(3); got != want {
		t.Errorf("granted %d of 60, want %d", got, want)
	}
	// The calls the slots refused were not counted in the window.
	w, _ := take(t, a, 100, 0, 1, t0)
	if got, want := w.Requests, 4; got != want {
		t.Errorf("requests counted after one more take %d, want %d", got, want)
	}
}

func sixtyConcurrentCallsAgainstRPM5HoldFiveSlots(t *testing.T, a, b LimitStore) {
	granted := concurrentCalls(t, a, b, claudebridge.CallLimits{RPM: 5, Concurrency: 20, Tokens: 1})
	if got, want := granted, int64(5); got != want {
		t.Errorf("granted %d of 60, want %d", got, want)
	}
	// The calls the window refused hold no slot: 5 are held, 6 fit.
	if _, ok := acquire(t, b, "p2", 6, t0); !ok {
		t.Fatal("a sixth slot of 6 refused")
	}
	if _, ok := acquire(t, b, "p2", 6, t0); ok {
		t.Error("a seventh slot of 6 granted")
	}
}

func aCallTheWindowRefusesHoldsNoSlot(t *testing.T, a, b LimitStore) {
	lease(t, a, "p1")
	c := claudebridge.CallLimits{RPM: 1, Concurrency: 2, Tokens: 10}
	if taken := takeCall(t, a, "p1", c, t0); !taken.Granted {
		t.Fatal("first call refused")
	}
	taken := takeCall(t, b, "p1", c, t0)
	if got, want := taken.Granted, false; got != want {
		t.Errorf("second call of RPM 1 granted %v, want %v", got, want)
	}
	if got, want := taken.Busy, false; got != want {
		t.Errorf("second call refused by the slots %v, want %v", got, want)
	}
	if got, want := taken.Window.Requests, 1; got != want {
		t.Errorf("refused call's window holds %d requests, want %d", got, want)
	}
	if got, want := taken.Slot, int64(0); got != want {
		t.Errorf("refused call's slot %d, want %d", got, want)
	}
	if _, ok := acquire(t, a, "p1", 2, t0); !ok {
		t.Error("the second of 2 slots refused after a call the window refused")
	}
}

func endingACallFreesItsSlotAndGivesBackItsTokens(t *testing.T, a, b LimitStore) {
	lease(t, a, "p1")
	first := takeCall(t, a, "p1", claudebridge.CallLimits{TPM: 1000, Concurrency: 1, Tokens: 800}, t0)
	if !first.Granted {
		t.Fatal("first call refused")
	}
	c := claudebridge.CallLimits{TPM: 1000, Concurrency: 1, Tokens: 300}
	if got, want := takeCall(t, b, "p1", c, t0).Busy, true; got != want {
		t.Fatalf("second call of concurrency 1 refused by the slots %v, want %v", got, want)
	}
	if err := b.EndCall(t.Context(), "k", first.Slot, first.Window.Opened, 100-800); err != nil {
		t.Fatalf("EndCall: %v", err)
	}
	taken := takeCall(t, a, "p1", c, t0)
	if got, want := taken.Granted, true; got != want {
		t.Fatalf("call after the end granted %v, want %v", got, want)
	}
	if got, want := taken.Window.Tokens, 400; got != want {
		t.Errorf("window tokens %d, want %d", got, want)
	}
}

func aCallOfAKeyWithOneKindOfLimitTakesThatKindOnly(t *testing.T, a, b LimitStore) {
	lease(t, a, "p1")
	rate := takeCall(t, a, "p1", claudebridge.CallLimits{RPM: 10, Tokens: 5}, t0)
	if got, want := rate.Slot, int64(0); got != want {
		t.Errorf("slot of a call without a concurrency limit %d, want %d", got, want)
	}
	if got, want := rate.Window.Requests, 1; got != want {
		t.Errorf("requests of a call with RPM %d, want %d", got, want)
	}
	slot := takeCall(t, b, "p1", claudebridge.CallLimits{Concurrency: 1, Tokens: 5}, t0)
	if got, want := slot.Granted && slot.Slot != 0, true; got != want {
		t.Errorf("call of concurrency 1 granted with a slot %v, want %v", got, want)
	}
	if got, want := slot.Window.Requests, 0; got != want {
		t.Errorf("window of a call without rate limits holds %d requests, want %d", got, want)
	}
	w, _ := take(t, a, 10, 0, 1, t0)
	if got, want := w.Requests, 2; got != want {
		t.Errorf("requests counted after one more take %d, want %d", got, want)
	}
}

var budgetKey = claudebridge.Caller{Key: "k"}

func hold(t *testing.T, s LimitStore, who claudebridge.Caller, holder string, limit, worst float64, now time.Time) (int64, float64, bool) {
	t.Helper()
	id, held, ok, err := s.HoldBudget(t.Context(), who, month, limit, worst, holder, now)
	if err != nil {
		t.Fatalf("HoldBudget: %v", err)
	}
	return id, held, ok
}

var month = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func twentyConcurrentHoldsOfABudgetForThreeGrantExactlyThree(t *testing.T, a, b LimitStore) {
	lease(t, a, "p1")
	lease(t, b, "p2")
	var granted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 20 {
		wg.Go(func() {
			<-start
			_, _, ok, err := either(i, a, b).HoldBudget(t.Context(), budgetKey, month, 3*0.375, 0.375, []string{"p1", "p2"}[i%2], t0)
			if err != nil {
				t.Errorf("HoldBudget: %v", err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := granted.Load(), int64(3); got != want {
		t.Errorf("granted %d of 20, want %d", got, want)
	}
}

func whatTheLedgerSaysWasSpentCountsAgainstTheBudget(t *testing.T, a, b LimitStore) {
	lease(t, a, "p1")
	if err := a.AppendLedger(t.Context(), []claudebridge.LedgerEntry{
		{Time: month.Add(time.Hour), Key: "k", Model: "m", Door: "messages", CostUSD: 2},
		{Time: month.Add(-time.Hour), Key: "k", Model: "m", Door: "messages", CostUSD: 8}, // last month
		{Time: month.Add(time.Hour), Key: "other", Model: "m", Door: "messages", CostUSD: 8},
	}); err != nil {
		t.Fatal(err)
	}
	_, held, ok := hold(t, b, budgetKey, "p1", 3, 1.5, t0)
	if ok {
		t.Fatal("1.5 held over 2 spent of 3")
	}
	if got, want := held, 2.0; got != want {
		t.Errorf("held %v, want %v", got, want)
	}
	if _, _, ok := hold(t, b, budgetKey, "p1", 3, 1, t0); !ok {
		t.Error("1 refused over 2 spent of 3")
	}
}

func settlingAHoldReplacesItsWorstCaseByWhatTheCallCost(t *testing.T, a, b LimitStore) {
	lease(t, a, "p1")
	id, _, ok := hold(t, a, budgetKey, "p1", 2, 2, t0)
	if !ok {
		t.Fatal("2 of 2 refused")
	}
	if _, _, ok := hold(t, b, budgetKey, "p1", 2, 0.5, t0); ok {
		t.Fatal("0.5 held beside a hold of the whole budget")
	}
	if err := b.SettleHold(t.Context(), id, budgetKey, month, 0.25); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := hold(t, a, budgetKey, "p1", 2, 1.75, t0); !ok {
		t.Fatal("1.75 refused after a call that cost 0.25 of 2")
	}
	_, held, ok := hold(t, b, budgetKey, "p1", 2, 0.5, t0)
	if ok {
		t.Error("0.5 held over 0.25 spent and 1.75 held of 2")
	}
	if got, want := held, 2.0; got != want {
		t.Errorf("held %v, want %v", got, want)
	}
}

func theHoldsOfAHolderWhoseLeaseLapsedCountForNothing(t *testing.T, a, b LimitStore) {
	lease(t, a, "crashed")
	lease(t, b, "alive")
	if _, _, ok := hold(t, a, budgetKey, "crashed", 1, 1, t0); !ok {
		t.Fatal("1 of 1 refused")
	}
	if _, _, ok := hold(t, b, budgetKey, "alive", 1, 0.5, t0); ok {
		t.Fatal("0.5 held beside a hold of the whole budget")
	}
	later := t0.Add(time.Hour)
	if err := b.RenewLease(t.Context(), "alive", later, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := hold(t, b, budgetKey, "alive", 1, 1, later); !ok {
		t.Error("1 of 1 refused once the other holder's lease had lapsed")
	}
}

// As aLateReleaseOfASweptSlotLeavesTheNextSlotHeld, for budget holds.
func aLateSettleOfASweptHoldLeavesTheNextHoldHeld(t *testing.T, a, b LimitStore) {
	lease(t, a, "stalled")
	stale, _, ok := hold(t, a, budgetKey, "stalled", 1, 1, t0)
	if !ok {
		t.Fatal("1 of 1 refused")
	}
	later := t0.Add(time.Hour)
	if err := b.RenewLease(t.Context(), "alive", later, later.Add(time.Hour)); err != nil {
		t.Fatal(err) // sweeps the stalled holder's hold
	}
	if _, _, ok := hold(t, b, budgetKey, "alive", 1, 1, later); !ok {
		t.Fatal("1 of 1 refused once the stalled holder's lease had lapsed")
	}
	if err := a.SettleHold(t.Context(), stale, budgetKey, month, 0); err != nil {
		t.Fatalf("late SettleHold: %v", err)
	}
	if _, _, ok := hold(t, b, budgetKey, "alive", 1, 0.5, later); ok {
		t.Error("0.5 held beside a hold of the whole budget: the late settle deleted the newer hold")
	}
}

func aUsersBudgetAndAKeysAreApart(t *testing.T, a, b LimitStore) {
	lease(t, a, "p1")
	if _, _, ok := hold(t, a, claudebridge.Caller{UserID: 7}, "p1", 1, 1, t0); !ok {
		t.Fatal("user 7: 1 of 1 refused")
	}
	if _, _, ok := hold(t, b, claudebridge.Caller{Key: "7"}, "p1", 1, 1, t0); !ok {
		t.Error(`key "7": 1 of 1 refused beside user 7's hold`)
	}
	if _, _, ok := hold(t, b, claudebridge.Caller{UserID: 8}, "p1", 1, 1, t0); !ok {
		t.Error("user 8: 1 of 1 refused beside user 7's hold")
	}
}
