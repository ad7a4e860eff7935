package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.LimitService = (*DB)(nil)

// takeRate is one statement: INSERT ... ON CONFLICT DO UPDATE locks the
// key's row and judges its WHERE on the row's latest version, so
// concurrent takes of one key, from any process, queue on that row alone.
// The window is renewed when closed (opened at or before $4), counted into
// when the request fits; refused, no row comes back. The SELECT's WHERE
// keeps a first request over tpm out of a new row.
const takeRate = `INSERT INTO rate_windows AS w (key, opened, requests, tokens)
	SELECT $1::text, $2::timestamptz, 1, $3::bigint WHERE $6::bigint = 0 OR $3::bigint <= $6::bigint
	ON CONFLICT (key) DO UPDATE SET
		opened   = CASE WHEN w.opened <= $4 THEN $2::timestamptz ELSE w.opened END,
		requests = CASE WHEN w.opened <= $4 THEN 1 ELSE w.requests + 1 END,
		tokens   = CASE WHEN w.opened <= $4 THEN $3::bigint ELSE w.tokens + $3::bigint END
	WHERE (w.opened <= $4 AND ($6::bigint = 0 OR $3::bigint <= $6::bigint))
		OR (($5::integer = 0 OR w.requests < $5::integer) AND ($6::bigint = 0 OR w.tokens + $3::bigint <= $6::bigint))
	RETURNING opened, requests, tokens`

// TakeRate counts a request of tokens in key's window, if it fits.
func (db *DB) TakeRate(ctx context.Context, key string, rpm, tpm, tokens int, window time.Duration, now time.Time) (claudebridge.RateWindow, bool, error) {
	var w claudebridge.RateWindow
	err := db.counters.QueryRow(ctx, takeRate, key, now, tokens, now.Add(-window), rpm, tpm).Scan(&w.Opened, &w.Requests, &w.Tokens)
	if err == nil {
		w.Opened = utc(w.Opened)
		return w, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return w, false, internal("take rate", err)
	}
	// Refused: the window as it stands, for the answer's headers. Read
	// apart, so it may be a moment newer than the refusal.
	err = db.counters.QueryRow(ctx, `SELECT opened, requests, tokens FROM rate_windows WHERE key = $1`, key).Scan(&w.Opened, &w.Requests, &w.Tokens)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return claudebridge.RateWindow{Opened: now}, false, nil
	case err != nil:
		return w, false, internal("take rate", err)
	}
	w.Opened = utc(w.Opened)
	return w, false, nil
}

// SettleRate corrects the tokens of key's window opened at opened.
func (db *DB) SettleRate(ctx context.Context, key string, opened time.Time, delta int) error {
	_, err := db.counters.Exec(ctx, `UPDATE rate_windows SET tokens = greatest(0, tokens + $1) WHERE key = $2 AND opened = $3`,
		delta, key, opened)
	return internal("settle rate", err)
}

