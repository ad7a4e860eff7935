package sqlite

import (
	"context"

	"github.com/claudebridge/claudebridge"
)

// AddUsage adds u and its cost to userID's row for day and model; counted
// output tokens are added to counted_output_tokens as well.
func (db *DB) AddUsage(ctx context.Context, userID int64, day, model string, u claudebridge.Usage, costUSD float64, counted bool) error {
	countedOut := 0
	if counted {
		countedOut = u.OutputTokens
	}
	_, err := db.ws.ExecContext(ctx, `INSERT INTO usage (user_id, day, model, input_tokens, output_tokens,
		cache_creation_input_tokens, cache_read_input_tokens, counted_output_tokens, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, day, model) DO UPDATE SET
		input_tokens = input_tokens + excluded.input_tokens,
		output_tokens = output_tokens + excluded.output_tokens,
		cache_creation_input_tokens = cache_creation_input_tokens + excluded.cache_creation_input_tokens,
		cache_read_input_tokens = cache_read_input_tokens + excluded.cache_read_input_tokens,
		counted_output_tokens = counted_output_tokens + excluded.counted_output_tokens,
		cost_usd = cost_usd + excluded.cost_usd`,
		userID, day, model, u.InputTokens, u.OutputTokens, u.CacheCreationInputTokens, u.CacheReadInputTokens, countedOut, costUSD)
	return internal("add usage", err)
}

// Usage returns userID's rows with from <= Day <= to, by day then model.
// An empty bound is open.
func (db *DB) Usage(ctx context.Context, userID int64, from, to string) ([]claudebridge.UsageRow, error) {
	if to == "" {
		to = "9999-12-31"
	}
	rows, err := db.rs.QueryContext(ctx, `SELECT day, model, input_tokens, output_tokens, cache_creation_input_tokens,
		cache_read_input_tokens, counted_output_tokens, cost_usd FROM usage WHERE user_id = ? AND day >= ? AND day <= ? ORDER BY day, model`,
		userID, from, to)
	if err != nil {
		return nil, internal("usage", err)
	}
	defer rows.Close()
	list := []claudebridge.UsageRow{}
	for rows.Next() {
		var r claudebridge.UsageRow
		if err := rows.Scan(&r.Day, &r.Model, &r.Usage.InputTokens, &r.Usage.OutputTokens,
			&r.Usage.CacheCreationInputTokens, &r.Usage.CacheReadInputTokens, &r.CountedOutputTokens, &r.CostUSD); err != nil {
			return nil, internal("usage", err)
		}
		list = append(list, r)
	}
	return list, internal("usage", rows.Err())
}
