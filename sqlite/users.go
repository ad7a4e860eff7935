package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/claudebridge/claudebridge"
)

// newUserID is the id of a user being inserted: past every user's and
// every removed user's (migration 3). SQLite runs one write at a time,
// so two inserts never read the same maximum.
const newUserID = `(SELECT max(coalesce((SELECT max(id) FROM users), 0), (SELECT max_id FROM users_retired)) + 1)`

// CreateUser stores a user with a password hash; EINVALID if the name is
// taken or empty.
func (db *DB) CreateUser(ctx context.Context, name, passwordHash string) (*claudebridge.User, error) {
	if name == "" {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "name: must not be empty")
	}
	u := &claudebridge.User{Name: name, CreatedAt: now()}
	res, err := db.ws.ExecContext(ctx, `INSERT INTO users (id, name, password_hash, created_at) VALUES (`+newUserID+`, ?, ?, ?)`, name, passwordHash, nanos(u.CreatedAt))
	if isUnique(err) {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "user %q exists", name)
	}
	if err != nil {
		return nil, internal("create user", err)
	}
	u.ID, err = res.LastInsertId()
	return u, internal("create user", err)
}

// UserByName returns the user and its password hash; ENOTFOUND if absent.
func (db *DB) UserByName(ctx context.Context, name string) (*claudebridge.User, string, error) {
	var u claudebridge.User
	var hash string
	var created int64
	err := db.rs.QueryRowContext(ctx, `SELECT id, name, password_hash, created_at FROM users WHERE name = ?`, name).Scan(&u.ID, &u.Name, &hash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", notFound("user")
	}
	if err != nil {
		return nil, "", internal("user", err)
	}
	u.CreatedAt = fromNanos(created)
	return &u, hash, nil
}

// EnsureUser returns the user of that name, creating it without a password
// (it cannot log in) if absent.
func (db *DB) EnsureUser(ctx context.Context, name string) (*claudebridge.User, error) {
	if name == "" {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "name: must not be empty")
	}
	if _, err := db.ws.ExecContext(ctx, `INSERT INTO users (id, name, password_hash, created_at) VALUES (`+newUserID+`, ?, '', ?) ON CONFLICT (name) DO NOTHING`,
		name, nanos(now())); err != nil {
		return nil, internal("ensure user", err)
	}
	u, _, err := db.UserByName(ctx, name)
	return u, err
}

// CountUsers counts the users that can log in (those with a password): the
// local and trusted-header users do not make login necessary.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.rs.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE password_hash != ''`).Scan(&n)
	return n, internal("count users", err)
}

// Users lists every user by name.
func (db *DB) Users(ctx context.Context) ([]claudebridge.User, error) {
	rows, err := db.rs.QueryContext(ctx, `SELECT id, name, created_at FROM users ORDER BY name`)
	if err != nil {
		return nil, internal("users", err)
	}
	defer rows.Close()
	var list []claudebridge.User
	for rows.Next() {
		var u claudebridge.User
		var created int64
		if err := rows.Scan(&u.ID, &u.Name, &created); err != nil {
			return nil, internal("users", err)
		}
		u.CreatedAt = fromNanos(created)
		list = append(list, u)
	}
	return list, internal("users", rows.Err())
}

// CreateSession stores a session token's hash for userID until expires.
func (db *DB) CreateSession(ctx context.Context, userID int64, tokenHash string, expires time.Time) error {
	// Expired sessions are swept here: logins are rare, and no timer is needed.
	if _, err := db.ws.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, nanos(now())); err != nil {
		return internal("create session", err)
	}
	_, err := db.ws.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)`, tokenHash, userID, nanos(expires))
	return internal("create session", err)
}

// SessionUser returns the user of a live session; EAUTH if none.
func (db *DB) SessionUser(ctx context.Context, tokenHash string) (*claudebridge.User, error) {
	var u claudebridge.User
	var created int64
	err := db.rs.QueryRowContext(ctx, `SELECT u.id, u.name, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ?`, tokenHash, nanos(now())).Scan(&u.ID, &u.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, claudebridge.Errorf(claudebridge.EAUTH, "not logged in")
	}
	if err != nil {
		return nil, internal("session", err)
	}
	u.CreatedAt = fromNanos(created)
	return &u, nil
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := db.ws.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	return internal("delete session", err)
}

// SetPassword replaces a user's password hash and ends the user's
// sessions: whoever knew the old password is logged out. ENOTFOUND if
// there is no such user.
func (db *DB) SetPassword(ctx context.Context, name, passwordHash string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("set password", err)
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, `UPDATE users SET password_hash = ? WHERE name = ? RETURNING id`, passwordHash, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("user")
	}
	if err != nil {
		return internal("set password", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
		return internal("set password", err)
	}
	return internal("set password", tx.Commit())
}

// DeleteUser removes a user with everything that is theirs: sessions
// (which ends them), conversations, prompts and usage. ENOTFOUND if there
// is no such user.
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	res, err := db.ws.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
	if err != nil {
		return internal("delete user", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return internal("delete user", err)
	} else if n == 0 {
		return notFound("user")
	}
	return nil
}
