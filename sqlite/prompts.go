package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/claudebridge/claudebridge"
)

const promptColumns = `id, user_id, name, text, created_at, updated_at`

func scanPrompt(row interface{ Scan(...any) error }) (*claudebridge.Prompt, error) {
	var p claudebridge.Prompt
	var created, updated int64
	if err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.Text, &created, &updated); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &p, nil
}

// CreatePrompt stores p, filling ID and times.
func (db *DB) CreatePrompt(ctx context.Context, p *claudebridge.Prompt) error {
	p.ID = newID("prompt_")
	p.CreatedAt = now()
	p.UpdatedAt = p.CreatedAt
	_, err := db.ws.ExecContext(ctx, `INSERT INTO prompts (`+promptColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ID, p.UserID, p.Name, p.Text, nanos(p.CreatedAt), nanos(p.UpdatedAt))
	return internal("create prompt", err)
}

// Prompt returns one of userID's prompts; ENOTFOUND otherwise.
func (db *DB) Prompt(ctx context.Context, userID int64, id string) (*claudebridge.Prompt, error) {
	p, err := scanPrompt(db.rs.QueryRowContext(ctx, `SELECT `+promptColumns+` FROM prompts WHERE id = ? AND user_id = ?`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("prompt")
	}
	return p, internal("prompt", err)
}

// Prompts lists userID's prompts by name.
func (db *DB) Prompts(ctx context.Context, userID int64) ([]claudebridge.Prompt, error) {
	rows, err := db.rs.QueryContext(ctx, `SELECT `+promptColumns+` FROM prompts WHERE user_id = ? ORDER BY name, id`, userID)
	if err != nil {
		return nil, internal("prompts", err)
	}
	defer rows.Close()
	list := []claudebridge.Prompt{}
	for rows.Next() {
		p, err := scanPrompt(rows)
		if err != nil {
			return nil, internal("prompts", err)
		}
		list = append(list, *p)
	}
	return list, internal("prompts", rows.Err())
}

// UpdatePrompt saves Name and Text of p.
func (db *DB) UpdatePrompt(ctx context.Context, p *claudebridge.Prompt) error {
	p.UpdatedAt = now()
	res, err := db.ws.ExecContext(ctx, `UPDATE prompts SET name = ?, text = ?, updated_at = ? WHERE id = ? AND user_id = ?`,
		p.Name, p.Text, nanos(p.UpdatedAt), p.ID, p.UserID)
	return affected(res, err, "prompt")
}

// DeletePrompt removes a prompt; conversations that chose it go on without
// a system prompt.
func (db *DB) DeletePrompt(ctx context.Context, userID int64, id string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("delete prompt", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM prompts WHERE id = ? AND user_id = ?`, id, userID)
	if err := affected(res, err, "prompt"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET prompt_id = '' WHERE prompt_id = ? AND user_id = ?`, id, userID); err != nil {
		return internal("delete prompt", err)
	}
	return internal("delete prompt", tx.Commit())
}
