package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/claudebridge/claudebridge"
)

// AddUsage adds a ledger row of the chat for userID on model: u and its
// cost, at the start of day when day is not today (a crash's cut answer
// counted at the next start), else now; counted output tokens are marked
// as such. The usage view sums it into the user's row for day and model.
// An insert, never an update of a total: concurrent turns never wait on
// one another or lose an addition.
func (db *DB) AddUsage(ctx context.Context, userID int64, day, model string, u claudebridge.Usage, costUSD float64, counted bool) error {
	e := claudebridge.LedgerEntry{Time: now(), UserID: userID, Model: model, Door: "chat", CostUSD: costUSD, Status: 200}
	if d, err := time.Parse(time.DateOnly, day); err == nil && day != e.Time.Format(time.DateOnly) {
		e.Time = d
	}
	e.SetUsage(u)
	if counted {
		e.CountedOutputTokens = u.OutputTokens
	}
	// One row of the ledger, as every other call's: its other columns
	// (request, key, latencies) are a chat turn's defaults.
	err := db.AppendLedger(ctx, []claudebridge.LedgerEntry{e})
	return internal("add usage", err)
}

// Usage returns userID's rows with from <= Day <= to (YYYY-MM-DD), by day
// then model, from the usage view of the ledger. An empty bound is open;
// another that is no date is EINVALID (the chat checks them first).
func (db *DB) Usage(ctx context.Context, userID int64, from, to string) ([]claudebridge.UsageRow, error) {
	lo, err := dayBound(from, pgtype.NegativeInfinity)
	if err != nil {
		return nil, err
	}
	hi, err := dayBound(to, pgtype.Infinity)
	if err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), model, input_tokens, output_tokens, cache_creation_input_tokens,
		cache_write_1h_tokens, cache_read_input_tokens, counted_output_tokens, cost_usd FROM usage
		WHERE user_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, model COLLATE "C"`,
		userID, lo, hi)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claudebridge.UsageRow, error) {
		var r claudebridge.UsageRow
		err := row.Scan(&r.Day, &r.Model, &r.Usage.InputTokens, &r.Usage.OutputTokens,
			&r.Usage.CacheCreationInputTokens, &r.Usage.CacheCreation.Ephemeral1hInputTokens, &r.Usage.CacheReadInputTokens,
			&r.CountedOutputTokens, &r.CostUSD)
		r.Usage.CacheCreation.Ephemeral5mInputTokens = r.Usage.CacheCreationInputTokens - r.Usage.CacheCreation.Ephemeral1hInputTokens
		return r, err
	})
	return list, internal("usage", err)
}

// dayBound is day as a date, or open (infinity of the given sign) when
// day is "".
func dayBound(day string, open pgtype.InfinityModifier) (pgtype.Date, error) {
	if day == "" {
		return pgtype.Date{InfinityModifier: open, Valid: true}, nil
	}
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return pgtype.Date{}, claudebridge.Errorf(claudebridge.EINVALID, "%q: want YYYY-MM-DD", day)
	}
	return pgtype.Date{Time: d, Valid: true}, nil
}
