package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/claudebridge/claudebridge"
)

const messageColumns = `m.id, m.conversation_id, m.seq, m.role, m.content, m.status, m.error, m.model,
	m.input_tokens, m.output_tokens, m.cache_creation_input_tokens, m.cache_read_input_tokens,
	m.output_tokens_counted, m.turn_id, m.created_at, m.updated_at`

// messageFields are the destinations of messageColumns in m.
func messageFields(m *claudebridge.Message) []any {
	return []any{&m.ID, &m.ConversationID, &m.Seq, &m.Role, &m.Content, &m.Status, &m.Error, &m.Model,
		&m.Usage.InputTokens, &m.Usage.OutputTokens, &m.Usage.CacheCreationInputTokens, &m.Usage.CacheReadInputTokens,
		&m.OutputTokensCounted, &m.TurnID, &m.CreatedAt, &m.UpdatedAt}
}

func scanMessage(row pgx.CollectableRow) (claudebridge.Message, error) {
	var m claudebridge.Message
	err := row.Scan(messageFields(&m)...)
	m.CreatedAt, m.UpdatedAt = utc(m.CreatedAt), utc(m.UpdatedAt)
	return m, err
}

// Messages returns the messages of userID's conversation in Seq order;
// ENOTFOUND if the conversation is not userID's.
func (db *DB) Messages(ctx context.Context, userID int64, conversationID string) ([]claudebridge.Message, error) {
	// One round trip: whether the conversation is userID's, and its
	// messages, in one pipeline.
	var mine bool
	var list []claudebridge.Message
	b := &pgx.Batch{}
	b.Queue(`SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND user_id = $2)`, conversationID, userID).
		QueryRow(func(row pgx.Row) error { return row.Scan(&mine) })
	b.Queue(`SELECT `+messageColumns+` FROM messages m
		JOIN conversations c ON c.id = m.conversation_id
		WHERE m.conversation_id = $1 AND c.user_id = $2 ORDER BY m.seq`, conversationID, userID).
		Query(func(rows pgx.Rows) error {
			var err error
			list, err = pgx.CollectRows(rows, scanMessage)
			return err
		})
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, internal("messages", err)
	}
	if !mine {
		return nil, notFound("conversation")
	}
	return list, nil
}

// AddMessage appends m to its conversation (Seq one past the last, ID and
// times filled) and touches the conversation's UpdatedAt. ENOTFOUND if the
// conversation does not exist.
func (db *DB) AddMessage(ctx context.Context, m *claudebridge.Message) error {
	m.ID = newID("msg_")
	m.CreatedAt = now()
	m.UpdatedAt = m.CreatedAt
	var touched int64 // conversations touched: 0 for an absent one
	err := retry(ctx, func() error {
		// One round trip: the two statements go in one pipeline, which
		// PostgreSQL runs as one transaction (an implicit one, the batch
		// ending in one Sync). Touching the conversation locks its row
		// until commit: a concurrent AddMessage to it waits there, and the
		// INSERT, under a snapshot of its own, sees the message it
		// committed. The unique (conversation_id, seq) stands behind this.
		b := &pgx.Batch{}
		b.Queue(`UPDATE conversations SET updated_at = $1 WHERE id = $2`, m.CreatedAt, m.ConversationID).
			Exec(func(tag pgconn.CommandTag) error { touched = tag.RowsAffected(); return nil })
		b.Queue(`INSERT INTO messages (id, conversation_id, seq, role, content, status, error, model,
			input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, output_tokens_counted,
			turn_id, created_at, updated_at)
			SELECT $1, $2, coalesce(max(seq), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14
			FROM messages WHERE conversation_id = $2 RETURNING seq`,
			m.ID, m.ConversationID, m.Role, m.Content, m.Status, m.Error, m.Model,
			m.Usage.InputTokens, m.Usage.OutputTokens, m.Usage.CacheCreationInputTokens, m.Usage.CacheReadInputTokens,
			m.OutputTokensCounted, m.TurnID, m.CreatedAt).
			QueryRow(func(row pgx.Row) error { return row.Scan(&m.Seq) })
		return db.pool.SendBatch(ctx, b).Close()
	})
	if touched == 0 && isForeignKey(err) {
		return notFound("conversation")
	}
	return internal("add message", err)
}

