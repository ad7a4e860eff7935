package claudebridge

import (
	"context"
	"time"
)

// RateWindow is a key's fixed rate window as the store counts it.
type RateWindow struct {
	Opened   time.Time // the window's start; it closes a window's length later
	Requests int       // requests counted in it
	Tokens   int       // tokens counted in it (estimates, corrected as calls end)
}

// CallLimits are the limits one call of a key is taken under
// (LimitService.TakeCall), zero meaning no limit of that kind, and the
// tokens it is counted at.
type CallLimits struct {
	RPM, TPM, Concurrency int
	Tokens                int
	Window                time.Duration
}

// CallTaken is what LimitService.TakeCall did.
type CallTaken struct {
	Granted bool
	// Busy: refused because Concurrency slots are held; nothing was
	// counted and Window is zero.
	Busy bool
	// Slot is the call's slot when granted with a Concurrency limit, else 0.
	Slot int64
	// Window is the key's window after the take when granted, as it
	// stands when the rate refused; zero without RPM and TPM.
	Window RateWindow
}

// LimitService counts the limits of virtual keys in the store, so that
// several processes on one database count together: a key's limit is its
// limit whatever the number of processes. Each method is one atomic step
// of the store (TakeCall and EndCall on DynamoDB two, see TakeCall), exact
// under concurrency, holding nothing between calls and no lock shared by
// keys. Times are the caller's clock.
type LimitService interface {
	// TakeRate counts one request of tokens in the rate window of the key
	// named key. A window opened at or before now minus window is closed:
	// a new one opens at now. The request is taken only if the window then
	// holds at most rpm requests and tpm tokens (zero: no limit of that
	// kind). It returns the window after the take when granted, as it
	// stands when refused.
	TakeRate(ctx context.Context, key string, rpm, tpm, tokens int, window time.Duration, now time.Time) (w RateWindow, granted bool, err error)
	// SettleRate adds delta tokens (negative: gives them back) to the
	// key's window opened at opened, if that window is still the key's;
	// the count never goes below zero.
	SettleRate(ctx context.Context, key string, opened time.Time, delta int) error
	// AcquireSlot takes one of the key's limit slots of calls in flight
	// for holder, or returns ok false when limit slots are held by
	// holders whose lease is live at now.
	AcquireSlot(ctx context.Context, key string, limit int, holder string, now time.Time) (slot int64, ok bool, err error)
	// ReleaseSlot frees a slot; one already gone is no error.
	ReleaseSlot(ctx context.Context, slot int64) error
	// TakeCall is AcquireSlot and TakeRate of one call: the call gets one
	// of the key's c.Concurrency slots and is counted in its window
	// (c.RPM, c.TPM), or neither. A limit of zero is not checked (and,
	// for Concurrency, no slot is taken). SQLite and PostgreSQL take both
	// in one atomic step (PostgreSQL in one round trip); DynamoDB takes
	// the slot first and gives it back if the window refuses.
	TakeCall(ctx context.Context, key string, c CallLimits, holder string, now time.Time) (CallTaken, error)
	// EndCall is ReleaseSlot of slot (when not 0) and SettleRate of delta
	// tokens in the key's window opened at opened (when delta is not 0
	// and opened is not zero) as one step.
	EndCall(ctx context.Context, key string, slot int64, opened time.Time, delta int) error
	// RenewLease keeps holder's slots and budget holds counted until
	// until. Those of a holder whose lease lapsed (a crashed process)
	// count for nothing at once, and are deleted at the next renewal of
	// any holder, as of now. A lease made to lapse (until <= now) ends the
	// holder's slots and holds.
	RenewLease(ctx context.Context, holder string, now, until time.Time) error
}

// BudgetHoldService holds the worst case of budgeted calls in flight in
// the store, so that a budget holds across processes: each call's worst
// case is held until it settles, and checked against what the caller
// spent and every live hold, in one atomic step per call.
type BudgetHoldService interface {
	// HoldBudget holds worst of who's budget of limit US dollars in the
	// period that began at since, for holder (whose lease RenewLease
	// keeps). What who spent is the ledger's sum since since, read once
	// per caller and period, plus every hold settled in the period since.
	// The hold is granted when spent plus the live holds (of holders whose
	// lease is live at now) plus worst is at most limit; held is spent
	// plus the live holds, without worst, granted or not.
	HoldBudget(ctx context.Context, who Caller, since time.Time, limit, worst float64, holder string, now time.Time) (hold int64, held float64, granted bool, err error)
	// SettleHold ends a hold taken in the period that began at since: its
	// worst case no longer counts, and actual is added to what who spent
	// in that period (even if the hold had lapsed already: the call cost
	// it). Call it once per hold.
	SettleHold(ctx context.Context, hold int64, who Caller, since time.Time, actual float64) error
}
