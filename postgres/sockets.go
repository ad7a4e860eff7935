package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.SocketService = (*DB)(nil)

// sweepLimit bounds the expired rows each Add* removes of its table: the
// adds come as fast as the rows expire, so a few at a time keep up, and
// no add waits on a long delete.
const sweepLimit = 100

// The sweeps remove rows expired by this process's clock, before each
// add: nothing reads them after they expire.
const (
	sweepTickets = `DELETE FROM socket_tickets WHERE hash IN
		(SELECT hash FROM socket_tickets WHERE expires <= $1 LIMIT $2)`
	sweepConnections = `DELETE FROM socket_connections WHERE id IN
		(SELECT id FROM socket_connections WHERE expires <= $1 LIMIT $2)`
	sweepTurnRequests = `DELETE FROM turn_requests WHERE (turn_id, id) IN
		(SELECT turn_id, id FROM turn_requests WHERE expires <= $1 LIMIT $2)`
)

// AddSocketTicket stores a ticket's hash for userID until expires.
func (db *DB) AddSocketTicket(ctx context.Context, hash string, userID int64, expires time.Time) error {
	if _, err := db.pool.Exec(ctx, sweepTickets, now(), sweepLimit); err != nil {
		return internal("add socket ticket", err)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO socket_tickets (hash, user_id, expires) VALUES ($1, $2, $3)
		ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, expires = excluded.expires`, hash, userID, expires.UTC())
	return internal("add socket ticket", err)
}

// RedeemSocketTicket removes a live ticket and returns its user in one
// statement: of two redeeming it at once, the second waits on the row the
// first deletes and then finds it gone.
func (db *DB) RedeemSocketTicket(ctx context.Context, hash string, at time.Time) (int64, error) {
	var userID int64
	err := db.pool.QueryRow(ctx, `DELETE FROM socket_tickets WHERE hash = $1 AND expires > $2 RETURNING user_id`,
		hash, at.UTC()).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, claudebridge.Errorf(claudebridge.EAUTH, "no such ticket")
	}
	return userID, internal("redeem socket ticket", err)
}

// AddSocketConnection records an open connection, replacing one of the
// same ID.
func (db *DB) AddSocketConnection(ctx context.Context, c claudebridge.SocketConnection) error {
	if _, err := db.pool.Exec(ctx, sweepConnections, now(), sweepLimit); err != nil {
		return internal("add socket connection", err)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO socket_connections (id, user_id, at, expires) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, at = excluded.at, expires = excluded.expires`,
		c.ID, c.UserID, c.At.UTC(), c.Expires.UTC())
	return internal("add socket connection", err)
}

// SocketConnection returns a connection that has not expired at at.
func (db *DB) SocketConnection(ctx context.Context, id string, at time.Time) (*claudebridge.SocketConnection, error) {
	c := &claudebridge.SocketConnection{ID: id}
	err := db.pool.QueryRow(ctx, `SELECT user_id, at, expires FROM socket_connections WHERE id = $1 AND expires > $2`,
		id, at.UTC()).Scan(&c.UserID, &c.At, &c.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("connection")
	}
	if err != nil {
		return nil, internal("socket connection", err)
	}
	c.At, c.Expires = utc(c.At), utc(c.Expires)
	return c, nil
}

// RemoveSocketConnection removes a connection.
func (db *DB) RemoveSocketConnection(ctx context.Context, id string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM socket_connections WHERE id = $1`, id)
	return internal("remove socket connection", err)
}

// AddTurnRequest records a request to a turn, replacing one of the same
// turn and ID.
func (db *DB) AddTurnRequest(ctx context.Context, r claudebridge.TurnRequest) error {
	if r.TurnID == "" || r.ID == "" {
		return claudebridge.Errorf(claudebridge.EINVALID, "a turn request needs its turn and its id")
	}
	if _, err := db.pool.Exec(ctx, sweepTurnRequests, now(), sweepLimit); err != nil {
		return internal("add turn request", err)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO turn_requests (turn_id, id, kind, user_id, connection_id, after_seq, at, expires)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (turn_id, id) DO UPDATE SET kind = excluded.kind, user_id = excluded.user_id,
			connection_id = excluded.connection_id, after_seq = excluded.after_seq, at = excluded.at, expires = excluded.expires`,
		r.TurnID, r.ID, r.Kind, r.UserID, r.ConnectionID, r.AfterSeq, r.At.UTC(), r.Expires.UTC())
	return internal("add turn request", err)
}

// TurnRequests returns a turn's live requests, oldest first, then by ID
// byte by byte (as the other engines order them, whatever the database's
// collation). One statement, under READ COMMITTED: it sees every request
// committed before it began.
func (db *DB) TurnRequests(ctx context.Context, turnID string, at time.Time) ([]claudebridge.TurnRequest, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, kind, user_id, connection_id, after_seq, at, expires FROM turn_requests
		WHERE turn_id = $1 AND expires > $2 ORDER BY at, id COLLATE "C"`, turnID, at.UTC())
	if err != nil {
		return nil, internal("turn requests", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claudebridge.TurnRequest, error) {
		r := claudebridge.TurnRequest{TurnID: turnID}
		err := row.Scan(&r.ID, &r.Kind, &r.UserID, &r.ConnectionID, &r.AfterSeq, &r.At, &r.Expires)
		r.At, r.Expires = utc(r.At), utc(r.Expires)
		return r, err
	})
	if err != nil {
		return nil, internal("turn requests", err)
	}
	if list == nil {
		list = []claudebridge.TurnRequest{}
	}
	return list, nil
}
