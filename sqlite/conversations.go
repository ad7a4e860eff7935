package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/claudebridge/claudebridge"
)

const conversationColumns = `id, user_id, title, model, prompt_id, created_at, updated_at`

// createConversation inserts a conversation, all its columns given.
const createConversation = `INSERT INTO conversations (` + conversationColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)`

func scanConversation(row interface{ Scan(...any) error }) (*claudebridge.Conversation, error) {
	var c claudebridge.Conversation
	var created, updated int64
	if err := row.Scan(&c.ID, &c.UserID, &c.Title, &c.Model, &c.PromptID, &created, &updated); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &c, nil
}

// CreateConversation stores c, filling ID, CreatedAt and UpdatedAt.
func (db *DB) CreateConversation(ctx context.Context, c *claudebridge.Conversation) error {
	c.ID = newID("conv_")
	c.CreatedAt = now()
	c.UpdatedAt = c.CreatedAt
	_, err := db.ws.ExecContext(ctx, createConversation, c.ID, c.UserID, c.Title, c.Model, c.PromptID, nanos(c.CreatedAt), nanos(c.UpdatedAt))
	return internal("create conversation", err)
}

// Conversation returns one conversation of userID; ENOTFOUND otherwise.
func (db *DB) Conversation(ctx context.Context, userID int64, id string) (*claudebridge.Conversation, error) {
	c, err := scanConversation(db.rs.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ? AND user_id = ?`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("conversation")
	}
	return c, internal("conversation", err)
}

// Conversations lists userID's conversations, most recently updated first,
// limit to a page (1 to 100, default 20). The cursor is opaque: the
// position of the last conversation of the previous page.
func (db *DB) Conversations(ctx context.Context, userID int64, cursor string, limit int) ([]claudebridge.Conversation, string, error) {
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	query := `SELECT ` + conversationColumns + ` FROM conversations WHERE user_id = ?`
	args := []any{userID}
	if cursor != "" {
		ts, id, ok := strings.Cut(cursor, ".")
		n, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil {
			return nil, "", claudebridge.Errorf(claudebridge.EINVALID, "cursor: not a cursor this API gave")
		}
		query += ` AND (updated_at < ? OR (updated_at = ? AND id < ?))`
		args = append(args, n, n, id)
	}
	query += ` ORDER BY updated_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := db.rs.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", internal("conversations", err)
	}
	defer rows.Close()
	var list []claudebridge.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, "", internal("conversations", err)
		}
		list = append(list, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", internal("conversations", err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		next = strconv.FormatInt(nanos(last.UpdatedAt), 10) + "." + last.ID
	}
	return list, next, nil
}

// UpdateConversation saves Title, Model and PromptID of c and touches
// UpdatedAt.
func (db *DB) UpdateConversation(ctx context.Context, c *claudebridge.Conversation) error {
	c.UpdatedAt = now()
	res, err := db.ws.ExecContext(ctx, `UPDATE conversations SET title = ?, model = ?, prompt_id = ?, updated_at = ? WHERE id = ? AND user_id = ?`,
		c.Title, c.Model, c.PromptID, nanos(c.UpdatedAt), c.ID, c.UserID)
	return affected(res, err, "conversation")
}

// DeleteConversation removes a conversation and its messages.
func (db *DB) DeleteConversation(ctx context.Context, userID int64, id string) error {
	res, err := db.ws.ExecContext(ctx, `DELETE FROM conversations WHERE id = ? AND user_id = ?`, id, userID)
	return affected(res, err, "conversation")
}

// affected turns "no row changed" into ENOTFOUND.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return internal("update "+what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return internal("update "+what, err)
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}

// SearchConversations lists userID's conversations whose title or any
// message contains query, newest first, at most limit (1 to 100, default
// 20). LIKE, with its wildcards escaped: a user's conversations are few
// enough that a scan of their messages is cheaper than keeping an index.
func (db *DB) SearchConversations(ctx context.Context, userID int64, query string, limit int) ([]claudebridge.Conversation, error) {
	if strings.TrimSpace(query) == "" {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "q: must not be empty")
	}
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	pattern := "%" + likeEscaper.Replace(query) + "%"
	rows, err := db.rs.QueryContext(ctx, `SELECT `+conversationColumns+` FROM conversations c WHERE c.user_id = ?
		AND (c.title LIKE ? ESCAPE '\' OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content LIKE ? ESCAPE '\'))
		ORDER BY c.updated_at DESC, c.id DESC LIMIT ?`, userID, pattern, pattern, limit)
	if err != nil {
		return nil, internal("search conversations", err)
	}
	defer rows.Close()
	list := []claudebridge.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, internal("search conversations", err)
		}
		list = append(list, *c)
	}
	return list, internal("search conversations", rows.Err())
}

// likeEscaper makes LIKE's wildcards (and its escape) match themselves.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
