package postgres

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.BudgetHoldService = (*DB)(nil)

// callerID names who in budget_spent and budget_holds.
func callerID(who claudebridge.Caller) string {
	if who.UserID != 0 {
		return "user:" + strconv.FormatInt(who.UserID, 10)
	}
	return "key:" + who.Key
}

// HoldBudget checks and holds worst of who's budget in one transaction,
// under the caller's advisory transaction lock (the check spans the
// caller's holds and its spending), sent with the holds and settles that
// came meanwhile (db.budget): under load one round trip holds and settles
// for many calls.
func (db *DB) HoldBudget(ctx context.Context, who claudebridge.Caller, since time.Time, limit, worst float64, holder string, now time.Time) (int64, float64, bool, error) {
	h := &budgetHold{who: who, caller: callerID(who), since: since, limit: limit, worst: worst, holder: holder, now: now}
	if err := db.budgetStep(ctx, budgetStep{hold: h}); err != nil {
		return 0, 0, false, internal("hold budget", err)
	}
	if h.id == nil {
		return 0, h.held, false, nil
	}
	return *h.id, h.held, true, nil
}

// budgetHold is a HoldBudget, and what its statement answered: the
// spending and holds it was checked against (held), and its hold.
type budgetHold struct {
	who          claudebridge.Caller
	caller       string // callerID(who)
	since        time.Time
	limit, worst float64
	holder       string
	now          time.Time

	held float64
	id   *int64
}

// SettleHold deletes the hold and adds actual to who's spending of the
// period, in one transaction (a hold's check sees both or neither), sent
// with the holds and settles that came meanwhile (db.budget).
func (db *DB) SettleHold(ctx context.Context, hold int64, who claudebridge.Caller, since time.Time, actual float64) error {
	s := &holdSettle{hold: hold, caller: callerID(who), since: since, actual: actual}
	return internal("settle hold", db.budgetStep(ctx, budgetStep{settle: s}))
}

// holdSettle is a SettleHold: the hold to delete and what its call cost.
type holdSettle struct {
	hold   int64
	caller string
	since  time.Time
	actual float64
}

// budgetStep is one HoldBudget (hold) or one SettleHold (settle). Both
// kinds go in one group, as a key's takes and ends do: a round trip
// carries both, in one transaction.
type budgetStep struct {
	hold   *budgetHold
	settle *holdSettle
}

func (s budgetStep) caller() string {
	if s.hold != nil {
		return s.hold.caller
	}
	return s.settle.caller
}

// kind orders a caller's steps: its settles before its holds.
func (s budgetStep) kind() int {
	if s.settle != nil {
		return 0
	}
	return 1
}

// budgetStep sends s with the steps that came meanwhile, and returns once
// the round trip that carried it returned.
func (db *DB) budgetStep(ctx context.Context, s budgetStep) error {
	return db.budget.do(s, func(steps []budgetStep) error {
		ctx, cancel := batchContext(ctx)
		defer cancel()
		return db.sendBudgetSteps(ctx, steps)
	})
}

// sendBudgetSteps is every step of steps in one round trip: a batch (one
// transaction) in the order of their callers, so that two processes'
// batches take the locks in one order. A caller with holds among them
// takes its advisory lock first; then its settles, in one statement per
// period (see queueSettles), so that its holds see what was settled; then
// its holds. A lock is held until the batch ends; each statement sees
// what was committed before the lock was granted and the steps before it.
func (db *DB) sendBudgetSteps(ctx context.Context, steps []budgetStep) error {
	slices.SortStableFunc(steps, func(a, b budgetStep) int {
		if c := strings.Compare(a.caller(), b.caller()); c != 0 {
			return c
		}
		return cmp.Compare(a.kind(), b.kind())
	})
	return db.batch(ctx, func(b *pgx.Batch) {
		var settles []*holdSettle // of the caller at hand
		var spentOf *budgetHold   // the hold before, whose period's spending is read
		for i, s := range steps {
			first := i == 0 || steps[i-1].caller() != s.caller()
			if first {
				spentOf = nil
				if holds(steps[i:], s.caller()) {
					b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('budget:' || $1::text, 0))`, s.caller())
				}
			}
			if s.settle != nil {
				settles = append(settles, s.settle)
				if i+1 == len(steps) || steps[i+1].settle == nil || steps[i+1].caller() != s.caller() {
					queueSettles(b, settles)
					settles = settles[:0]
				}
				continue
			}
			h := s.hold
			if spentOf == nil || !spentOf.since.Equal(h.since) {
				queueSpent(b, h)
			}
			spentOf = h
			b.Queue(`WITH s AS (SELECT spent FROM budget_spent WHERE caller = $1::text AND since = $2::timestamptz),
				h AS (SELECT coalesce(sum(b.amount), 0) AS held FROM budget_holds b JOIN lease_holders l ON l.holder = b.holder
					WHERE b.caller = $1::text AND l.expires_at > $3::timestamptz),
				ins AS (INSERT INTO budget_holds (caller, amount, holder) SELECT $1::text, $4::double precision, $5::text FROM s, h
					WHERE s.spent + h.held + $4::double precision <= $6::double precision RETURNING id)
				SELECT s.spent + h.held, (SELECT id FROM ins) FROM s, h`, h.caller, h.since, h.now, h.worst, h.holder, h.limit).
				QueryRow(func(r pgx.Row) error { return r.Scan(&h.held, &h.id) })
		}
	})
}

// holds reports whether a step of caller at the head of steps is a hold.
func holds(steps []budgetStep, caller string) bool {
	for _, s := range steps {
		if s.caller() != caller {
			break
		}
		if s.hold != nil {
			return true
		}
	}
	return false
}

// queueSpent queues the statements that make h's period's spending row
// (the earlier periods' dropped): the period's first hold reads the
// ledger, once; then each settled hold adds what it cost. A caller's holds
// of one period in a batch need them once.
func queueSpent(b *pgx.Batch, h *budgetHold) {
	ledgerSum := `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE key = $3::text AND time >= $2::timestamptz`
	var whoArg any = h.who.Key
	if h.who.UserID != 0 {
		ledgerSum, whoArg = `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE user_id = $3::bigint AND time >= $2::timestamptz`, h.who.UserID
	}
	b.Queue(`DELETE FROM budget_spent WHERE caller = $1 AND since < $2`, h.caller, h.since)
	b.Queue(`INSERT INTO budget_spent (caller, since, spent) SELECT $1::text, $2::timestamptz, (`+ledgerSum+`)
		WHERE NOT EXISTS (SELECT 1 FROM budget_spent WHERE caller = $1::text AND since = $2::timestamptz)`, h.caller, h.since, whoArg)
}

// queueSettles queues the settles of one caller: their holds deleted and
// what they cost added to each period's spending, one statement per
// period (a caller's holds in flight are mostly of one).
func queueSettles(b *pgx.Batch, settles []*holdSettle) {
	for i, s := range settles {
		if slices.ContainsFunc(settles[:i], func(o *holdSettle) bool { return o.since.Equal(s.since) }) {
			continue // settled with the first of its period
		}
		var ids []int64
		var actual float64
		for _, o := range settles[i:] {
			if o.since.Equal(s.since) {
				ids, actual = append(ids, o.hold), actual+o.actual
			}
		}
		b.Queue(`WITH d AS (DELETE FROM budget_holds WHERE id = ANY($1::bigint[]))
			UPDATE budget_spent SET spent = spent + $2 WHERE caller = $3 AND since = $4`, ids, actual, s.caller, s.since)
	}
}
