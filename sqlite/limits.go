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
	err := db.ws.QueryRowContext(ctx, acquireSlot, key, holder, nanos(now), limit).Scan(&id)
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

// acquireSlot is AcquireSlot's one statement: the count and the insert.
const acquireSlot = `INSERT INTO limit_slots (key, holder) SELECT ?1, ?2
	WHERE (SELECT count(*) FROM limit_slots s JOIN lease_holders l ON l.holder = s.holder
		WHERE s.key = ?1 AND l.expires_at > ?3) < ?4
	RETURNING id`

// TakeCall takes the slot and counts the request in one immediate
// transaction, so that no other writer sees the slot without the request;
// with one kind of limit it is AcquireSlot or TakeRate.
func (db *DB) TakeCall(ctx context.Context, key string, c claudebridge.CallLimits, holder string, now time.Time) (claudebridge.CallTaken, error) {
	switch {
	case c.Concurrency == 0:
		w, ok, err := db.TakeRate(ctx, key, c.RPM, c.TPM, c.Tokens, c.Window, now)
		return claudebridge.CallTaken{Granted: ok, Window: w}, err
	case c.RPM == 0 && c.TPM == 0:
		slot, ok, err := db.AcquireSlot(ctx, key, c.Concurrency, holder, now)
		return claudebridge.CallTaken{Granted: ok, Busy: !ok && err == nil, Slot: slot}, err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return claudebridge.CallTaken{}, internal("take call", err)
	}
	defer tx.Rollback()
	var slot, opened int64
	err = tx.QueryRowContext(ctx, acquireSlot, key, holder, nanos(now), c.Concurrency).Scan(&slot)
	if errors.Is(err, sql.ErrNoRows) {
		return claudebridge.CallTaken{Busy: true}, nil
	}
	if err != nil {
		return claudebridge.CallTaken{}, internal("take call", err)
	}
	var w claudebridge.RateWindow
	err = tx.QueryRowContext(ctx, takeRate, key, nanos(now), c.Tokens, int64(c.Window), c.RPM, c.TPM).Scan(&opened, &w.Requests, &w.Tokens)
	if errors.Is(err, sql.ErrNoRows) {
		// Refused: the slot is rolled back, the window read as it stands.
		w = claudebridge.RateWindow{Opened: now}
		err = tx.QueryRowContext(ctx, `SELECT opened, requests, tokens FROM rate_windows WHERE key = ?`, key).Scan(&opened, &w.Requests, &w.Tokens)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return claudebridge.CallTaken{Window: w}, nil
		case err != nil:
			return claudebridge.CallTaken{}, internal("take call", err)
		}
		w.Opened = fromNanos(opened)
		return claudebridge.CallTaken{Window: w}, nil
	}
	if err != nil {
		return claudebridge.CallTaken{}, internal("take call", err)
	}
	w.Opened = fromNanos(opened)
	if err := tx.Commit(); err != nil {
		return claudebridge.CallTaken{}, internal("take call", err)
	}
	return claudebridge.CallTaken{Granted: true, Slot: slot, Window: w}, nil
}

// EndCall deletes the slot and corrects the window in one transaction.
func (db *DB) EndCall(ctx context.Context, key string, slot int64, opened time.Time, delta int) error {
	settle := delta != 0 && !opened.IsZero()
	switch {
	case !settle && slot == 0:
		return nil
	case !settle:
		return db.ReleaseSlot(ctx, slot)
	case slot == 0:
		return db.SettleRate(ctx, key, opened, delta)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("end call", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM limit_slots WHERE id = ?`, slot); err != nil {
		return internal("end call", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rate_windows SET tokens = max(0, tokens + ?) WHERE key = ? AND opened = ?`,
		delta, key, nanos(opened)); err != nil {
		return internal("end call", err)
	}
	return internal("end call", tx.Commit())
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
