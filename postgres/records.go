package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.RecordStore = (*DB)(nil)

// ExportRecords hands every record to each, parents before children.
func (db *DB) ExportRecords(ctx context.Context, each func(claudebridge.Record) error) error {
	for _, kind := range []struct {
		op, query string
		scan      func(pgx.Rows) (claudebridge.Record, error)
	}{
		{"export users", `SELECT id, name, password_hash, created_at FROM users ORDER BY id`, scanUserRecord},
		{"export sessions", `SELECT token_hash, user_id, expires_at FROM sessions ORDER BY token_hash`, scanSessionRecord},
		{"export prompts", `SELECT id, user_id, name, text, created_at, updated_at FROM prompts ORDER BY id`, scanPromptRecord},
		{"export conversations", `SELECT id, user_id, title, model, prompt_id, created_at, updated_at FROM conversations ORDER BY id`, scanConversationRecord},
		{"export messages", `SELECT id, conversation_id, seq, role, content, status, error, model, input_tokens, output_tokens,
			cache_creation_input_tokens, cache_read_input_tokens, output_tokens_counted, turn_id, created_at, updated_at
			FROM messages ORDER BY conversation_id, seq`, scanMessageRecord},
		{"export keys", `SELECT id, name, prefix, hash, rpm, tpm, concurrency, budget_usd, budget_period, max_cost_per_request,
			models, created_at, revoked_at FROM virtual_keys ORDER BY id`, scanKeyRecord},
		{"export batches", `SELECT b.id, b.status, b.key_name, b.betas, b.succeeded, b.errored, b.canceled, b.expired, b.total,
			b.created_at, b.expires_at, b.ended_at, b.cancel_initiated_at, b.archived_at,
			coalesce((SELECT array_agg(r.custom_id ORDER BY r.n) FROM batch_requests r WHERE r.batch_seq = b.seq), '{}'),
			coalesce((SELECT array_agg(r.params ORDER BY r.n) FROM batch_requests r WHERE r.batch_seq = b.seq), '{}'),
			coalesce((SELECT array_agg(r.result_type ORDER BY r.n) FROM batch_requests r WHERE r.batch_seq = b.seq), '{}'),
			coalesce((SELECT array_agg(coalesce(r.result, '') ORDER BY r.n) FROM batch_requests r WHERE r.batch_seq = b.seq), '{}')
			FROM batches b ORDER BY b.seq`, scanBatchRecord},
		{"export ledger", `SELECT id, time, request_id, key, coalesce(user_id, 0), model, upstream, door, input_tokens, output_tokens,
			cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, counted_output_tokens, cost_usd, price_version,
			latency, first_token, status FROM ledger ORDER BY id`, scanLedgerRecord},
	} {
		if err := db.exportEach(ctx, kind.op, kind.query, kind.scan, each); err != nil {
			return err
		}
	}
	return nil
}

// exportEach runs query and hands each row, scanned by scan, to each.
func (db *DB) exportEach(ctx context.Context, op, query string, scan func(pgx.Rows) (claudebridge.Record, error), each func(claudebridge.Record) error) error {
	rows, err := db.pool.Query(ctx, query)
	if err != nil {
		return internal(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return internal(op, err)
		}
		if err := each(r); err != nil {
			return err
		}
	}
	return internal(op, rows.Err())
}

func scanUserRecord(rows pgx.Rows) (claudebridge.Record, error) {
	var u claudebridge.UserRecord
	err := rows.Scan(&u.ID, &u.Name, &u.PasswordHash, &u.CreatedAt)
	u.CreatedAt = utc(u.CreatedAt)
	return claudebridge.Record{User: &u}, err
}

func scanSessionRecord(rows pgx.Rows) (claudebridge.Record, error) {
	var s claudebridge.SessionRecord
	err := rows.Scan(&s.TokenHash, &s.UserID, &s.ExpiresAt)
	s.ExpiresAt = utc(s.ExpiresAt)
	return claudebridge.Record{Session: &s}, err
}

func scanPromptRecord(rows pgx.Rows) (claudebridge.Record, error) {
	var p claudebridge.Prompt
	err := rows.Scan(&p.ID, &p.UserID, &p.Name, &p.Text, &p.CreatedAt, &p.UpdatedAt)
	p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	return claudebridge.Record{Prompt: &p}, err
}

