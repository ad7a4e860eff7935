package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/claudebridge/claudebridge"
)

const conversationColumns = `id, user_id, title, model, prompt_id, created_at, updated_at`

// createConversation inserts a conversation, created and updated at $6.
const createConversation = `INSERT INTO conversations (` + conversationColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $6)`

func scanConversation(row pgx.CollectableRow) (claudebridge.Conversation, error) {
	var c claudebridge.Conversation
	err := row.Scan(&c.ID, &c.UserID, &c.Title, &c.Model, &c.PromptID, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	return c, err
}

// CreateConversation stores c, filling ID, CreatedAt and UpdatedAt.
func (db *DB) CreateConversation(ctx context.Context, c *claudebridge.Conversation) error {
	c.ID = newID("conv_")
	c.CreatedAt = now()
	c.UpdatedAt = c.CreatedAt
	_, err := db.pool.Exec(ctx, createConversation, c.ID, c.UserID, c.Title, c.Model, c.PromptID, c.CreatedAt)
	return internal("create conversation", err)
}

// Conversation returns one conversation of userID; ENOTFOUND otherwise.
func (db *DB) Conversation(ctx context.Context, userID int64, id string) (*claudebridge.Conversation, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1 AND user_id = $2`, id, userID)
	c, err := pgx.CollectExactlyOneRow(rows, scanConversation)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("conversation")
	}
	if err != nil {
		return nil, internal("conversation", err)
	}
	return &c, nil
}

// Conversations lists userID's conversations, most recently updated first,
// limit to a page (1 to 100, default 20). The cursor is opaque: the
// position of the last conversation of the previous page, its UpdatedAt in
// Unix nanoseconds, a dot and its ID (SQLite's store makes the same).
func (db *DB) Conversations(ctx context.Context, userID int64, cursor string, limit int) ([]claudebridge.Conversation, string, error) {
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	// Without a cursor, the position is past every conversation.
	after := pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	afterID := ""
	if cursor != "" {
		ts, id, ok := strings.Cut(cursor, ".")
		n, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil {
			return nil, "", claudebridge.Errorf(claudebridge.EINVALID, "cursor: not a cursor this API gave")
		}
		after, afterID = pgtype.Timestamptz{Time: time.Unix(0, n), Valid: true}, id
	}
	rows, _ := db.pool.Query(ctx, `SELECT `+conversationColumns+` FROM conversations
		WHERE user_id = $1 AND (updated_at, id) < ($2, $3)
		ORDER BY updated_at DESC, id DESC LIMIT $4`, userID, after, afterID, limit+1)
	list, err := pgx.CollectRows(rows, scanConversation)
	if err != nil {
		return nil, "", internal("conversations", err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		next = strconv.FormatInt(last.UpdatedAt.UnixNano(), 10) + "." + last.ID
	}
	return list, next, nil
}

// UpdateConversation saves Title, Model and PromptID of c and touches
// UpdatedAt.
func (db *DB) UpdateConversation(ctx context.Context, c *claudebridge.Conversation) error {
	c.UpdatedAt = now()
	tag, err := db.pool.Exec(ctx, `UPDATE conversations SET title = $1, model = $2, prompt_id = $3, updated_at = $4 WHERE id = $5 AND user_id = $6`,
		c.Title, c.Model, c.PromptID, c.UpdatedAt, c.ID, c.UserID)
	return affected(tag, err, "update conversation", "conversation")
}

// DeleteConversation removes a conversation and its messages.
func (db *DB) DeleteConversation(ctx context.Context, userID int64, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM conversations WHERE id = $1 AND user_id = $2`, id, userID)
	return affected(tag, err, "delete conversation", "conversation")
}

// SearchConversations lists userID's conversations whose title or any
// message contains query, newest first, at most limit (1 to 100, default
// 20). LIKE with its wildcards escaped, on text lowered under the "C"
// collation, which lowers ASCII letters only: case-insensitive as SQLite's
// LIKE is, whatever the database's own collation would fold. A user's
// conversations are few enough that a scan of their messages is cheaper
// than keeping an index.
func (db *DB) SearchConversations(ctx context.Context, userID int64, query string, limit int) ([]claudebridge.Conversation, error) {
	if strings.TrimSpace(query) == "" {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "q: must not be empty")
	}
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	pattern := "%" + likeEscaper.Replace(query) + "%"
	rows, _ := db.pool.Query(ctx, `SELECT `+conversationColumns+` FROM conversations c WHERE c.user_id = $1
		AND (lower(c.title COLLATE "C") LIKE lower($2 COLLATE "C")
			OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND lower(m.content COLLATE "C") LIKE lower($2 COLLATE "C")))
		ORDER BY c.updated_at DESC, c.id DESC LIMIT $3`, userID, pattern, limit)
	list, err := pgx.CollectRows(rows, scanConversation)
	if err != nil {
		return nil, internal("search conversations", err)
	}
	return list, nil
}

// likeEscaper makes LIKE's wildcards (and its escape, the backslash)
// match themselves.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
