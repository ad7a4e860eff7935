package ledger

import (
	"context"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/cost"
	"github.com/claudebridge/claudebridge/metrics"
)

// Budget is what a caller may spend per period (a UTC day or month):
// each chat user (CHAT_BUDGET_USD, one Budget for them all, an account
// each) or a virtual key (its --budget-usd, a Budget of its own). It is
// enforced exactly under concurrency: a call reserves its worst case
// (cost.Table.WorstCase) before it is sent, and is refused when what the
// caller spent this period, plus every reservation in flight, plus its
// own would pass Limit; when it ends the reservation is replaced by what
// it cost. Reservation and check happen under one lock, so that no two
// calls can both take the last of a budget. What a caller spent before is
// read from the ledger once per period (Spent); this process's calls are
// added as they end, so one process's view is exact.
//
// With Holds, the same is kept in the store for every process on the
// database: each call's worst case is a hold there, checked in one atomic
// step against what the ledger said the caller spent this period, plus
// what the calls settled since cost, plus every live hold; a hold ends
// when its call settles, or when its process's lease lapses (a crash).
type Budget struct {
	Limit    float64
	Period   string // "day" or "month"
	Prices   *cost.Table
	Upstream string
	// Spent reads what who spent since since (SpentBy: the ledger's
	// SpentByUser or SpentByKey).
	Spent func(ctx context.Context, who claudebridge.Caller, since time.Time) (float64, error)
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Holds, when set, keeps the reservations and what settled calls
	// cost in the store, shared by every process (Spent is then unused);
	// Holder is this process's lease there (limits.Lease), which keeps
	// its holds counted. Nil: in this process's memory.
	Holds  claudebridge.BudgetHoldService
	Holder string

	mu       sync.Mutex
	accounts map[claudebridge.Caller]*account
}

// SpentBy reads a caller's spending from the ledger: a chat user's by its
// id, else a key's by its name.
func SpentBy(l claudebridge.LedgerService) func(context.Context, claudebridge.Caller, time.Time) (float64, error) {
	return func(ctx context.Context, who claudebridge.Caller, since time.Time) (float64, error) {
		if who.UserID != 0 {
			return l.SpentByUser(ctx, who.UserID, since)
		}
		return l.SpentByKey(ctx, who.Key, since)
	}
}

type account struct {
	since    time.Time // the period's start
	spent    float64   // settled, this period
	reserved float64   // in flight, at their worst case
}

func (b *Budget) now() time.Time {
	if b.Now != nil {
		return b.Now().UTC()
	}
	return time.Now().UTC()
}

// PeriodStart is the start of the budget period ("day", else a month)
// that t is in, in UTC.
func PeriodStart(period string, t time.Time) time.Time {
	t = t.UTC()
	if period == "day" {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Reserve takes worst from who's budget, or refuses with
// cost.BudgetExceeded. settle, called once when the call ends, puts back
// the reservation and adds what the call cost; later calls do nothing.
func (b *Budget) Reserve(ctx context.Context, who claudebridge.Caller, worst float64) (settle func(actual float64), err error) {
	if b.Holds != nil {
		return b.hold(ctx, who, worst)
	}
	since := PeriodStart(b.Period, b.now())
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.accounts == nil {
		b.accounts = map[claudebridge.Caller]*account{}
	}
	a := b.accounts[who]
	if a == nil || a.since.Before(since) {
		// A new period: what the ledger has is the truth. Read under the
		// lock: once per caller and period.
		spent, err := b.Spent(ctx, who, since)
		if err != nil {
			return nil, err
		}
		reserved := 0.0
		if a != nil {
			reserved = a.reserved
		}
		a = &account{since: since, spent: spent, reserved: reserved}
		b.accounts[who] = a
	}
	if a.spent+a.reserved+worst > b.Limit {
		return nil, cost.BudgetExceeded(whose(who), a.spent+a.reserved, b.Limit, b.Period)
	}
	a.reserved += worst
	var once sync.Once
	return func(actual float64) {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			a.reserved -= worst
			a.spent += actual
		})
	}, nil
}

// hold is Reserve in the store.
func (b *Budget) hold(ctx context.Context, who claudebridge.Caller, worst float64) (func(float64), error) {
	now := b.now()
	since := PeriodStart(b.Period, now)
	id, held, ok, err := b.Holds.HoldBudget(ctx, who, since, b.Limit, worst, b.Holder, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, cost.BudgetExceeded(whose(who), held, b.Limit, b.Period)
	}
	// Settled when the call ends, whether or not its client stayed: a
	// settlement the store fails leaves the worst case held until this
	// process's lease ends, never less than the call cost.
	settleCtx := context.WithoutCancel(ctx)
	var once sync.Once
	return func(actual float64) {
		once.Do(func() {
			c, cancel := context.WithTimeout(settleCtx, 10*time.Second)
			defer cancel()
			_ = b.Holds.SettleHold(c, id, who, since, actual)
		})
	}, nil
}

func whose(who claudebridge.Caller) string {
	if who.UserID != 0 {
		return "this user"
	}
	return "this key"
}

