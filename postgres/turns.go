package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.TurnLeaseService = (*DB)(nil)

// RenewTurnLease records that owner is alive until until.
func (db *DB) RenewTurnLease(ctx context.Context, owner string, until time.Time) error {
	if owner == "" {
		return claudebridge.Errorf(claudebridge.EINVALID, "a lease needs its owner")
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO turn_leases (owner, expires) VALUES ($1, $2)
		ON CONFLICT (owner) DO UPDATE SET expires = excluded.expires`, owner, until.UTC())
	return internal("renew lease", err)
}

// ReleaseTurnLease removes owner's lease.
func (db *DB) ReleaseTurnLease(ctx context.Context, owner string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM turn_leases WHERE owner = $1`, owner)
	return internal("release lease", err)
}

// ClaimMessage records owner as the process writing a message.
func (db *DB) ClaimMessage(ctx context.Context, messageID, owner string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE messages SET owner = $1 WHERE id = $2`, owner, messageID)
	if err != nil {
		return internal("claim message", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("message")
	}
	return nil
}

// InterruptLapsed marks the streaming messages of lapsed owners
// interrupted in one statement: of two processes sweeping at once, the
// second waits on the rows the first marks, finds them no longer
// streaming and leaves them, so each message is returned once.
func (db *DB) InterruptLapsed(ctx context.Context, at time.Time, grace time.Duration) ([]claudebridge.InterruptedMessage, error) {
	var list []claudebridge.InterruptedMessage
	marked := now()
	err := db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		list = []claudebridge.InterruptedMessage{}
		rows, err := tx.Query(ctx, `UPDATE messages m SET status = 'interrupted', updated_at = $3
			FROM conversations c
			WHERE c.id = m.conversation_id AND m.status = 'streaming' AND (
				EXISTS (SELECT 1 FROM turn_leases l WHERE l.owner = m.owner AND l.expires <= $1)
				OR (NOT EXISTS (SELECT 1 FROM turn_leases l WHERE l.owner = m.owner) AND m.updated_at <= $2))
			RETURNING c.user_id, m.id, m.conversation_id, m.seq, m.role, m.content, m.error, m.model,
				m.input_tokens, m.output_tokens, m.cache_creation_input_tokens, m.cache_read_input_tokens,
				m.output_tokens_counted, m.turn_id, m.created_at`,
			at.UTC(), at.Add(-grace).UTC(), marked)
		if err != nil {
			return err
		}
		for rows.Next() {
			var im claudebridge.InterruptedMessage
			m := &im.Message
			if err := rows.Scan(&im.UserID, &m.ID, &m.ConversationID, &m.Seq, &m.Role, &m.Content, &m.Error, &m.Model,
				&m.Usage.InputTokens, &m.Usage.OutputTokens, &m.Usage.CacheCreationInputTokens, &m.Usage.CacheReadInputTokens,
				&m.OutputTokensCounted, &m.TurnID, &m.CreatedAt); err != nil {
				rows.Close()
				return err
			}
			m.Status, m.CreatedAt, m.UpdatedAt = claudebridge.MessageInterrupted, utc(m.CreatedAt), marked
			list = append(list, im)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM turn_leases WHERE expires <= $1`, at.UTC())
		return err
	})
	if err != nil {
		return nil, internal("interrupt lapsed", err)
	}
	return list, nil
}

