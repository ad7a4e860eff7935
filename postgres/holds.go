package postgres

import (
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
// caller's holds and its spending), sent with the holds that came
// meanwhile (db.holds): under load one round trip holds for many calls.
func (db *DB) HoldBudget(ctx context.Context, who claudebridge.Caller, since time.Time, limit, worst float64, holder string, now time.Time) (int64, float64, bool, error) {
	h := &budgetHold{who: who, caller: callerID(who), since: since, limit: limit, worst: worst, holder: holder, now: now}
	err := db.holds.do(h, func(holds []*budgetHold) error {
		ctx, cancel := batchContext(ctx)
		defer cancel()
		return db.holdBudgets(ctx, holds)
	})
	if err != nil {
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

// holdBudgets is every hold of holds in one round trip: a batch (one
// transaction) of each caller's advisory lock and each hold's three
// statements, in the order of their callers, so that two processes'
// batches take the locks in one order. A caller's lock is held until the
// batch ends; each statement sees what was committed before the lock was
// granted and the holds before it in the batch.
func (db *DB) holdBudgets(ctx context.Context, holds []*budgetHold) error {
	slices.SortStableFunc(holds, func(a, b *budgetHold) int { return strings.Compare(a.caller, b.caller) })
	return db.batch(ctx, func(b *pgx.Batch) {
		for i, h := range holds {
			if i == 0 || holds[i-1].caller != h.caller {
				b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('budget:' || $1::text, 0))`, h.caller)
			}
			// The period's first hold reads the ledger, once; then each
			// settled hold adds what it cost.
			ledgerSum := `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE key = $3::text AND time >= $2::timestamptz`
			var whoArg any = h.who.Key
			if h.who.UserID != 0 {
				ledgerSum, whoArg = `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE user_id = $3::bigint AND time >= $2::timestamptz`, h.who.UserID
			}
			b.Queue(`DELETE FROM budget_spent WHERE caller = $1 AND since < $2`, h.caller, h.since)
			b.Queue(`INSERT INTO budget_spent (caller, since, spent) SELECT $1::text, $2::timestamptz, (`+ledgerSum+`)
				WHERE NOT EXISTS (SELECT 1 FROM budget_spent WHERE caller = $1::text AND since = $2::timestamptz)`, h.caller, h.since, whoArg)
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

// SettleHold deletes the hold and adds actual to who's spending of the
// period, in one transaction (a hold's check sees both or neither), sent
// with the settles that came meanwhile (db.settles).
func (db *DB) SettleHold(ctx context.Context, hold int64, who claudebridge.Caller, since time.Time, actual float64) error {
	return internal("settle hold", db.settles.do(holdSettle{hold: hold, caller: callerID(who), since: since, actual: actual}, func(settles []holdSettle) error {
		ctx, cancel := batchContext(ctx)
		defer cancel()
		return db.settleHolds(ctx, settles)
	}))
}

// holdSettle is a SettleHold: the hold to delete and what its call cost.
type holdSettle struct {
	hold   int64
	caller string
	since  time.Time
	actual float64
}

// settleHolds is every settle of settles in one round trip: a batch (one
// transaction), in the order of their callers, so that two processes'
// batches lock the spending's rows in one order.
func (db *DB) settleHolds(ctx context.Context, settles []holdSettle) error {
	slices.SortFunc(settles, func(a, b holdSettle) int { return strings.Compare(a.caller, b.caller) })
	return db.batch(ctx, func(b *pgx.Batch) {
		for _, s := range settles {
			b.Queue(`DELETE FROM budget_holds WHERE id = $1`, s.hold)
			b.Queue(`UPDATE budget_spent SET spent = spent + $1 WHERE caller = $2 AND since = $3`, s.actual, s.caller, s.since)
		}
	})
}
