package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/claudebridge/claudebridge"
)

// CreateUser stores a user with a password hash; EINVALID if the name is
// taken or empty. The id comes from the users' identity sequence, which
// never gives a number twice, also after a removal.
func (db *DB) CreateUser(ctx context.Context, name, passwordHash string) (*claudebridge.User, error) {
	if name == "" {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "name: must not be empty")
	}
	u := &claudebridge.User{Name: name, CreatedAt: now()}
	err := db.pool.QueryRow(ctx, `INSERT INTO users (name, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id`,
		name, passwordHash, u.CreatedAt).Scan(&u.ID)
	if isUnique(err) {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "user %q exists", name)
	}
	if err != nil {
		return nil, internal("create user", err)
	}
	return u, nil
}

// UserByName returns the user and its password hash; ENOTFOUND if absent.
func (db *DB) UserByName(ctx context.Context, name string) (*claudebridge.User, string, error) {
	var u claudebridge.User
	var hash string
	err := db.pool.QueryRow(ctx, `SELECT id, name, password_hash, created_at FROM users WHERE name = $1`, name).
		Scan(&u.ID, &u.Name, &hash, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", notFound("user")
	}
	if err != nil {
		return nil, "", internal("user", err)
	}
	u.CreatedAt = utc(u.CreatedAt)
	return &u, hash, nil
}

// EnsureUser returns the user of that name, creating it without a password
// (it cannot log in) if absent.
func (db *DB) EnsureUser(ctx context.Context, name string) (*claudebridge.User, error) {
	if name == "" {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "name: must not be empty")
	}
	// Two statements, not one: an insert that loses to a concurrent one
	// waits for it to commit, and only a later statement's snapshot sees
	// the winner's row.
	if _, err := db.pool.Exec(ctx, `INSERT INTO users (name, password_hash, created_at) VALUES ($1, '', $2) ON CONFLICT (name) DO NOTHING`,
		name, now()); err != nil {
		return nil, internal("ensure user", err)
	}
	u, _, err := db.UserByName(ctx, name)
	return u, err
}

// CountUsers counts the users that can log in (those with a password): the
// local and trusted-header users do not make login necessary.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE password_hash <> ''`).Scan(&n)
	return n, internal("count users", err)
}

// Users lists every user by name, in byte order as SQLite's store does,
// whatever the database's collation.
func (db *DB) Users(ctx context.Context) ([]claudebridge.User, error) {
	rows, _ := db.pool.Query(ctx, `SELECT id, name, created_at FROM users ORDER BY name COLLATE "C"`)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claudebridge.User, error) {
		var u claudebridge.User
		err := row.Scan(&u.ID, &u.Name, &u.CreatedAt)
		u.CreatedAt = utc(u.CreatedAt)
		return u, err
	})
	return list, internal("users", err)
}

// CreateSession stores a session token's hash for userID until expires.
func (db *DB) CreateSession(ctx context.Context, userID int64, tokenHash string, expires time.Time) error {
	// Expired sessions are swept here: logins are rare, and no timer is needed.
	if _, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, now()); err != nil {
		return internal("create session", err)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`, tokenHash, userID, expires)
	return internal("create session", err)
}

// SessionUser returns the user of a live session; EAUTH if none.
func (db *DB) SessionUser(ctx context.Context, tokenHash string) (*claudebridge.User, error) {
	var u claudebridge.User
	err := db.pool.QueryRow(ctx, `SELECT u.id, u.name, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2`, tokenHash, now()).Scan(&u.ID, &u.Name, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, claudebridge.Errorf(claudebridge.EAUTH, "not logged in")
	}
	if err != nil {
		return nil, internal("session", err)
	}
	u.CreatedAt = utc(u.CreatedAt)
	return &u, nil
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	return internal("delete session", err)
}

// SetPassword replaces a user's password hash and ends the user's
// sessions: whoever knew the old password is logged out. ENOTFOUND if
// there is no such user.
func (db *DB) SetPassword(ctx context.Context, name, passwordHash string) error {
	err := db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `UPDATE users SET password_hash = $1 WHERE name = $2 RETURNING id`, passwordHash, name).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("user")
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id)
		return err
	})
	return internal("set password", err)
}

// DeleteUser removes a user with everything that is theirs: sessions
// (which ends them), conversations, prompts and usage, by the foreign
// keys' cascades. ENOTFOUND if there is no such user.
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM users WHERE name = $1`, name)
	return affected(tag, err, "delete user", "user")
}

// affected turns "no row changed" into ENOTFOUND of what.
func affected(tag pgconn.CommandTag, err error, op, what string) error {
	if err != nil {
		return internal(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(what)
	}
	return nil
}
