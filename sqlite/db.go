// Package sqlite stores conversations, messages, prompts, usage and users in
// one SQLite file (modernc.org/sqlite: pure Go, no cgo). It implements the
// store interfaces of package claudebridge; nothing above it knows the engine.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/claudebridge/claudebridge"
)

// DB is an open database. Writes go through one connection (SQLite has one
// writer at a time; queuing them in the pool is cheaper than busy retries),
// reads through a small pool of their own, which WAL lets run beside the
// writer.
type DB struct {
	w  *sql.DB // the one writer
	r  *sql.DB // readers
	ws *stmts  // the writer's prepared statements
	rs *stmts  // the readers' prepared statements
}

var (
	_ claudebridge.ConversationService = (*DB)(nil)
	_ claudebridge.PromptService       = (*DB)(nil)
	_ claudebridge.UsageService        = (*DB)(nil)
	_ claudebridge.UserService         = (*DB)(nil)
)

// Open opens (creating if needed) the database file at path and brings its
// schema up to date. The file is in WAL mode with synchronous=NORMAL (a
// crash of the machine may lose the last transactions, never corrupt the
// file), a 5 s busy timeout, and foreign keys enforced.
func Open(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(5000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db := &DB{w: w}
	if err := db.migrate(context.Background()); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: migrating %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	db.r = r
	db.ws, db.rs = &stmts{db: w}, &stmts{db: r}
	return db, nil
}

// createPrivate creates the database file readable by its owner only, or
// takes those rights from an existing one: it holds password hashes,
// sessions and every conversation. SQLite gives its -wal and -shm files
// the database file's mode.
func createPrivate(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return os.Chmod(path, 0o600)
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	db.ws.close()
	db.rs.close()
	return errors.Join(db.r.Close(), db.w.Close())
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// now is the time stored for a change: UTC, to the nanosecond, so that the
// order of two changes in the same millisecond is kept.
func now() time.Time { return time.Now().UTC() }

// nanos is t in Unix nanoseconds, the times' column type. Outside what an
// int64 holds (before 1678, after 2262: the zero time of "since ever")
// UnixNano is undefined, so those are the least and the greatest.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(earliestNanos):
		return math.MinInt64
	case t.After(latestNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var earliestNanos, latestNanos = time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

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
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

var _ claudebridge.Store = (*DB)(nil)