func scanConversationRecord(rows pgx.Rows) (claudebridge.Record, error) {
	var c claudebridge.Conversation
	err := rows.Scan(&c.ID, &c.UserID, &c.Title, &c.Model, &c.PromptID, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	return claudebridge.Record{Conversation: &c}, err
}

func scanMessageRecord(rows pgx.Rows) (claudebridge.Record, error) {
	var m claudebridge.Message
	u := &m.Usage
	err := rows.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.Role, &m.Content, &m.Status, &m.Error, &m.Model,
		&u.InputTokens, &u.OutputTokens, &u.CacheCreationInputTokens, &u.CacheReadInputTokens,
		&m.OutputTokensCounted, &m.TurnID, &m.CreatedAt, &m.UpdatedAt)
	m.CreatedAt, m.UpdatedAt = utc(m.CreatedAt), utc(m.UpdatedAt)
	return claudebridge.Record{Message: &m}, err
}

func scanKeyRecord(rows pgx.Rows) (claudebridge.Record, error) {
	var k claudebridge.Key
	var models string
	var revoked *time.Time
	err := rows.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &k.RPM, &k.TPM, &k.Concurrency, &k.BudgetUSD, &k.BudgetPeriod,
		&k.MaxCostPerRequest, &models, &k.CreatedAt, &revoked)
	if models != "" {
		k.Models = strings.Split(models, ",")
	}
	k.CreatedAt, k.RevokedAt = utc(k.CreatedAt), optional(revoked)
	return claudebridge.Record{Key: &k}, err
}

func scanBatchRecord(rows pgx.Rows) (claudebridge.Record, error) {
	var b claudebridge.BatchRecord
	var betas string
	var total int
	var ended, canceled, archived *time.Time
	var ids, types []string
	var params, results [][]byte
	c := &b.Counts
	err := rows.Scan(&b.ID, &b.Status, &b.KeyName, &betas, &c.Succeeded, &c.Errored, &c.Canceled, &c.Expired, &total,
		&b.CreatedAt, &b.ExpiresAt, &ended, &canceled, &archived, &ids, &params, &types, &results)
	c.Processing = total - c.Succeeded - c.Errored - c.Canceled - c.Expired
	if betas != "" {
		b.Betas = strings.Split(betas, ",")
	}
	b.CreatedAt, b.ExpiresAt = utc(b.CreatedAt), utc(b.ExpiresAt)
	b.EndedAt, b.CancelInitiatedAt, b.ArchivedAt = optional(ended), optional(canceled), optional(archived)
	for i := range ids {
		b.Items = append(b.Items, claudebridge.BatchItem{CustomID: ids[i], Params: params[i], ResultType: types[i], Result: results[i]})
	}
	return claudebridge.Record{Batch: &b}, err
}

func scanLedgerRecord(rows pgx.Rows) (claudebridge.Record, error) {
	var l claudebridge.LedgerRecord
	err := rows.Scan(&l.ID, &l.Time, &l.RequestID, &l.Key, &l.UserID, &l.Model, &l.Upstream, &l.Door,
		&l.InputTokens, &l.OutputTokens, &l.CacheReadTokens, &l.CacheWrite5mTokens, &l.CacheWrite1hTokens, &l.CountedOutputTokens,
		&l.CostUSD, &l.PriceVersion, &l.Latency, &l.FirstToken, &l.Status)
	l.Time = utc(l.Time)
	return claudebridge.Record{Ledger: &l}, err
}

// nullable is a time as a nullable column keeps it: NULL for zero.
func nullable(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ImportRecords stores records as exported, in one transaction; a record
// whose ID is there already is left as it is. The identity sequences then
// move past the copied IDs, so that new rows do not collide with them.
func (db *DB) ImportRecords(ctx context.Context, records []claudebridge.Record) error {
	return internal("import records", db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		for _, r := range records {
			if err := importRecord(ctx, tx, r); err != nil {
				return err
			}
		}
		for _, table := range []string{"users", "virtual_keys", "ledger"} {
			if _, err := tx.Exec(ctx, `SELECT setval(s, greatest((SELECT coalesce(max(id), 0) FROM `+table+`) + 1, nextval(s)), false)
				FROM pg_get_serial_sequence('`+table+`', 'id') AS s`); err != nil {
				return err
			}
		}
		return nil
	}))
}

