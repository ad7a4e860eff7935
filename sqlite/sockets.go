package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.SocketService = (*DB)(nil)

// sweepLimit bounds the expired rows each Add* removes of its table: the
// adds come as fast as the rows expire, so a few at a time keep up, and
// no add waits on a long delete.
const sweepLimit = 100

// The sweeps remove rows expired by this process's clock, before each
// add: nothing else reads them after they expire.
const (
	sweepTickets = `DELETE FROM socket_tickets WHERE hash IN
		(SELECT hash FROM socket_tickets WHERE expires <= ? LIMIT ?)`
	sweepConnections = `DELETE FROM socket_connections WHERE id IN
		(SELECT id FROM socket_connections WHERE expires <= ? LIMIT ?)`
	sweepTurnRequests = `DELETE FROM turn_requests WHERE (turn_id, id) IN
		(SELECT turn_id, id FROM turn_requests WHERE expires <= ? LIMIT ?)`
)

// AddSocketTicket stores a ticket's hash for userID until expires.
func (db *DB) AddSocketTicket(ctx context.Context, hash string, userID int64, expires time.Time) error {
	if _, err := db.ws.ExecContext(ctx, sweepTickets, nanos(now()), sweepLimit); err != nil {
		return internal("add socket ticket", err)
	}
	_, err := db.ws.ExecContext(ctx, `INSERT INTO socket_tickets (hash, user_id, expires) VALUES (?, ?, ?)
		ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, expires = excluded.expires`, hash, userID, nanos(expires))
	return internal("add socket ticket", err)
}

// RedeemSocketTicket removes a live ticket and returns its user in one
// statement: of two redeeming it at once, the second finds no row.
func (db *DB) RedeemSocketTicket(ctx context.Context, hash string, at time.Time) (int64, error) {
	var userID int64
	err := db.ws.QueryRowContext(ctx, `DELETE FROM socket_tickets WHERE hash = ? AND expires > ? RETURNING user_id`,
		hash, nanos(at)).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, claudebridge.Errorf(claudebridge.EAUTH, "no such ticket")
	}
	return userID, internal("redeem socket ticket", err)
}

// AddSocketConnection records an open connection, replacing one of the
// same ID.
func (db *DB) AddSocketConnection(ctx context.Context, c claudebridge.SocketConnection) error {
	if _, err := db.ws.ExecContext(ctx, sweepConnections, nanos(now()), sweepLimit); err != nil {
		return internal("add socket connection", err)
	}
	_, err := db.ws.ExecContext(ctx, `INSERT INTO socket_connections (id, user_id, at, expires) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, at = excluded.at, expires = excluded.expires`,
		c.ID, c.UserID, nanos(c.At), nanos(c.Expires))
	return internal("add socket connection", err)
}

// SocketConnection returns a connection that has not expired at at.
func (db *DB) SocketConnection(ctx context.Context, id string, at time.Time) (*claudebridge.SocketConnection, error) {
	c := &claudebridge.SocketConnection{ID: id}
	var connected, expires int64
	err := db.rs.QueryRowContext(ctx, `SELECT user_id, at, expires FROM socket_connections WHERE id = ? AND expires > ?`,
		id, nanos(at)).Scan(&c.UserID, &connected, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("connection")
	}
	if err != nil {
		return nil, internal("socket connection", err)
	}
	c.At, c.Expires = fromNanos(connected), fromNanos(expires)
	return c, nil
}

// RemoveSocketConnection removes a connection.
func (db *DB) RemoveSocketConnection(ctx context.Context, id string) error {
	_, err := db.ws.ExecContext(ctx, `DELETE FROM socket_connections WHERE id = ?`, id)
	return internal("remove socket connection", err)
}

// AddTurnRequest records a request to a turn, replacing one of the same
// turn and ID.
func (db *DB) AddTurnRequest(ctx context.Context, r claudebridge.TurnRequest) error {
	if r.TurnID == "" || r.ID == "" {
		return claudebridge.Errorf(claudebridge.EINVALID, "a turn request needs its turn and its id")
	}
	if _, err := db.ws.ExecContext(ctx, sweepTurnRequests, nanos(now()), sweepLimit); err != nil {
		return internal("add turn request", err)
	}
	_, err := db.ws.ExecContext(ctx, `INSERT INTO turn_requests (turn_id, id, kind, user_id, connection_id, after_seq, at, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (turn_id, id) DO UPDATE SET kind = excluded.kind, user_id = excluded.user_id,
			connection_id = excluded.connection_id, after_seq = excluded.after_seq, at = excluded.at, expires = excluded.expires`,
		r.TurnID, r.ID, r.Kind, r.UserID, r.ConnectionID, r.AfterSeq, nanos(r.At), nanos(r.Expires))
	return internal("add turn request", err)
}

// TurnRequests returns a turn's live requests, oldest first. A read
// after a write's commit sees it: WAL readers read the last commit.
func (db *DB) TurnRequests(ctx context.Context, turnID string, at time.Time) ([]claudebridge.TurnRequest, error) {
	rows, err := db.rs.QueryContext(ctx, `SELECT id, kind, user_id, connection_id, after_seq, at, expires FROM turn_requests
		WHERE turn_id = ? AND expires > ? ORDER BY at, id`, turnID, nanos(at))
	if err != nil {
		return nil, internal("turn requests", err)
	}
	defer rows.Close()
	list := []claudebridge.TurnRequest{}
	for rows.Next() {
		r := claudebridge.TurnRequest{TurnID: turnID}
		var asked, expires int64
		if err := rows.Scan(&r.ID, &r.Kind, &r.UserID, &r.ConnectionID, &r.AfterSeq, &asked, &expires); err != nil {
			return nil, internal("turn requests", err)
		}
		r.At, r.Expires = fromNanos(asked), fromNanos(expires)
		list = append(list, r)
	}
	return list, internal("turn requests", rows.Err())
}