// ReserveCall reserves the worst case of a call of model with this body
// and max_tokens (cost.Table.WorstCase at Prices and Upstream) from who's
// budget, or refuses with cost.BudgetExceeded. settle, called when the
// call ends, prices its usage as the ledger does; only its first call
// counts.
func (b *Budget) ReserveCall(ctx context.Context, who claudebridge.Caller, model string, body []byte, maxTokens int) (settle func(claudebridge.Usage), err error) {
	s, err := b.Reserve(ctx, who, b.Prices.WorstCase(model, b.Upstream, body, maxTokens))
	if err != nil {
		return nil, err
	}
	return func(u claudebridge.Usage) { s(b.Prices.Cost(model, b.Upstream, u, false)) }, nil
}

// CallBudget reserves a call's worst case from a caller's budget, or
// refuses the call; settle charges what the call cost instead. *Budget is
// one, and so is a virtual key's budget (limits.Budget).
type CallBudget interface {
	ReserveCall(ctx context.Context, who claudebridge.Caller, model string, body []byte, maxTokens int) (settle func(claudebridge.Usage), err error)
}

// Budgeted is an Upstream whose calls are held to the budget For gives
// their caller (claudebridge.CallerFrom): each chat user's for the chat.
// (A key's Message Batches are held to its budget with its other limits,
// by limits.Paced.) Calls For gives none pass.
type Budgeted struct {
	Next claudebridge.Upstream
	// For returns the budget that holds who's calls; nil: none does.
	For func(who claudebridge.Caller) CallBudget
}

var _ claudebridge.Upstream = (*Budgeted)(nil)

func (u *Budgeted) reserve(ctx context.Context, r *claudebridge.Request) (func(claudebridge.Usage), error) {
	who := claudebridge.CallerFrom(ctx)
	b := u.For(who)
	if b == nil {
		return func(claudebridge.Usage) {}, nil
	}
	maxTokens := 0
	if raw, ok := r.Fields["max_tokens"]; ok {
		maxTokens = atoi(raw)
	}
	return b.ReserveCall(ctx, who, r.Model, r.JSON(), maxTokens)
}

// Users is Budgeted's For of a budget that holds each chat user: calls of
// no user pass.
func Users(b *Budget) func(claudebridge.Caller) CallBudget {
	return func(who claudebridge.Caller) CallBudget {
		if who.UserID == 0 {
			return nil
		}
		return b
	}
}

func atoi(raw []byte) int {
	n := 0
	for _, c := range raw {
		if c < '0' || c > '9' {
			return n
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// Messages reserves, calls Next, and settles with the answer's usage.
func (u *Budgeted) Messages(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
	settle, err := u.reserve(ctx, r)
	if err != nil {
		return nil, err
	}
	resp, err := u.Next.Messages(ctx, r)
	var usage claudebridge.Usage
	if resp != nil {
		usage = resp.Usage
	}
	settle(usage)
	return resp, err
}

// Stream reserves, and settles when the stream ends with the usage its
// events gave. A stream cut before message_delta settles with
// message_start's counts: its output is what the chat counts from the
// text into the ledger, which the next period's reading sees.
func (u *Budgeted) Stream(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
	settle, err := u.reserve(ctx, r)
	if err != nil {
		return nil, err
	}
	s, err := u.Next.Stream(ctx, r)
	if err != nil {
		settle(claudebridge.Usage{})
		return nil, err
	}
	return &settling{Stream: s, settle: settle}, nil
}

// CountTokens costs nothing.
func (u *Budgeted) CountTokens(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
	return u.Next.CountTokens(ctx, r)
}

// Models costs nothing.
func (u *Budgeted) Models(ctx context.Context) ([]claudebridge.Model, error) {
	return u.Next.Models(ctx)
}

// Ready forwards to Next when it can tell its readiness; else it is ready.
func (u *Budgeted) Ready(ctx context.Context) error {
	if r, ok := u.Next.(claudebridge.Readier); ok {
		return r.Ready(ctx)
	}
	return nil
}

// settling is a stream that settles its reservation once, at its end.
type settling struct {
	claudebridge.Stream
	settle func(claudebridge.Usage)
	mu     sync.Mutex
	tally  metrics.Tally
	ended  bool
}

func (s *settling) Next() (claudebridge.Event, error) {
	ev, err := s.Stream.Next()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.tally.Event(ev.Type, ev.Data)
	} else { // io.EOF or a failure
		s.endLocked()
	}
	return ev, err
}

func (s *settling) Close() error {
	s.mu.Lock()
	s.endLocked()
	s.mu.Unlock()
	return s.Stream.Close()
}

func (s *settling) endLocked() {
	if !s.ended {
		s.ended = true
		s.settle(s.tally.Usage)
	}
}

// Unkept is the budget of a virtual key while no ledger is kept
// (LEDGER=off): a budget is checked against what the ledger says was
// spent, and without one it cannot hold, so every call of the key is
// refused (EPERMISSION: no retry helps; the operator must turn the ledger
// on, or give the calls a key without a budget).
type Unkept struct{}

// ReserveCall refuses the call.
func (Unkept) ReserveCall(context.Context, claudebridge.Caller, string, []byte, int) (func(claudebridge.Usage), error) {
	return nil, claudebridge.Errorf(claudebridge.EPERMISSION,
		"This API key has a budget, and this server keeps no ledger to hold it to (LEDGER=off): its calls are refused until the ledger is on")
}
