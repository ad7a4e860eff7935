package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.RecordStore = (*DB)(nil)

// ExportRecords hands every record to each, parents before children.
func (db *DB) ExportRecords(ctx context.Context, each func(claudebridge.Record) error) error {
	for _, export := range []func(context.Context, func(claudebridge.Record) error) error{
		db.exportUsers, db.exportSessions, db.exportPrompts, db.exportConversations, db.exportMessages,
		db.exportKeys, db.exportBatches, db.exportLedger,
	} {
		if err := export(ctx, each); err != nil {
			return err
		}
	}
	return nil
}

// scanEach runs query and hands each row, scanned by scan, to each.
func (db *DB) scanEach(ctx context.Context, op, query string, scan func(*sql.Rows) (claudebridge.Record, error), each func(claudebridge.Record) error) error {
	rows, err := db.r.QueryContext(ctx, query)
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

func (db *DB) exportUsers(ctx context.Context, each func(claudebridge.Record) error) error {
	return db.scanEach(ctx, "export users", `SELECT id, name, password_hash, created_at FROM users ORDER BY id`,
		func(rows *sql.Rows) (claudebridge.Record, error) {
			var u claudebridge.UserRecord
			var created int64
			err := rows.Scan(&u.ID, &u.Name, &u.PasswordHash, &created)
			u.CreatedAt = fromNanos(created)
			return claudebridge.Record{User: &u}, err
		}, each)
}

func (db *DB) exportSessions(ctx context.Context, each func(claudebridge.Record) error) error {
	return db.scanEach(ctx, "export sessions", `SELECT token_hash, user_id, expires_at FROM sessions ORDER BY token_hash`,
		func(rows *sql.Rows) (claudebridge.Record, error) {
			var s claudebridge.SessionRecord
			var expires int64
			err := rows.Scan(&s.TokenHash, &s.UserID, &expires)
			s.ExpiresAt = fromNanos(expires)
			return claudebridge.Record{Session: &s}, err
		}, each)
}

func (db *DB) exportPrompts(ctx context.Context, each func(claudebridge.Record) error) error {
	return db.scanEach(ctx, "export prompts", `SELECT id, user_id, name, text, created_at, updated_at FROM prompts ORDER BY id`,
		func(rows *sql.Rows) (claudebridge.Record, error) {
			var p claudebridge.Prompt
			var created, updated int64
			err := rows.Scan(&p.ID, &p.UserID, &p.Name, &p.Text, &created, &updated)
			p.CreatedAt, p.UpdatedAt = fromNanos(created), fromNanos(updated)
			return claudebridge.Record{Prompt: &p}, err
		}, each)
}

func (db *DB) exportConversations(ctx context.Context, each func(claudebridge.Record) error) error {
	return db.scanEach(ctx, "export conversations", `SELECT `+conversationColumns+` FROM conversations ORDER BY id`,
		func(rows *sql.Rows) (claudebridge.Record, error) {
			c, err := scanConversation(rows)
			return claudebridge.Record{Conversation: c}, err
		}, each)
}

func (db *DB) exportMessages(ctx context.Context, each func(claudebridge.Record) error) error {
	return db.scanEach(ctx, "export messages", `SELECT `+messageColumns+` FROM messages m ORDER BY m.conversation_id, m.seq`,
		func(rows *sql.Rows) (claudebridge.Record, error) {
			var m claudebridge.Message
			var created, updated int64
			err := rows.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.Role, &m.Content, &m.Status, &m.Error, &m.Model,
				&m.Usage.InputTokens, &m.Usage.OutputTokens, &m.Usage.CacheCreationInputTokens, &m.Usage.CacheReadInputTokens,
				&m.OutputTokensCounted, &m.TurnID, &created, &updated)
			m.CreatedAt, m.UpdatedAt = fromNanos(created), fromNanos(updated)
			return claudebridge.Record{Message: &m}, err
		}, each)
}

