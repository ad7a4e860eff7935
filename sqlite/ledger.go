package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.LedgerService = (*DB)(nil)

const insertLedger = `INSERT INTO ledger (time, day, request_id, key, user_id, model, upstream, door,
	input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, counted_output_tokens,
	cost_usd, price_version, latency_ns, first_token_ns, status)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// AppendLedger stores entries in one transaction, through one prepared
// statement: the writer's batches are a few hundred rows.
func (db *DB) AppendLedger(ctx context.Context, entries []claudebridge.LedgerEntry) error {
	if len(entries) == 0 {
		return nil
	}
	// Prepared before the transaction takes the one writer connection.
	st, err := db.ws.get(ctx, insertLedger)
	if err != nil {
		return internal("append ledger", err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("append ledger", err)
	}
	defer tx.Rollback()
	ins := tx.StmtContext(ctx, st)
	for _, e := range entries {
		t := e.Time.UTC()
		var user sql.NullInt64
		if e.UserID != 0 {
			user = sql.NullInt64{Int64: e.UserID, Valid: true}
		}
		if _, err := ins.ExecContext(ctx, nanos(t), t.Format(time.DateOnly), e.RequestID, e.Key, user, e.Model, e.Upstream, e.Door,
			e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWrite5mTokens, e.CacheWrite1hTokens, e.CountedOutputTokens,
			e.CostUSD, e.PriceVersion, int64(e.Latency), int64(e.FirstToken), e.Status); err != nil {
			return internal("append ledger", err)
		}
	}
	return internal("append ledger", tx.Commit())
}

// groupColumns are the ledger's expressions of each grouping.
var groupColumns = map[claudebridge.LedgerGroup]string{
	claudebridge.ByKey:   "l.key",
	claudebridge.ByUser:  "coalesce(u.name, '')",
	claudebridge.ByModel: "l.model",
	claudebridge.ByDay:   "l.day",
}

// LedgerTotals sums the entries with from <= time < to by group.
func (db *DB) LedgerTotals(ctx context.Context, by claudebridge.LedgerGroup, from, to time.Time) ([]claudebridge.LedgerTotal, error) {
	col, ok := groupColumns[by]
	if !ok {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "cannot group the ledger by %q: key, user, model or day", by)
	}
	lo, hi := int64(0), int64(1<<63-1)
	if !from.IsZero() {
		lo = nanos(from)
	}
	if !to.IsZero() {
		hi = nanos(to)
	}
	rows, err := db.rs.QueryContext(ctx, `SELECT `+col+` AS g, count(*), sum(l.input_tokens), sum(l.output_tokens), sum(l.cache_read_tokens),
		sum(l.cache_write_5m_tokens), sum(l.cache_write_1h_tokens), sum(l.cost_usd)
		FROM ledger l LEFT JOIN users u ON u.id = l.user_id WHERE l.time >= ? AND l.time < ? GROUP BY g ORDER BY g`, lo, hi)
	if err != nil {
		return nil, internal("ledger totals", err)
	}
	defer rows.Close()
	list := []claudebridge.LedgerTotal{}
	for rows.Next() {
		var t claudebridge.LedgerTotal
		if err := rows.Scan(&t.Group, &t.Calls, &t.InputTokens, &t.OutputTokens, &t.CacheReadTokens,
			&t.CacheWrite5mTokens, &t.CacheWrite1hTokens, &t.CostUSD); err != nil {
			return nil, internal("ledger totals", err)
		}
		list = append(list, t)
	}
	return list, internal("ledger totals", rows.Err())
}

// SpentByUser sums the cost of userID's entries since since.
func (db *DB) SpentByUser(ctx context.Context, userID int64, since time.Time) (float64, error) {
	var spent float64
	err := db.rs.QueryRowContext(ctx, `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE user_id = ? AND time >= ?`,
		userID, nanos(since)).Scan(&spent)
	return spent, internal("spent by user", err)
}

// SpentByKey sums the cost of the entries of the key named key since
// since: the store side of a key's budget, which the keys slice enforces.
func (db *DB) SpentByKey(ctx context.Context, key string, since time.Time) (float64, error) {
	var spent float64
	err := db.rs.QueryRowContext(ctx, `SELECT coalesce(sum(cost_usd), 0) FROM ledger WHERE key = ? AND time >= ?`,
		key, nanos(since)).Scan(&spent)
	return spent, internal("spent by key", err)
}
