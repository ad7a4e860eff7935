package sqlite

import (
	"context"
	"database/sql"

	"github.com/claudebridge/claudebridge"
)

const messageColumns = `m.id, m.conversation_id, m.seq, m.role, m.content, m.status, m.error, m.model,
	m.input_tokens, m.output_tokens, m.cache_creation_input_tokens, m.cache_read_input_tokens,
	m.output_tokens_counted, m.turn_id, m.created_at, m.updated_at`

// Messages returns the messages of userID's conversation in Seq order;
// ENOTFOUND if the conversation is not userID's.
func (db *DB) Messages(ctx context.Context, userID int64, conversationID string) ([]claudebridge.Message, error) {
	if _, err := db.Conversation(ctx, userID, conversationID); err != nil {
		return nil, err
	}
	list, err := scanMessages(db.rs.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages m
		JOIN conversations c ON c.id = m.conversation_id
		WHERE m.conversation_id = ? AND c.user_id = ? ORDER BY m.seq`, conversationID, userID))
	return list, internal("messages", err)
}

// scanMessages reads rows of messageColumns, closing them.
func scanMessages(rows *sql.Rows, err error) ([]claudebridge.Message, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []claudebridge.Message{}
	for rows.Next() {
		var m claudebridge.Message
		var created, updated int64
		if err := rows.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.Role, &m.Content, &m.Status, &m.Error, &m.Model,
			&m.Usage.InputTokens, &m.Usage.OutputTokens, &m.Usage.CacheCreationInputTokens, &m.Usage.CacheReadInputTokens,
			&m.OutputTokensCounted, &m.TurnID, &created, &updated); err != nil {
			return nil, err
		}
		m.CreatedAt, m.UpdatedAt = fromNanos(created), fromNanos(updated)
		list = append(list, m)
	}
	return list, rows.Err()
}

// AddMessage appends m to its conversation (Seq one past the last, ID and
// times filled) and touches the conversation's UpdatedAt. ENOTFOUND if the
// conversation does not exist.
func (db *DB) AddMessage(ctx context.Context, m *claudebridge.Message) error {
	tx, ts, err := db.ws.begin(ctx, touchConversation, appendMessageSQL)
	if err != nil {
		return internal("add message", err)
	}
	defer tx.Rollback()
	m.ID = newID("msg_")
	m.CreatedAt = now()
	m.UpdatedAt = m.CreatedAt
	t := nanos(m.CreatedAt)
	res, err := ts.ExecContext(ctx, touchConversation, t, m.ConversationID)
	if err := affected(res, err, "conversation"); err != nil {
		return err
	}
	if err := appendMessage(ctx, ts, m, t, ""); err != nil {
		return internal("add message", err)
	}
	return internal("add message", tx.Commit())
}

// touchConversation sets a conversation's updated_at.
const touchConversation = `UPDATE conversations SET updated_at = ? WHERE id = ?`

// appendMessageSQL inserts a message one past its conversation's last.
const appendMessageSQL = `INSERT INTO messages (id, conversation_id, seq, role, content, status, error, model,
	input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, output_tokens_counted,
	turn_id, owner, created_at, updated_at)
	SELECT ?1, ?2, coalesce(max(seq), 0) + 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15
	FROM messages WHERE conversation_id = ?2 RETURNING seq`

// appendMessage writes m one past its conversation's last message (Seq
// filled), created and updated at t and claimed by owner.
func appendMessage(ctx context.Context, ts txStmts, m *claudebridge.Message, t int64, owner string) error {
	u := m.Usage
	rows, err := ts.QueryContext(ctx, appendMessageSQL, m.ID, m.ConversationID, m.Role, m.Content, m.Status, m.Error, m.Model,
		u.InputTokens, u.OutputTokens, u.CacheCreationInputTokens, u.CacheReadInputTokens, m.OutputTokensCounted, m.TurnID, owner, t)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&m.Seq); err != nil {
			return err
		}
	}
	return rows.Err()
}

// insertMessage writes m as it is (Seq included), created and updated at t.
func insertMessage(ctx context.Context, tx *sql.Tx, m *claudebridge.Message, t int64) error {
	u := m.Usage
	_, err := tx.ExecContext(ctx, `INSERT INTO messages (id, conversation_id, seq, role, content, status, error, model,
		input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, output_tokens_counted,
		turn_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.ConversationID, m.Seq, m.Role, m.Content, m.Status, m.Error, m.Model,
		u.InputTokens, u.OutputTokens, u.CacheCreationInputTokens, u.CacheReadInputTokens, m.OutputTokensCounted, m.TurnID, t, t)
	return err
}

// ImportConversations stores whole conversations in one transaction.
func (db *DB) ImportConversations(ctx context.Context, list []claudebridge.ImportedConversation) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("import", err)
	}
	defer tx.Rollback()
	for _, ic := range list {
		c := ic.Conversation
		c.ID = newID("conv_")
		c.CreatedAt = now()
		c.UpdatedAt = c.CreatedAt
		t := nanos(c.CreatedAt)
		if _, err := tx.ExecContext(ctx, `INSERT INTO conversations (`+conversationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.UserID, c.Title, c.Model, c.PromptID, t, t); err != nil {
			return internal("import", err)
		}
		for i, m := range ic.Messages {
			m.ID, m.ConversationID, m.Seq = newID("msg_"), c.ID, i+1
			m.CreatedAt, m.UpdatedAt = c.CreatedAt, c.CreatedAt
			if err := insertMessage(ctx, tx, m, t); err != nil {
				return internal("import", err)
			}
		}
	}
	return internal("import", tx.Commit())
}

