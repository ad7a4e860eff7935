package postgres

import (
	"context"
	"strconv"
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
// caller's holds and its spending): one batch (db.batch) of the lock and
// the three statements, each of which sees what was committed before the
// lock was granted.
func (db *DB) HoldBudget(ctx context.Context, who claudebridge.Caller, since time.Time, limit, worst float64, holder string, now time.Time) (int64, float64, bool, error) {
	caller := callerID(who)
	// The period's first hold reads the ledger, once; then each settled
	// hold adds what it cost.
	ledgerSum := `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE key = $3::text AND time >= $2::timestamptz`
	var whoArg any = who.Key
	if who.UserID != 0 {
		ledgerSum, whoArg = `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE user_id = $3::bigint AND time >= $2::timestamptz`, who.UserID
	}
	var id *int64
	var held float64
	err := db.batch(ctx, func(b *pgx.Batch) {
		b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('budget:' || $1::text, 0))`, caller)
		b.Queue(`DELETE FROM budget_spent WHERE caller = $1 AND since < $2`, caller, since)
		b.Queue(`INSERT INTO budget_spent (caller, since, spent) SELECT $1::text, $2::timestamptz, (`+ledgerSum+`)
			WHERE NOT EXISTS (SELECT 1 FROM budget_spent WHERE caller = $1::text AND since = $2::timestamptz)`, caller, since, whoArg)
		b.Queue(`WITH s AS (SELECT spent FROM budget_spent WHERE caller = $1::text AND since = $2::timestamptz),
			h AS (SELECT coalesce(sum(b.amount), 0) AS held FROM budget_holds b JOIN lease_holders l ON l.holder = b.holder
				WHERE b.caller = $1::text AND l.expires_at > $3::timestamptz),
			ins AS (INSERT INTO budget_holds (caller, amount, holder) SELECT $1::text, $4::double precision, $5::text FROM s, h
				WHERE s.spent + h.held + $4::double precision <= $6::double precision RETURNING id)
			SELECT s.spent + h.held, (SELECT id FROM ins) FROM s, h`, caller, since, now, worst, holder, limit).
			QueryRow(func(r pgx.Row) error { return r.Scan(&held, &id) })
	})
	if err != nil {
		return 0, 0, false, internal("hold budget", err)
	}
	if id == nil {
		return 0, held, false, nil
	}
	return *id, held, true, nil
}

// SettleHold deletes the hold and adds actual to who's spending of the
// period, in one transaction: a hold's check sees both or neither.
func (db *DB) SettleHold(ctx context.Context, hold int64, who claudebridge.Caller, since time.Time, actual float64) error {
	return internal("settle hold", db.batch(ctx, func(b *pgx.Batch) {
		b.Queue(`DELETE FROM budget_holds WHERE id = $1`, hold)
		b.Queue(`UPDATE budget_spent SET spent = spent + $1 WHERE caller = $2 AND since = $3`, actual, callerID(who), since)
	}))
}