// AcquireSlot takes a slot of key's calls in flight if fewer than limit
// are held under live leases. The count spans the key's rows, so it is
// made under the key's advisory transaction lock: the INSERT's snapshot,
// taken once the lock is held, sees every slot taken before.
func (db *DB) AcquireSlot(ctx context.Context, key string, limit int, holder string, now time.Time) (int64, bool, error) {
	var id *int64
	err := db.batch(ctx, func(b *pgx.Batch) {
		b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('limit_slots:' || $1::text, 0))`, key)
		b.Queue(acquireSlot, key, holder, now, limit).QueryRow(func(r pgx.Row) error { return r.Scan(&id) })
	})
	if err != nil {
		return 0, false, internal("acquire slot", err)
	}
	if id == nil {
		return 0, false, nil
	}
	return *id, true, nil
}

// ReleaseSlot deletes a slot.
func (db *DB) ReleaseSlot(ctx context.Context, slot int64) error {
	_, err := db.counters.Exec(ctx, `DELETE FROM limit_slots WHERE id = $1`, slot)
	return internal("release slot", err)
}

// takeCall is AcquireSlot's count and insert and takeRate's upsert in one
// statement, run under the key's advisory transaction lock as AcquireSlot
// is: the window is counted into only when a slot is free (free), and the
// slot inserted only when the window took the request (rate), so the two
// are taken together or not at all. Refused by the window, the window comes
// back from the statement's snapshot (cur), which may be a moment older
// than the refusal.
const takeCall = `WITH free AS (
		SELECT (SELECT count(*) FROM limit_slots s JOIN lease_holders l ON l.holder = s.holder
			WHERE s.key = $1::text AND l.expires_at > $2::timestamptz) < $7::bigint AS ok),
	rate AS (
		INSERT INTO rate_windows AS w (key, opened, requests, tokens)
		SELECT $1::text, $2::timestamptz, 1, $3::bigint FROM free WHERE free.ok AND ($6::bigint = 0 OR $3::bigint <= $6::bigint)
		ON CONFLICT (key) DO UPDATE SET
			opened   = CASE WHEN w.opened <= $4 THEN $2::timestamptz ELSE w.opened END,
			requests = CASE WHEN w.opened <= $4 THEN 1 ELSE w.requests + 1 END,
			tokens   = CASE WHEN w.opened <= $4 THEN $3::bigint ELSE w.tokens + $3::bigint END
		WHERE (w.opened <= $4 AND ($6::bigint = 0 OR $3::bigint <= $6::bigint))
			OR (($5::integer = 0 OR w.requests < $5::integer) AND ($6::bigint = 0 OR w.tokens + $3::bigint <= $6::bigint))
		RETURNING opened, requests, tokens),
	slot AS (INSERT INTO limit_slots (key, holder) SELECT $1::text, $8::text FROM rate RETURNING id),
	cur AS (SELECT opened, requests, tokens FROM rate_windows WHERE key = $1::text)
	SELECT free.ok, (SELECT id FROM slot),
		coalesce((SELECT opened FROM rate), (SELECT opened FROM cur)),
		coalesce((SELECT requests FROM rate), (SELECT requests FROM cur)),
		coalesce((SELECT tokens FROM rate), (SELECT tokens FROM cur))
	FROM free`

// takeRateCall is takeRate with the window as it stands when refused
// (cur, from the statement's snapshot, which may be a moment older than
// the refusal): TakeRate's answer in one statement.
const takeRateCall = `WITH rate AS (` + takeRate + `),
	cur AS (SELECT opened, requests, tokens FROM rate_windows WHERE key = $1::text)
	SELECT EXISTS (SELECT 1 FROM rate),
		coalesce((SELECT opened FROM rate), (SELECT opened FROM cur)),
		coalesce((SELECT requests FROM rate), (SELECT requests FROM cur)),
		coalesce((SELECT tokens FROM rate), (SELECT tokens FROM cur))`

// acquireSlot is AcquireSlot's count and insert, run under the key's
// advisory transaction lock; no id comes back when every slot is taken.
const acquireSlot = `WITH ins AS (INSERT INTO limit_slots (key, holder) SELECT $1::text, $2::text
	WHERE (SELECT count(*) FROM limit_slots s JOIN lease_holders l ON l.holder = s.holder
		WHERE s.key = $1::text AND l.expires_at > $3) < $4::bigint
	RETURNING id) SELECT (SELECT id FROM ins)`

// TakeCall takes what the key's limits ask, in one round trip sent with
// the takes and ends of the calls that came meanwhile (db.steps): under
// load one round trip admits and ends many calls. With both kinds of
// limits that is the key's lock and takeCall; with a rate alone,
// takeRateCall; with a concurrency alone, acquireSlot.
func (db *DB) TakeCall(ctx context.Context, key string, c claudebridge.CallLimits, holder string, now time.Time) (claudebridge.CallTaken, error) {
	take := &callTake{key: key, c: c, holder: holder, now: now}
	if err := db.step(ctx, limitStep{take: take}); err != nil {
		return claudebridge.CallTaken{}, internal("take call", err)
	}
	window := claudebridge.RateWindow{Opened: now}
	if take.opened != nil {
		window = claudebridge.RateWindow{Opened: utc(*take.opened), Requests: *take.requests, Tokens: *take.tokens}
	}
	switch {
	case c.Concurrency == 0:
		return claudebridge.CallTaken{Granted: take.granted, Window: window}, nil
	case c.RPM == 0 && c.TPM == 0, !take.free:
		if take.slot == nil {
			return claudebridge.CallTaken{Busy: true}, nil
		}
		return claudebridge.CallTaken{Granted: true, Slot: *take.slot}, nil
	}
	t := claudebridge.CallTaken{Granted: take.slot != nil, Window: window}
	if take.slot != nil {
		t.Slot = *take.slot
	}
	return t, nil
}

// callTake is a TakeCall, and what its statement answered.
type callTake struct {
	key    string
	c      claudebridge.CallLimits
	holder string
	now    time.Time

	free             bool   // a slot was free (both kinds of limits)
	granted          bool   // the window took the request (a rate alone)
	slot             *int64 // the slot taken
	opened           *time.Time
	requests, tokens *int
}

// EndCall deletes the slot and corrects the window in one statement,
// sent with the takes and ends of the calls that came meanwhile
// (db.steps), and returns once that is committed.
func (db *DB) EndCall(ctx context.Context, key string, slot int64, opened time.Time, delta int) error {
	if delta == 0 || opened.IsZero() {
		if slot == 0 {
			return nil
		}
		delta = 0
	}
	return internal("end call", db.step(ctx, limitStep{end: &callEnd{key: key, slot: slot, opened: opened, delta: delta}}))
}

// callEnd is what EndCall ends: a slot (0: none) and a correction of delta
// tokens of key's window opened at opened (delta 0: none).
type callEnd struct {
	key    string
	slot   int64
	opened time.Time
	delta  int
}

// limitStep is one TakeCall (take) or one EndCall (end). Both kinds go in
// one group: a process's takes and ends of a key then run in one
// transaction rather than two at once that queue on the key's rows, and
// a round trip carries both.
type limitStep struct {
	take *callTake
	end  *callEnd
}

// kind orders a key's steps: its ends before its takes.
func (s limitStep) kind() int {
	if s.end != nil {
		return 0
	}
	return 1
}

func (s limitStep) key() string {
	if s.take != nil {
		return s.take.key
	}
	return s.end.key
}

// step sends s with the steps that came meanwhile, and returns once the
// round trip that carried it returned.
func (db *DB) step(ctx context.Context, s limitStep) error {
	return db.steps.do(s, func(steps []limitStep) error {
		ctx, cancel := batchContext(ctx)
		defer cancel()
		return db.sendSteps(ctx, steps)
	})
}

// sendSteps is every step of steps in one round trip: a batch (one
// transaction) in the order of their keys, so that two processes' batches
// take the locks in one order. A key's advisory lock comes before any of
// its rows when one of its takes counts slots (not for ends and rates
// alone: see countsSlots), so a key's steps in one batch lock as those of
// another batch do; then its ends, in one statement (see queueEnds), so
// that its takes find their slots free and their tokens given back; then
// its takes. Locks are held until the batch ends; each statement sees the
// steps before it.
func (db *DB) sendSteps(ctx context.Context, steps []limitStep) error {
	if len(steps) == 1 && steps[0].take != nil && steps[0].take.c.Concurrency == 0 {
		// Alone and one statement: no batch to build around it.
		t, c := steps[0].take, steps[0].take.c
		return db.counters.QueryRow(ctx, takeRateCall, t.key, t.now, c.Tokens, t.now.Add(-c.Window), c.RPM, c.TPM).
			Scan(&t.granted, &t.opened, &t.requests, &t.tokens)
	}
	slices.SortStableFunc(steps, func(a, b limitStep) int {
		if c := strings.Compare(a.key(), b.key()); c != 0 {
			return c
		}
		return cmp.Compare(a.kind(), b.kind())
	})
	return db.batch(ctx, func(b *pgx.Batch) {
		var ends []*callEnd // of the key at hand
		for i, s := range steps {
			if (i == 0 || steps[i-1].key() != s.key()) && countsSlots(steps[i:], s.key()) {
				b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('limit_slots:' || $1::text, 0))`, s.key())
			}
			if s.end != nil {
				ends = append(ends, s.end)
				if i+1 == len(steps) || steps[i+1].end == nil || steps[i+1].key() != s.key() {
					queueEnds(b, ends)
					ends = ends[:0]
				}
				continue
			}
			t, c := s.take, s.take.c
			switch {
			case c.Concurrency == 0:
				b.Queue(takeRateCall, t.key, t.now, c.Tokens, t.now.Add(-c.Window), c.RPM, c.TPM).
					QueryRow(func(r pgx.Row) error { return r.Scan(&t.granted, &t.opened, &t.requests, &t.tokens) })
			case c.RPM == 0 && c.TPM == 0:
				b.Queue(acquireSlot, t.key, t.holder, t.now, c.Concurrency).
					QueryRow(func(r pgx.Row) error { return r.Scan(&t.slot) })
			default:
				b.Queue(takeCall, t.key, t.now, c.Tokens, t.now.Add(-c.Window), c.RPM, c.TPM, c.Concurrency, t.holder).
					QueryRow(func(r pgx.Row) error { return r.Scan(&t.free, &t.slot, &t.opened, &t.requests, &t.tokens) })
			}
		}
	})
}

