package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

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

// HoldBudget checks and holds worst of who's budget in one immediate
// transaction: SQLite's write lock, taken at its start, orders every
// process's holds on the file.
func (db *DB) HoldBudget(ctx context.Context, who claudebridge.Caller, since time.Time, limit, worst float64, holder string, now time.Time) (int64, float64, bool, error) {
	caller := callerID(who)
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, false, internal("hold budget", err)
	}
	defer tx.Rollback()
	var spent float64
	err = tx.QueryRowContext(ctx, `SELECT spent FROM budget_spent WHERE caller = ? AND since = ?`, caller, nanos(since)).Scan(&spent)
	if errors.Is(err, sql.ErrNoRows) {
		// The period's first hold: what the ledger has is the truth, read
		// once; then each settled hold adds what it cost.
		q := `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE key = ? AND time >= ?`
		var arg any = who.Key
		if who.UserID != 0 {
			q, arg = `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE user_id = ? AND time >= ?`, who.UserID
		}
		if err = tx.QueryRowContext(ctx, q, arg, nanos(since)).Scan(&spent); err != nil {
			return 0, 0, false, internal("hold budget", err)
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM budget_spent WHERE caller = ? AND since < ?`, caller, nanos(since)); err != nil {
			return 0, 0, false, internal("hold budget", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO budget_spent (caller, since, spent) VALUES (?, ?, ?)`, caller, nanos(since), spent)
	}
	if err != nil {
		return 0, 0, false, internal("hold budget", err)
	}
	var held float64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(h.amount), 0) FROM budget_holds h
		JOIN lease_holders l ON l.holder = h.holder WHERE h.caller = ? AND l.expires_at > ?`, caller, nanos(now)).Scan(&held); err != nil {
		return 0, 0, false, internal("hold budget", err)
	}
	held += spent
	if held+worst > limit {
		return 0, held, false, internal("hold budget", tx.Commit()) // the period's row, if new, is kept
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO budget_holds (caller, amount, holder) VALUES (?, ?, ?) RETURNING id`,
		caller, worst, holder).Scan(&id); err != nil {
		return 0, 0, false, internal("hold budget", err)
	}
	return id, held, true, internal("hold budget", tx.Commit())
}

// SettleHold deletes the hold and adds actual to who's spending of the
// period, in one transaction.
func (db *DB) SettleHold(ctx context.Context, hold int64, who claudebridge.Caller, since time.Time, actual float64) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("settle hold", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM budget_holds WHERE id = ?`, hold); err != nil {
		return internal("settle hold", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE budget_spent SET spent = spent + ? WHERE caller = ? AND since = ?`,
		actual, callerID(who), nanos(since)); err != nil {
		return internal("settle hold", err)
	}
	return internal("settle hold", tx.Commit())
}
