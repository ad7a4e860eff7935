package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.LimitService = (*DB)(nil)

// takeRate is one statement, so one write of the one writer (SQLite's lock
// orders the writers of every process on the file): the window is renewed
// when closed, and counted into when the request fits. Refused, no row
// comes back. The SELECT's WHERE keeps a first request over tpm out of a
// new row (and lets SQLite parse the upsert of an INSERT ... SELECT).
const takeRate = `INSERT INTO rate_windows (key, opened, requests, tokens)
	SELECT ?1, ?2, 1, ?3 WHERE ?6 = 0 OR ?3 <= ?6
	ON CONFLICT (key) DO UPDATE SET
		opened   = CASE WHEN opened <= ?2 - ?4 THEN ?2 ELSE opened END,
		requests = CASE WHEN opened <= ?2 - ?4 THEN 1 ELSE requests + 1 END,
		tokens   = CASE WHEN opened <= ?2 - ?4 THEN ?3 ELSE tokens + ?3 END
	WHERE (opened <= ?2 - ?4 AND (?6 = 0 OR ?3 <= ?6))
		OR ((?5 = 0 OR requests < ?5) AND (?6 = 0 OR tokens + ?3 <= ?6))
	RETURNING opened, requests, tokens`

// TakeRate counts a request of tokens in key's window, if it fits.
func (db *DB) TakeRate(ctx context.Context, key string, rpm, tpm, tokens int, window time.Duration, now time.Time) (claudebridge.RateWindow, bool, error) {
	var w claudebridge.RateWindow
	var opened int64
	err := db.ws.QueryRowContext(ctx, takeRate, key, nanos(now), tokens, int64(window), rpm, tpm).Scan(&opened, &w.Requests, &w.Tokens)
	if err == nil {
		w.Opened = fromNanos(opened)
		return w, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return w, false, internal("take rate", err)
	}
	// Refused: the window as it stands, for the answer's headers. Read
	// apart, so it may be a moment newer than the refusal.
	err = db.rs.QueryRowContext(ctx, `SELECT opened, requests, tokens FROM rate_windows WHERE key = ?`, key).Scan(&opened, &w.Requests, &w.Tokens)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return claudebridge.RateWindow{Opened: now}, false, nil
	case err != nil:
		return w, false, internal("take rate", err)
	}
	w.Opened = fromNanos(opened)
	return w, false, nil
}

// SettleRate corrects the tokens of key's window opened at opened.
func (db *DB) SettleRate(ctx context.Context, key string, opened time.Time, delta int) error {
	_, err := db.ws.ExecContext(ctx, `UPDATE rate_windows SET tokens = max(0, tokens + ?) WHERE key = ? AND opened = ?`,
		delta, key, nanos(opened))
	return internal("settle rate", err)
}

// AcquireSlot takes a slot of key's calls in flight if fewer than limit
// are held under live leases: one statement, so the count and the insert
// are one step.
func (db *DB) AcquireSlot(ctx context.Context, key string, limit int, holder string, now time.Time) (int64, bool, error) {
	var id int64
	err := db.ws.QueryRowContext(ctx, `INSERT INTO limit_slots (key, holder) SELECT ?1, ?2
		WHERE (SELECT count(*) FROM limit_slots s JOIN lease_holders l ON l.holder = s.holder
			WHERE s.key = ?1 AND l.expires_at > ?3) < ?4
		RETURNING id`, key, holder, nanos(now), limit).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, internal("acquire slot", err)
	}
	return id, true, nil
}

// ReleaseSlot deletes a slot.
func (db *DB) ReleaseSlot(ctx context.Context, slot int64) error {
	_, err := db.ws.ExecContext(ctx, `DELETE FROM limit_slots WHERE id = ?`, slot)
	return internal("release slot", err)
}

// RenewLease sets holder's lease to until and deletes what holders whose
// lease lapsed by now held, in one transaction.
func (db *DB) RenewLease(ctx context.Context, holder string, now, until time.Time) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("renew lease", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO lease_holders (holder, expires_at) VALUES (?, ?)
		ON CONFLICT (holder) DO UPDATE SET expires_at = excluded.expires_at`, holder, nanos(until)); err != nil {
		return internal("renew lease", err)
	}
	for _, q := range []string{
		`DELETE FROM limit_slots WHERE holder IN (SELECT holder FROM lease_holders WHERE expires_at <= ?)`,
		`DELETE FROM budget_holds WHERE holder IN (SELECT holder FROM lease_holders WHERE expires_at <= ?)`,
		`DELETE FROM lease_holders WHERE expires_at <= ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, nanos(now)); err != nil {
			return internal("renew lease", err)
		}
	}
	return internal("renew lease", tx.Commit())
}
