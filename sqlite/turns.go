package sqlite

import (
	"context"
	"time"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.TurnLeaseService = (*DB)(nil)

// RenewTurnLease records that owner is alive until until.
func (db *DB) RenewTurnLease(ctx context.Context, owner string, until time.Time) error {
	if owner == "" {
		return claudebridge.Errorf(claudebridge.EINVALID, "a lease needs its owner")
	}
	_, err := db.ws.ExecContext(ctx, `INSERT INTO turn_leases (owner, expires) VALUES (?, ?)
		ON CONFLICT (owner) DO UPDATE SET expires = excluded.expires`, owner, nanos(until))
	return internal("renew lease", err)
}

// ReleaseTurnLease removes owner's lease.
func (db *DB) ReleaseTurnLease(ctx context.Context, owner string) error {
	_, err := db.ws.ExecContext(ctx, `DELETE FROM turn_leases WHERE owner = ?`, owner)
	return internal("release lease", err)
}

// ClaimMessage records owner as the process writing a message.
func (db *DB) ClaimMessage(ctx context.Context, messageID, owner string) error {
	res, err := db.ws.ExecContext(ctx, `UPDATE messages SET owner = ? WHERE id = ?`, owner, messageID)
	return affected(res, err, "message")
}

// lapsed selects the streaming messages no live process writes: their
// owner's lease ended at or before ?1, or they have no lease and were last
// saved at or before ?2.
const lapsed = `m.status = 'streaming' AND (
	EXISTS (SELECT 1 FROM turn_leases l WHERE l.owner = m.owner AND l.expires <= ?1)
	OR (NOT EXISTS (SELECT 1 FROM turn_leases l WHERE l.owner = m.owner) AND m.updated_at <= ?2))`

// InterruptLapsed marks the streaming messages of lapsed owners
// interrupted, in one transaction (SQLite's one writer makes concurrent
// calls take turns, so each message is returned once).
func (db *DB) InterruptLapsed(ctx context.Context, at time.Time, grace time.Duration) ([]claudebridge.InterruptedMessage, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, internal("interrupt lapsed", err)
	}
	defer tx.Rollback()
	marked := now()
	cut, saved := nanos(at), nanos(at.Add(-grace))
	rows, err := tx.QueryContext(ctx, `SELECT c.user_id, `+messageColumns+` FROM messages m
		JOIN conversations c ON c.id = m.conversation_id WHERE `+lapsed+` ORDER BY m.conversation_id, m.seq`, cut, saved)
	if err != nil {
		return nil, internal("interrupt lapsed", err)
	}
	list := []claudebridge.InterruptedMessage{}
	for rows.Next() {
		var im claudebridge.InterruptedMessage
		m := &im.Message
		var created, updated int64
		if err := rows.Scan(&im.UserID, &m.ID, &m.ConversationID, &m.Seq, &m.Role, &m.Content, &m.Status, &m.Error, &m.Model,
			&m.Usage.InputTokens, &m.Usage.OutputTokens, &m.Usage.CacheCreationInputTokens, &m.Usage.CacheReadInputTokens,
			&m.OutputTokensCounted, &m.TurnID, &created, &updated); err != nil {
			rows.Close()
			return nil, internal("interrupt lapsed", err)
		}
		m.CreatedAt, m.UpdatedAt = fromNanos(created), marked
		m.Status = claudebridge.MessageInterrupted
		list = append(list, im)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, internal("interrupt lapsed", err)
	}
	for _, im := range list {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = ?, updated_at = ? WHERE id = ?`,
			claudebridge.MessageInterrupted, nanos(marked), im.Message.ID); err != nil {
			return nil, internal("interrupt lapsed", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM turn_leases WHERE expires <= ?`, cut); err != nil {
		return nil, internal("interrupt lapsed", err)
	}
	return list, internal("interrupt lapsed", tx.Commit())
}