func (db *DB) exportKeys(ctx context.Context, each func(claudebridge.Record) error) error {
	keys, err := db.Keys(ctx)
	if err != nil {
		return err
	}
	for i := range keys {
		if err := each(claudebridge.Record{Key: &keys[i]}); err != nil {
			return err
		}
	}
	return nil
}

// exportBatches reads each batch's requests after the batches themselves:
// one query open at a time on a reader.
func (db *DB) exportBatches(ctx context.Context, each func(claudebridge.Record) error) error {
	var list []*claudebridge.BatchRecord
	var seqs []int64
	rows, err := db.r.QueryContext(ctx, `SELECT seq, `+batchColumns+` FROM batches ORDER BY seq`)
	if err != nil {
		return internal("export batches", err)
	}
	for rows.Next() {
		var seq int64
		b, err := scanBatch(prefixed{rows, &seq})
		if err != nil {
			rows.Close()
			return internal("export batches", err)
		}
		list, seqs = append(list, &claudebridge.BatchRecord{Batch: *b}), append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return internal("export batches", err)
	}
	for i, b := range list {
		items, err := db.r.QueryContext(ctx, `SELECT custom_id, params, result_type, result FROM batch_requests WHERE batch_seq = ? ORDER BY n`, seqs[i])
		if err != nil {
			return internal("export batches", err)
		}
		for items.Next() {
			var it claudebridge.BatchItem
			var params, result []byte
			if err := items.Scan(&it.CustomID, &params, &it.ResultType, &result); err != nil {
				items.Close()
				return internal("export batches", err)
			}
			it.Params, it.Result = params, result
			b.Items = append(b.Items, it)
		}
		items.Close()
		if err := items.Err(); err != nil {
			return internal("export batches", err)
		}
		if err := each(claudebridge.Record{Batch: b}); err != nil {
			return err
		}
	}
	return nil
}

// prefixed scans one column before those scanBatch reads.
type prefixed struct {
	rows  *sql.Rows
	first any
}

func (p prefixed) Scan(dest ...any) error { return p.rows.Scan(append([]any{p.first}, dest...)...) }

func (db *DB) exportLedger(ctx context.Context, each func(claudebridge.Record) error) error {
	return db.scanEach(ctx, "export ledger", `SELECT id, time, request_id, key, coalesce(user_id, 0), model, upstream, door,
		input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, counted_output_tokens,
		cost_usd, price_version, latency_ns, first_token_ns, status FROM ledger ORDER BY id`,
		func(rows *sql.Rows) (claudebridge.Record, error) {
			var l claudebridge.LedgerRecord
			var at, latency, first int64
			err := rows.Scan(&l.ID, &at, &l.RequestID, &l.Key, &l.UserID, &l.Model, &l.Upstream, &l.Door,
				&l.InputTokens, &l.OutputTokens, &l.CacheReadTokens, &l.CacheWrite5mTokens, &l.CacheWrite1hTokens, &l.CountedOutputTokens,
				&l.CostUSD, &l.PriceVersion, &latency, &first, &l.Status)
			l.Time, l.Latency, l.FirstToken = fromNanos(at), time.Duration(latency), time.Duration(first)
			return claudebridge.Record{Ledger: &l}, err
		}, each)
}

// ImportRecords stores records as exported, in one transaction; a record
// whose ID is there already is left as it is.
func (db *DB) ImportRecords(ctx context.Context, records []claudebridge.Record) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("import records", err)
	}
	defer tx.Rollback()
	for _, r := range records {
		if err := importRecord(ctx, tx, r); err != nil {
			return internal("import records", err)
		}
	}
	return internal("import records", tx.Commit())
}