// TurnStreaming reports whether userID's message of turnID is streaming.
func (db *DB) TurnStreaming(ctx context.Context, userID int64, turnID string) (bool, error) {
	var streaming bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.turn_id = $1 AND m.status = 'streaming' AND c.user_id = $2)`, turnID, userID).Scan(&streaming)
	return streaming, internal("turn streaming", err)
}

// ReserveConversation gives owner the conversation unless a live owner
// holds it: one upsert, which locks the conversation's row and judges its
// WHERE on the row's latest version, so concurrent reservations from any
// process queue on that row and one wins.
func (db *DB) ReserveConversation(ctx context.Context, conversationID, owner string, at time.Time) (bool, error) {
	tag, err := db.pool.Exec(ctx, reserveConversation, conversationID, owner, at.UTC())
	if err != nil {
		return false, internal("reserve conversation", err)
	}
	return tag.RowsAffected() == 1, nil
}

// reserveConversation gives $2 the conversation $1 unless an owner whose
// lease is live at $3 holds it.
const reserveConversation = `INSERT INTO conversation_turns AS c (conversation_id, owner) VALUES ($1, $2)
	ON CONFLICT (conversation_id) DO UPDATE SET owner = excluded.owner
	WHERE c.owner = excluded.owner
		OR NOT EXISTS (SELECT 1 FROM turn_leases l WHERE l.owner = c.owner AND l.expires > $3)`

// releaseConversation gives up $2's hold on the conversation $1.
const releaseConversation = `DELETE FROM conversation_turns WHERE conversation_id = $1 AND owner = $2`

// ReleaseConversation gives up owner's hold on a conversation.
func (db *DB) ReleaseConversation(ctx context.Context, conversationID, owner string) error {
	_, err := db.pool.Exec(ctx, releaseConversation, conversationID, owner)
	return internal("release conversation", err)
}

var _ claudebridge.TurnStarter = (*DB)(nil)

// StartTurn reserves the conversation, touches (or saves) it, appends the
// messages and reads them all back in one pipeline, which PostgreSQL runs
// as one transaction. The statements after the reservation change nothing
// unless it is owner's: each checks the hold, which it sees as written by
// the reservation before it.
func (db *DB) StartTurn(ctx context.Context, s *claudebridge.TurnStart) ([]claudebridge.Message, bool, error) {
	c, at := s.Conversation, now()
	const held = `EXISTS (SELECT 1 FROM conversation_turns WHERE conversation_id = $2 AND owner = $3)`
	var ok bool
	var list []claudebridge.Message
	err := retry(ctx, func() error {
		ok, list = false, nil
		b := &pgx.Batch{}
		if s.New {
			b.Queue(createConversation, c.ID, c.UserID, c.Title, c.Model, c.PromptID, at)
		}
		b.Queue(reserveConversation, c.ID, s.Owner, s.At.UTC()).
			Exec(func(tag pgconn.CommandTag) error { ok = tag.RowsAffected() == 1; return nil })
		// Touching the conversation first locks its row, as AddMessage does.
		switch {
		case s.New: // its row is this transaction's
		case s.Changed:
			b.Queue(`UPDATE conversations SET updated_at = $1, title = $4, model = $5, prompt_id = $6
				WHERE id = $2 AND `+held, at, c.ID, s.Owner, c.Title, c.Model, c.PromptID)
		default:
			b.Queue(`UPDATE conversations SET updated_at = $1 WHERE id = $2 AND `+held, at, c.ID, s.Owner)
		}
		for i, m := range s.Messages {
			m.ID, m.ConversationID, m.CreatedAt, m.UpdatedAt = newID("msg_"), c.ID, at, at
			owner := ""
			if i == len(s.Messages)-1 {
				owner = s.Owner
			}
			// An aggregate makes a row even of no messages: HAVING, not
			// WHERE, keeps it out when the hold is not owner's.
			b.Queue(`INSERT INTO messages (id, conversation_id, seq, role, content, status, error, model,
				input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, output_tokens_counted,
				turn_id, owner, created_at, updated_at)
				SELECT $1, $2, coalesce(max(seq), 0) + 1, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16
				FROM messages WHERE conversation_id = $2 HAVING `+held+` RETURNING seq`,
				m.ID, c.ID, s.Owner, m.Role, m.Content, m.Status, m.Error, m.Model,
				m.Usage.InputTokens, m.Usage.OutputTokens, m.Usage.CacheCreationInputTokens, m.Usage.CacheReadInputTokens,
				m.OutputTokensCounted, m.TurnID, owner, at).
				Query(func(rows pgx.Rows) error {
					for rows.Next() {
						if err := rows.Scan(&m.Seq); err != nil {
							return err
						}
					}
					return rows.Err()
				})
		}
		b.Queue(`SELECT `+messageColumns+` FROM messages m WHERE m.conversation_id = $1 ORDER BY m.seq`, c.ID).
			Query(func(rows pgx.Rows) error {
				var err error
				list, err = pgx.CollectRows(rows, scanMessage)
				return err
			})
		return db.pool.SendBatch(ctx, b).Close()
	})
	if isForeignKey(err) {
		return nil, false, notFound("conversation")
	}
	if err != nil || !ok {
		return nil, false, internal("start turn", err)
	}
	if s.New {
		c.CreatedAt = at
	}
	c.UpdatedAt = at
	return list, true, nil
}

// EndTurn saves m and gives up owner's hold on its conversation in one
// pipeline (one transaction).
func (db *DB) EndTurn(ctx context.Context, m *claudebridge.Message, owner string) error {
	m.UpdatedAt = now()
	u := m.Usage
	var tag pgconn.CommandTag
	b := &pgx.Batch{}
	b.Queue(updateMessage, m.Content, m.Status, m.Error, m.Model, u.InputTokens, u.OutputTokens,
		u.CacheCreationInputTokens, u.CacheReadInputTokens, m.OutputTokensCounted, m.TurnID, m.UpdatedAt, m.ID).
		Exec(func(t pgconn.CommandTag) error { tag = t; return nil })
	b.Queue(releaseConversation, m.ConversationID, owner)
	err := db.pool.SendBatch(ctx, b).Close()
	return affected(tag, err, "end turn", "message")
}