// countsSlots reports whether a take of key at the head of steps counts
// slots: the key's lock is then taken before any of its rows. Ends and
// takes of a rate alone need no lock: their statements lock the rows they
// change (a take of a rate alone the window's row, and it sees the takes
// before it once it has the row).
func countsSlots(steps []limitStep, key string) bool {
	for _, s := range steps {
		if s.key() != key {
			break
		}
		if s.take != nil && s.take.c.Concurrency != 0 {
			return true
		}
	}
	return false
}

// queueEnds queues the ends of one key: their slots deleted and each of
// their windows corrected by the sum of its ends' deltas, in one
// statement for the usual one window (a key's calls in flight are mostly
// of its current window). Summed, a window's corrections are clamped at
// zero once rather than after each.
func queueEnds(b *pgx.Batch, ends []*callEnd) {
	var slots []int64
	type correction struct {
		opened time.Time
		delta  int
	}
	var corrections []correction
	for _, e := range ends {
		if e.slot != 0 {
			slots = append(slots, e.slot)
		}
		if e.delta == 0 {
			continue
		}
		i := slices.IndexFunc(corrections, func(c correction) bool { return c.opened.Equal(e.opened) })
		if i < 0 {
			i = len(corrections)
			corrections = append(corrections, correction{opened: e.opened})
		}
		corrections[i].delta += e.delta
	}
	key := ends[0].key
	if len(corrections) == 0 {
		b.Queue(`DELETE FROM limit_slots WHERE id = ANY($1::bigint[])`, slots)
		return
	}
	b.Queue(`WITH d AS (DELETE FROM limit_slots WHERE id = ANY($1::bigint[]))
		UPDATE rate_windows SET tokens = greatest(0, tokens + $2) WHERE key = $3 AND opened = $4`,
		slots, corrections[0].delta, key, corrections[0].opened)
	for _, c := range corrections[1:] {
		b.Queue(`UPDATE rate_windows SET tokens = greatest(0, tokens + $1) WHERE key = $2 AND opened = $3`, c.delta, key, c.opened)
	}
}

