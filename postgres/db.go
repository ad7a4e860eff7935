// Package postgres stores everything claudebridge keeps (users and
// sessions, conversations and messages, prompts, keys, the ledger,
// batches) in PostgreSQL, through pgx, so that several serve processes
// share one database. It implements the store interfaces of package
// claudebridge, as package sqlite does; nothing above it knows the engine.
//
// The database is named by a libpq URL or keyword string, and the PG*
// variables fill what it leaves out (pgx's ParseConfig). The pool is sized
// by the URL's pool_max_conns (pgxpool's convention; default 4 per CPU,
// at least 8 here); every other query parameter pgx does not know is sent
// to the server as a run-time setting, so statement_timeout=... in the URL
// sets the statements' timeout (default 30s here).
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/claudebridge/claudebridge"
)

// DB is an open PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool
	// counters is a pool of its own for the limits' windows, slots and
	// budget holds, whose commits do not wait for the disk
	// (synchronous_commit off): those rows only matter while their calls
	// run, so a crash of the database may lose their last moments, never
	// their consistency, and a call does not wait on a flush for each.
	// What was spent (the ledger) stays on pool, durable.
	counters *pgxpool.Pool
	steps    group[limitStep]  // TakeCalls and EndCalls sent together
	budget   group[budgetStep] // HoldBudgets and SettleHolds sent together
}

var _ claudebridge.Store = (*DB)(nil)

// defaultStatementTimeout bounds a statement when the URL does not: a
// query stuck behind a lock fails instead of holding a request forever.
const defaultStatementTimeout = "30s"

// Open connects to the database of url and brings its schema up to date.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's errors may quote the URL, password included.
		return nil, errors.New("postgres: the database URL cannot be parsed (see DATABASE_URL in README)")
	}
	if _, set := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !set {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = defaultStatementTimeout
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "claudebridge"
	}
	if !hasParam(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	fast := cfg.Copy()
	fast.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	counters, err := pgxpool.NewWithConfig(ctx, fast)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{pool: pool, counters: counters}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: migrating: %w", err)
	}
	return db, nil
}

// hasParam reports whether the URL or keyword string sets name.
func hasParam(url, name string) bool {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return false
	}
	_, ok := cfg.RuntimeParams[name]
	return ok
}

// Close closes the pools.
func (db *DB) Close() error {
	db.counters.Close()
	db.pool.Close()
	return nil
}

// maxAttempts bounds the retries of a transaction that lost a
// serialization or deadlock race.
const maxAttempts = 5

// tx runs f in a transaction, again (up to maxAttempts in all) when it
// fails with a serialization failure or a deadlock, which PostgreSQL
// reports so that the client retries.
func (db *DB) tx(ctx context.Context, opts pgx.TxOptions, f func(pgx.Tx) error) error {
	return retry(ctx, func() error { return pgx.BeginTxFunc(ctx, db.pool, opts, f) })
}

// retry calls attempt until it succeeds, fails with an error that is not
// retryable, or has been called maxAttempts times, waiting a little longer
// after each failure.
func retry(ctx context.Context, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		if err == nil || n == maxAttempts || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(n) * 5 * time.Millisecond):
		}
	}
}

// retryable reports a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// isUnique reports a unique constraint violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// isForeignKey reports a foreign key violation.
func isForeignKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// now is the time stored for a change: UTC, to the microsecond, which is
// what timestamptz keeps, so that what a method fills in is what reading
// back gives.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// utc is a time read back from the database, as the store returns times.
func utc(t time.Time) time.Time { return t.UTC() }

func notFound(what string) error {
	return claudebridge.Errorf(claudebridge.ENOTFOUND, "%s not found", what)
}

// internal wraps a database failure: its text stays in logs, the client
// sees "Internal server error".
func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *claudebridge.Error
	if errors.As(err, &e) {
		return err
	}
	// Text PostgreSQL cannot hold comes from the client (a title, a
	// search, an import): SQLite stores it, PostgreSQL refuses it.
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "22021" {
		return claudebridge.Errorf(claudebridge.EINVALID, "text: must be UTF-8 without the NUL character")
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
