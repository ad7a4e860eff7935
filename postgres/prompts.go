package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge"
)

const promptColumns = `id, user_id, name, text, created_at, updated_at`

func scanPrompt(row pgx.CollectableRow) (claudebridge.Prompt, error) {
	var p claudebridge.Prompt
	err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.Text, &p.CreatedAt, &p.UpdatedAt)
	p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	return p, err
}

// CreatePrompt stores p, filling ID and times.
func (db *DB) CreatePrompt(ctx context.Context, p *claudebridge.Prompt) error {
	p.ID = newID("prompt_")
	p.CreatedAt = now()
	p.UpdatedAt = p.CreatedAt
	_, err := db.pool.Exec(ctx, `INSERT INTO prompts (`+promptColumns+`) VALUES ($1, $2, $3, $4, $5, $5)`,
		p.ID, p.UserID, p.Name, p.Text, p.CreatedAt)
	return internal("create prompt", err)
}

// Prompt returns one of userID's prompts; ENOTFOUND otherwise.
func (db *DB) Prompt(ctx context.Context, userID int64, id string) (*claudebridge.Prompt, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+promptColumns+` FROM prompts WHERE id = $1 AND user_id = $2`, id, userID)
	p, err := pgx.CollectExactlyOneRow(rows, scanPrompt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("prompt")
	}
	if err != nil {
		return nil, internal("prompt", err)
	}
	return &p, nil
}

// Prompts lists userID's prompts by name, in byte order as SQLite's store
// does, whatever the database's collation.
func (db *DB) Prompts(ctx context.Context, userID int64) ([]claudebridge.Prompt, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+promptColumns+` FROM prompts WHERE user_id = $1 ORDER BY name COLLATE "C", id COLLATE "C"`, userID)
	list, err := pgx.CollectRows(rows, scanPrompt)
	return list, internal("prompts", err)
}

// UpdatePrompt saves Name and Text of p.
func (db *DB) UpdatePrompt(ctx context.Context, p *claudebridge.Prompt) error {
	p.UpdatedAt = now()
	tag, err := db.pool.Exec(ctx, `UPDATE prompts SET name = $1, text = $2, updated_at = $3 WHERE id = $4 AND user_id = $5`,
		p.Name, p.Text, p.UpdatedAt, p.ID, p.UserID)
	return affected(tag, err, "update prompt", "prompt")
}

// DeletePrompt removes a prompt; conversations that chose it go on without
// a system prompt.
func (db *DB) DeletePrompt(ctx context.Context, userID int64, id string) error {
	err := db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM prompts WHERE id = $1 AND user_id = $2`, id, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("prompt")
		}
		_, err = tx.Exec(ctx, `UPDATE conversations SET prompt_id = '' WHERE prompt_id = $1 AND user_id = $2`, id, userID)
		return err
	})
	return internal("delete prompt", err)
}