// RenewLease sets holder's lease to until and deletes what holders whose
// lease lapsed by now held, in one transaction.
func (db *DB) RenewLease(ctx context.Context, holder string, now, until time.Time) error {
	return internal("renew lease", db.batch(ctx, func(b *pgx.Batch) {
		b.Queue(`INSERT INTO lease_holders (holder, expires_at) VALUES ($1, $2)
			ON CONFLICT (holder) DO UPDATE SET expires_at = excluded.expires_at`, holder, until)
		b.Queue(`DELETE FROM limit_slots WHERE holder IN (SELECT holder FROM lease_holders WHERE expires_at <= $1)`, now)
		b.Queue(`DELETE FROM budget_holds WHERE holder IN (SELECT holder FROM lease_holders WHERE expires_at <= $1)`, now)
		b.Queue(`DELETE FROM lease_holders WHERE expires_at <= $1`, now)
	}))
}

// batch sends b's statements in one round trip, as one transaction:
// pgx runs a batch in an implicit transaction (one Sync), so an advisory
// transaction lock its first statement takes holds until the last has
// run, and under READ COMMITTED each statement's snapshot is taken when
// it starts, after the lock was granted. A deadlock or serialization
// failure is tried again, as db.tx does.
func (db *DB) batch(ctx context.Context, queue func(b *pgx.Batch)) error {
	return retry(ctx, func() error {
		b := &pgx.Batch{} // a batch is sent once: each attempt queues anew
		queue(b)
		return db.counters.SendBatch(ctx, b).Close()
	})
}