func importRecord(ctx context.Context, tx *sql.Tx, r claudebridge.Record) error {
	var err error
	switch {
	case r.User != nil:
		u := r.User
		_, err = tx.ExecContext(ctx, `INSERT INTO users (id, name, password_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			u.ID, u.Name, u.PasswordHash, nanos(u.CreatedAt))
	case r.Session != nil:
		s := r.Session
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			s.TokenHash, s.UserID, nanos(s.ExpiresAt))
	case r.Prompt != nil:
		p := r.Prompt
		_, err = tx.ExecContext(ctx, `INSERT INTO prompts (id, user_id, name, text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			p.ID, p.UserID, p.Name, p.Text, nanos(p.CreatedAt), nanos(p.UpdatedAt))
	case r.Conversation != nil:
		c := r.Conversation
		_, err = tx.ExecContext(ctx, `INSERT INTO conversations (`+conversationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			c.ID, c.UserID, c.Title, c.Model, c.PromptID, nanos(c.CreatedAt), nanos(c.UpdatedAt))
	case r.Message != nil:
		m, u := r.Message, r.Message.Usage
		_, err = tx.ExecContext(ctx, `INSERT INTO messages (id, conversation_id, seq, role, content, status, error, model,
			input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, output_tokens_counted,
			turn_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			m.ID, m.ConversationID, m.Seq, m.Role, m.Content, m.Status, m.Error, m.Model,
			u.InputTokens, u.OutputTokens, u.CacheCreationInputTokens, u.CacheReadInputTokens, m.OutputTokensCounted, m.TurnID,
			nanos(m.CreatedAt), nanos(m.UpdatedAt))
	case r.Key != nil:
		k := r.Key
		_, err = tx.ExecContext(ctx, `INSERT INTO virtual_keys (id, name, prefix, hash, rpm, tpm, concurrency, budget_usd,
			budget_period, max_cost_per_request, models, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`,
			k.ID, k.Name, k.Prefix, k.Hash, k.RPM, k.TPM, k.Concurrency, k.BudgetUSD, k.BudgetPeriod, k.MaxCostPerRequest,
			strings.Join(k.Models, ","), nanos(k.CreatedAt), optionalNanos(k.RevokedAt))
	case r.Batch != nil:
		err = importBatch(ctx, tx, r.Batch)
	case r.Ledger != nil:
		l := r.Ledger
		t := l.Time.UTC()
		var user sql.NullInt64
		if l.UserID != 0 {
			user = sql.NullInt64{Int64: l.UserID, Valid: true}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO ledger (id, time, day, request_id, key, user_id, model, upstream, door,
			input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, counted_output_tokens,
			cost_usd, price_version, latency_ns, first_token_ns, status)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			l.ID, nanos(t), t.Format(time.DateOnly), l.RequestID, l.Key, user, l.Model, l.Upstream, l.Door,
			l.InputTokens, l.OutputTokens, l.CacheReadTokens, l.CacheWrite5mTokens, l.CacheWrite1hTokens, l.CountedOutputTokens,
			l.CostUSD, l.PriceVersion, int64(l.Latency), int64(l.FirstToken), l.Status)
	}
	return err
}

// importBatch stores a batch and its requests unless a batch of its id is
// there already.
func importBatch(ctx context.Context, tx *sql.Tx, b *claudebridge.BatchRecord) error {
	c := b.Counts
	res, err := tx.ExecContext(ctx, `INSERT INTO batches (id, status, key_name, betas, total, succeeded, errored, canceled, expired,
		created_at, expires_at, ended_at, cancel_initiated_at, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		b.ID, b.Status, b.KeyName, strings.Join(b.Betas, ","), c.Processing+c.Succeeded+c.Errored+c.Canceled+c.Expired,
		c.Succeeded, c.Errored, c.Canceled, c.Expired, nanos(b.CreatedAt), nanos(b.ExpiresAt),
		optionalNanos(b.EndedAt), optionalNanos(b.CancelInitiatedAt), optionalNanos(b.ArchivedAt))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT seq FROM batches WHERE id = ?`, b.ID).Scan(&seq); err != nil {
		return err
	}
	for i, it := range b.Items {
		var result []byte
		if it.ResultType != "" {
			result = it.Result
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO batch_requests (batch_seq, n, custom_id, params, result_type, result) VALUES (?, ?, ?, ?, ?, ?)`,
			seq, i, it.CustomID, append([]byte{}, it.Params...), it.ResultType, result); err != nil {
			return err
		}
	}
	return nil
}

// optionalNanos stores a zero time as 0, as the tables do.
func optionalNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return nanos(t)
}