// TurnStreaming reports whether userID's message of turnID is streaming.
func (db *DB) TurnStreaming(ctx context.Context, userID int64, turnID string) (bool, error) {
	var streaming bool
	err := db.rs.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.turn_id = ? AND m.status = 'streaming' AND c.user_id = ?)`, turnID, userID).Scan(&streaming)
	return streaming, internal("turn streaming", err)
}

// ReserveConversation gives owner the conversation unless a live owner
// holds it: one upsert, whose WHERE SQLite's one writer judges alone.
func (db *DB) ReserveConversation(ctx context.Context, conversationID, owner string, at time.Time) (bool, error) {
	res, err := db.ws.ExecContext(ctx, reserveConversation, conversationID, owner, nanos(at))
	if err != nil {
		return false, internal("reserve conversation", err)
	}
	n, err := res.RowsAffected()
	return n == 1, internal("reserve conversation", err)
}

// reserveConversation gives ?2 the conversation ?1 unless an owner whose
// lease is live at ?3 holds it.
const reserveConversation = `INSERT INTO conversation_turns (conversation_id, owner) VALUES (?1, ?2)
	ON CONFLICT (conversation_id) DO UPDATE SET owner = excluded.owner
	WHERE conversation_turns.owner = excluded.owner
		OR NOT EXISTS (SELECT 1 FROM turn_leases l WHERE l.owner = conversation_turns.owner AND l.expires > ?3)`

// releaseConversation gives up ?2's hold on the conversation ?1.
const releaseConversation = `DELETE FROM conversation_turns WHERE conversation_id = ? AND owner = ?`

// ReleaseConversation gives up owner's hold on a conversation.
func (db *DB) ReleaseConversation(ctx context.Context, conversationID, owner string) error {
	_, err := db.ws.ExecContext(ctx, releaseConversation, conversationID, owner)
	return internal("release conversation", err)
}

var _ claudebridge.TurnStarter = (*DB)(nil)

// saveConversation saves what a turn may change of its conversation.
const saveConversation = `UPDATE conversations SET title = ?, model = ?, prompt_id = ? WHERE id = ?`

// turnMessages reads a conversation's messages in order.
const turnMessages = `SELECT ` + messageColumns + ` FROM messages m WHERE m.conversation_id = ? ORDER BY m.seq`

// StartTurn reserves the conversation, touches (or saves) it, appends the
// messages and reads them all back in one transaction: one commit.
func (db *DB) StartTurn(ctx context.Context, s *claudebridge.TurnStart) ([]claudebridge.Message, bool, error) {
	tx, ts, err := db.ws.begin(ctx, createConversation, touchConversation, reserveConversation, saveConversation, appendMessageSQL, turnMessages)
	if err != nil {
		return nil, false, internal("start turn", err)
	}
	defer tx.Rollback()
	c, at := s.Conversation, now()
	t := nanos(at)
	if s.New {
		if _, err := ts.ExecContext(ctx, createConversation, c.ID, c.UserID, c.Title, c.Model, c.PromptID, t, t); err != nil {
			return nil, false, internal("start turn", err)
		}
	} else {
		// The conversation is touched first: an absent one changes nothing.
		res, err := ts.ExecContext(ctx, touchConversation, t, c.ID)
		if err := affected(res, err, "conversation"); err != nil {
			return nil, false, err
		}
	}
	res, err := ts.ExecContext(ctx, reserveConversation, c.ID, s.Owner, nanos(s.At))
	if err != nil {
		return nil, false, internal("start turn", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, false, internal("start turn", err)
	}
	if s.Changed {
		if _, err := ts.ExecContext(ctx, saveConversation, c.Title, c.Model, c.PromptID, c.ID); err != nil {
			return nil, false, internal("start turn", err)
		}
	}
	for i, m := range s.Messages {
		m.ID, m.ConversationID, m.CreatedAt, m.UpdatedAt = newID("msg_"), c.ID, at, at
		owner := ""
		if i == len(s.Messages)-1 {
			owner = s.Owner
		}
		if err := appendMessage(ctx, ts, m, t, owner); err != nil {
			return nil, false, internal("start turn", err)
		}
	}
	list, err := scanMessages(ts.QueryContext(ctx, turnMessages, c.ID))
	if err != nil {
		return nil, false, internal("start turn", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, false, internal("start turn", err)
	}
	if s.New {
		c.CreatedAt = at
	}
	c.UpdatedAt = at
	return list, true, nil
}

// EndTurn saves m and gives up owner's hold on its conversation in one
// transaction.
func (db *DB) EndTurn(ctx context.Context, m *claudebridge.Message, owner string) error {
	tx, ts, err := db.ws.begin(ctx, updateMessageSQL, releaseConversation)
	if err != nil {
		return internal("end turn", err)
	}
	defer tx.Rollback()
	if err := updateMessage(ctx, ts, m); err != nil {
		return err
	}
	if _, err := ts.ExecContext(ctx, releaseConversation, m.ConversationID, owner); err != nil {
		return internal("end turn", err)
	}
	return internal("end turn", tx.Commit())
}
