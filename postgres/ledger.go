package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.LedgerService = (*DB)(nil)

// ledgerColumns are the columns AppendLedger fills, in the order of
// ledgerRow's values.
var ledgerColumns = []string{"time", "day", "request_id", "key", "user_id", "model", "upstream", "door",
	"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
	"counted_output_tokens", "cost_usd", "price_version", "latency", "first_token", "status"}

// AppendLedger stores entries with one COPY: a single statement, so all
// or none, and one round trip for the writer's batches of a few hundred
// rows, where an INSERT per row would make one each.
func (db *DB) AppendLedger(ctx context.Context, entries []claudebridge.LedgerEntry) error {
	if len(entries) == 0 {
		return nil
	}
	_, err := db.pool.CopyFrom(ctx, pgx.Identifier{"ledger"}, ledgerColumns,
		pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) { return ledgerRow(&entries[i]), nil }))
	return internal("append ledger", err)
}

// ledgerRow is e's values for ledgerColumns. The day is the UTC date of
// its time; a user id of 0 (the API doors) is NULL.
func ledgerRow(e *claudebridge.LedgerEntry) []any {
	t := e.Time.UTC()
	var user *int64
	if e.UserID != 0 {
		user = &e.UserID
	}
	return []any{t, t, e.RequestID, e.Key, user, e.Model, e.Upstream, e.Door,
		e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWrite5mTokens, e.CacheWrite1hTokens,
		e.CountedOutputTokens, e.CostUSD, e.PriceVersion, e.Latency, e.FirstToken, e.Status}
}

// ledgerGroups are the ledger's expressions of each grouping: fixed text,
// never the caller's. A day reads as YYYY-MM-DD whatever the DateStyle.
var ledgerGroups = map[claudebridge.LedgerGroup]string{
	claudebridge.ByKey:   "l.key",
	claudebridge.ByUser:  "coalesce(u.name, '')",
	claudebridge.ByModel: "l.model",
	claudebridge.ByDay:   "to_char(l.day, 'YYYY-MM-DD')",
}

// bound is a time bound of a ledger query: a zero t is open, as infinity,
// which keeps the query one plan that the time index serves.
func bound(t time.Time, open pgtype.InfinityModifier) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{InfinityModifier: open, Valid: true}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

// LedgerTotals sums the entries with from <= time < to by group, ordered
// by group in byte order (as SQLite orders), whatever the collation.
func (db *DB) LedgerTotals(ctx context.Context, by claudebridge.LedgerGroup, from, to time.Time) ([]claudebridge.LedgerTotal, error) {
	col, ok := ledgerGroups[by]
	if !ok {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "cannot group the ledger by %q: key, user, model or day", by)
	}
	rows, err := db.pool.Query(ctx, `SELECT (`+col+`) COLLATE "C" AS g, count(*), sum(l.input_tokens), sum(l.output_tokens),
		sum(l.cache_read_tokens), sum(l.cache_write_5m_tokens), sum(l.cache_write_1h_tokens), sum(l.cost_usd)
		FROM ledger l LEFT JOIN users u ON u.id = l.user_id
		WHERE l.time >= $1 AND l.time < $2 GROUP BY g ORDER BY g`,
		bound(from, pgtype.NegativeInfinity), bound(to, pgtype.Infinity))
	if err != nil {
		return nil, internal("ledger totals", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claudebridge.LedgerTotal, error) {
		var t claudebridge.LedgerTotal
		err := row.Scan(&t.Group, &t.Calls, &t.InputTokens, &t.OutputTokens, &t.CacheReadTokens,
			&t.CacheWrite5mTokens, &t.CacheWrite1hTokens, &t.CostUSD)
		return t, err
	})
	return list, internal("ledger totals", err)
}

// SpentByUser sums the cost of userID's entries since since.
func (db *DB) SpentByUser(ctx context.Context, userID int64, since time.Time) (float64, error) {
	var spent float64
	err := db.pool.QueryRow(ctx, `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE user_id = $1 AND time >= $2`,
		userID, since).Scan(&spent)
	return spent, internal("spent by user", err)
}

// SpentByKey sums the cost of the entries of the key named key since
// since: the store side of a key's budget.
func (db *DB) SpentByKey(ctx context.Context, key string, since time.Time) (float64, error) {
	var spent float64
	err := db.pool.QueryRow(ctx, `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE key = $1 AND time >= $2`,
		key, since).Scan(&spent)
	return spent, internal("spent by key", err)
}
