package sqlite

import (
	"context"
	"time"

	"github.com/claudebridge/claudebridge"
)

// AddUsage adds a ledger row of the chat for userID on model: u and its
// cost, at the start of day when day is not today (a crash's cut answer
// counted at the next start), else now; counted output tokens are marked
// as such. The usage view sums it into the user's row for day and model.
func (db *DB) AddUsage(ctx context.Context, userID int64, day, model string, u claudebridge.Usage, costUSD float64, counted bool) error {
	e := claudebridge.LedgerEntry{Time: now(), UserID: userID, Model: model, Door: "chat", CostUSD: costUSD, Status: 200}
	if d, err := time.Parse(time.DateOnly, day); err == nil && day != e.Time.Format(time.DateOnly) {
		e.Time = d
	}
	e.SetUsage(u)
	if counted {
		e.CountedOutputTokens = u.OutputTokens
	}
	return db.AppendLedger(ctx, []claudebridge.LedgerEntry{e})
}

// Usage returns userID's rows with from <= Day <= to, by day then model,
// from the usage view of the ledger. An empty bound is open.
func (db *DB) Usage(ctx context.Context, userID int64, from, to string) ([]claudebridge.UsageRow, error) {
	if to == "" {
		to = "9999-12-31"
	}
	rows, err := db.rs.QueryContext(ctx, `SELECT day, model, input_tokens, output_tokens, cache_creation_input_tokens,
		cache_write_1h_tokens, cache_read_input_tokens, counted_output_tokens, cost_usd FROM usage
		WHERE user_id = ? AND day >= ? AND day <= ? ORDER BY day, model`,
		userID, from, to)
	if err != nil {
		return nil, internal("usage", err)
	}
	defer rows.Close()
	list := []claudebridge.UsageRow{}
	for rows.Next() {
		var r claudebridge.UsageRow
		if err := rows.Scan(&r.Day, &r.Model, &r.Usage.InputTokens, &r.Usage.OutputTokens,
			&r.Usage.CacheCreationInputTokens, &r.Usage.CacheCreation.Ephemeral1hInputTokens, &r.Usage.CacheReadInputTokens,
			&r.CountedOutputTokens, &r.CostUSD); err != nil {
			return nil, internal("usage", err)
		}
		r.Usage.CacheCreation.Ephemeral5mInputTokens = r.Usage.CacheCreationInputTokens - r.Usage.CacheCreation.Ephemeral1hInputTokens
		list = append(list, r)
	}
	return list, internal("usage", rows.Err())
}