// ImportConversations stores whole conversations in one transaction, the
// rows of each table sent in one COPY.
func (db *DB) ImportConversations(ctx context.Context, list []claudebridge.ImportedConversation) error {
	var convs, msgs [][]any
	for _, ic := range list {
		c := ic.Conversation
		c.ID = newID("conv_")
		c.CreatedAt = now()
		c.UpdatedAt = c.CreatedAt
		convs = append(convs, []any{c.ID, c.UserID, c.Title, c.Model, c.PromptID, c.CreatedAt, c.UpdatedAt})
		for i, m := range ic.Messages {
			m.ID, m.ConversationID, m.Seq = newID("msg_"), c.ID, i+1
			m.CreatedAt, m.UpdatedAt = c.CreatedAt, c.CreatedAt
			u := m.Usage
			msgs = append(msgs, []any{m.ID, m.ConversationID, m.Seq, m.Role, m.Content, m.Status, m.Error, m.Model,
				u.InputTokens, u.OutputTokens, u.CacheCreationInputTokens, u.CacheReadInputTokens,
				m.OutputTokensCounted, m.TurnID, m.CreatedAt, m.UpdatedAt})
		}
	}
	err := db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"conversations"},
			[]string{"id", "user_id", "title", "model", "prompt_id", "created_at", "updated_at"}, pgx.CopyFromRows(convs)); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"messages"},
			[]string{"id", "conversation_id", "seq", "role", "content", "status", "error", "model",
				"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
				"output_tokens_counted", "turn_id", "created_at", "updated_at"}, pgx.CopyFromRows(msgs))
		return err
	})
	return internal("import", err)
}

// UpdateMessage saves Content, Status, Error, Usage, OutputTokensCounted,
// Model and TurnID of m (a continued answer gets the id of the turn that
// continues it).
func (db *DB) UpdateMessage(ctx context.Context, m *claudebridge.Message) error {
	m.UpdatedAt = now()
	u := m.Usage
	tag, err := db.pool.Exec(ctx, updateMessage, m.Content, m.Status, m.Error, m.Model, u.InputTokens, u.OutputTokens,
		u.CacheCreationInputTokens, u.CacheReadInputTokens, m.OutputTokensCounted, m.TurnID, m.UpdatedAt, m.ID)
	return affected(tag, err, "update message", "message")
}

// updateMessage saves a message's content, status, error, model, usage
// and turn, by its id ($12).
const updateMessage = `UPDATE messages SET content = $1, status = $2, error = $3, model = $4,
	input_tokens = $5, output_tokens = $6, cache_creation_input_tokens = $7, cache_read_input_tokens = $8,
	output_tokens_counted = $9, turn_id = $10, updated_at = $11 WHERE id = $12`

// DeleteMessagesFrom removes the messages of a conversation from seq on.
func (db *DB) DeleteMessagesFrom(ctx context.Context, conversationID string, seq int) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM messages WHERE conversation_id = $1 AND seq >= $2`, conversationID, seq)
	return internal("delete messages", err)
}

var _ claudebridge.StreamingTextSaver = (*DB)(nil)

// SaveStreamingTexts saves the texts of many streaming answers in one
// statement: the chat's periodic save of every answer it is writing.
func (db *DB) SaveStreamingTexts(ctx context.Context, texts []claudebridge.StreamingText) error {
	if len(texts) == 0 {
		return nil
	}
	ids, turns, contents := make([]string, len(texts)), make([]string, len(texts)), make([]string, len(texts))
	for i, st := range texts {
		ids[i], turns[i], contents[i] = st.MessageID, st.TurnID, st.Content
	}
	_, err := db.pool.Exec(ctx, `UPDATE messages m SET content = v.content, updated_at = $4
		FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, turn_id, content)
		WHERE m.id = v.id AND m.turn_id = v.turn_id AND m.status = 'streaming'`,
		ids, turns, contents, now())
	return internal("save streaming texts", err)
}