func importRecord(ctx context.Context, tx pgx.Tx, r claudebridge.Record) error {
	var err error
	switch {
	case r.User != nil:
		u := r.User
		_, err = tx.Exec(ctx, `INSERT INTO users (id, name, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			u.ID, u.Name, u.PasswordHash, u.CreatedAt)
	case r.Session != nil:
		s := r.Session
		_, err = tx.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			s.TokenHash, s.UserID, s.ExpiresAt)
	case r.Prompt != nil:
		p := r.Prompt
		_, err = tx.Exec(ctx, `INSERT INTO prompts (id, user_id, name, text, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT DO NOTHING`, p.ID, p.UserID, p.Name, p.Text, p.CreatedAt, p.UpdatedAt)
	case r.Conversation != nil:
		c := r.Conversation
		_, err = tx.Exec(ctx, `INSERT INTO conversations (id, user_id, title, model, prompt_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			c.ID, c.UserID, c.Title, c.Model, c.PromptID, c.CreatedAt, c.UpdatedAt)
	case r.Message != nil:
		m, u := r.Message, r.Message.Usage
		_, err = tx.Exec(ctx, `INSERT INTO messages (id, conversation_id, seq, role, content, status, error, model,
			input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, output_tokens_counted,
			turn_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			ON CONFLICT DO NOTHING`,
			m.ID, m.ConversationID, m.Seq, m.Role, m.Content, m.Status, m.Error, m.Model,
			u.InputTokens, u.OutputTokens, u.CacheCreationInputTokens, u.CacheReadInputTokens, m.OutputTokensCounted, m.TurnID,
			m.CreatedAt, m.UpdatedAt)
	case r.Key != nil:
		k := r.Key
		_, err = tx.Exec(ctx, `INSERT INTO virtual_keys (id, name, prefix, hash, rpm, tpm, concurrency, budget_usd,
			budget_period, max_cost_per_request, models, created_at, revoked_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING`,
			k.ID, k.Name, k.Prefix, k.Hash, k.RPM, k.TPM, k.Concurrency, k.BudgetUSD, k.BudgetPeriod, k.MaxCostPerRequest,
			strings.Join(k.Models, ","), k.CreatedAt, nullable(k.RevokedAt))
	case r.Batch != nil:
		err = importBatch(ctx, tx, r.Batch)
	case r.Ledger != nil:
		l := r.Ledger
		var user *int64
		if l.UserID != 0 {
			user = &l.UserID
		}
		_, err = tx.Exec(ctx, `INSERT INTO ledger (id, time, day, request_id, key, user_id, model, upstream, door,
			input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, counted_output_tokens,
			cost_usd, price_version, latency, first_token, status) OVERRIDING SYSTEM VALUE
			VALUES ($1, $2, ($2 AT TIME ZONE 'UTC')::date, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
			ON CONFLICT DO NOTHING`,
			l.ID, l.Time, l.RequestID, l.Key, user, l.Model, l.Upstream, l.Door,
			l.InputTokens, l.OutputTokens, l.CacheReadTokens, l.CacheWrite5mTokens, l.CacheWrite1hTokens, l.CountedOutputTokens,
			l.CostUSD, l.PriceVersion, l.Latency, l.FirstToken, l.Status)
	}
	return err
}

// importBatch stores a batch and its requests unless a batch of its id is
// there already.
func importBatch(ctx context.Context, tx pgx.Tx, b *claudebridge.BatchRecord) error {
	c := b.Counts
	var seq int64
	err := tx.QueryRow(ctx, `INSERT INTO batches (id, status, key_name, betas, total, succeeded, errored, canceled, expired,
		created_at, expires_at, ended_at, cancel_initiated_at, archived_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING RETURNING seq`,
		b.ID, b.Status, b.KeyName, strings.Join(b.Betas, ","), c.Processing+c.Succeeded+c.Errored+c.Canceled+c.Expired,
		c.Succeeded, c.Errored, c.Canceled, c.Expired, b.CreatedAt, b.ExpiresAt,
		nullable(b.EndedAt), nullable(b.CancelInitiatedAt), nullable(b.ArchivedAt)).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // there already
	}
	if err != nil {
		return err
	}
	for i, it := range b.Items {
		var result []byte
		if it.ResultType != "" {
			result = it.Result
		}
		if _, err := tx.Exec(ctx, `INSERT INTO batch_requests (batch_seq, n, custom_id, params, result_type, result)
			VALUES ($1, $2, $3, $4, $5, $6)`, seq, i, it.CustomID, append([]byte{}, it.Params...), it.ResultType, result); err != nil {
			return err
		}
	}
	return nil
}