// UpdateMessage saves Content, Status, Error, Usage, OutputTokensCounted,
// Model and TurnID of m
// (a continued answer gets the id of the turn that continues it).
func (db *DB) UpdateMessage(ctx context.Context, m *claudebridge.Message) error {
	return updateMessage(ctx, db.ws, m)
}

// execer runs a statement: the writer's pool, or a transaction of it.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// updateMessageSQL saves what UpdateMessage saves of a message.
const updateMessageSQL = `UPDATE messages SET content = ?, status = ?, error = ?, model = ?,
	input_tokens = ?, output_tokens = ?, cache_creation_input_tokens = ?, cache_read_input_tokens = ?,
	output_tokens_counted = ?, turn_id = ?, updated_at = ? WHERE id = ?`

// updateMessage is UpdateMessage, through ex.
func updateMessage(ctx context.Context, ex execer, m *claudebridge.Message) error {
	m.UpdatedAt = now()
	u := m.Usage
	res, err := ex.ExecContext(ctx, updateMessageSQL, m.Content, m.Status, m.Error, m.Model, u.InputTokens, u.OutputTokens,
		u.CacheCreationInputTokens, u.CacheReadInputTokens, m.OutputTokensCounted, m.TurnID, nanos(m.UpdatedAt), m.ID)
	return affected(res, err, "message")
}

// DeleteMessagesFrom removes the messages of a conversation from seq on.
func (db *DB) DeleteMessagesFrom(ctx context.Context, conversationID string, seq int) error {
	_, err := db.ws.ExecContext(ctx, `DELETE FROM messages WHERE conversation_id = ? AND seq >= ?`, conversationID, seq)
	return internal("delete messages", err)
}

var _ claudebridge.StreamingTextSaver = (*DB)(nil)

// SaveStreamingTexts saves the texts of many streaming answers in one
// transaction (one commit): the chat's periodic save of every answer it is
// writing.
func (db *DB) SaveStreamingTexts(ctx context.Context, texts []claudebridge.StreamingText) error {
	if len(texts) == 0 {
		return nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("save streaming texts", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `UPDATE messages SET content = ?, updated_at = ?
		WHERE id = ? AND turn_id = ? AND status = 'streaming'`)
	if err != nil {
		return internal("save streaming texts", err)
	}
	defer st.Close()
	t := nanos(now())
	for _, s := range texts {
		if _, err := st.ExecContext(ctx, s.Content, t, s.MessageID, s.TurnID); err != nil {
			return internal("save streaming texts", err)
		}
	}
	return internal("save streaming texts", tx.Commit())
}
