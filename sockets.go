package claudebridge

import (
	"context"
	"time"
)

// SocketService keeps what the chat's WebSockets share when no process
// holds them: behind API Gateway's WebSocket API each connect, message and
// disconnect is a Lambda invocation of its own, and invocations share no
// memory. Who a connection is, the tickets that open one, and what pages
// ask of a running turn (follow it, stop it) live in the store.
type SocketService interface {
	// AddSocketTicket stores a ticket, by the SHA-256 hex of its text, that
	// lets userID open one WebSocket until expires.
	AddSocketTicket(ctx context.Context, hash string, userID int64, expires time.Time) error
	// RedeemSocketTicket removes the ticket with hash and returns its user.
	// EAUTH if there is none, it was redeemed, or it expired at or before
	// now. Of several redeeming one ticket at once, one succeeds.
	RedeemSocketTicket(ctx context.Context, hash string, now time.Time) (int64, error)
	// AddSocketConnection records an open connection; an existing one with
	// the same ID is replaced.
	AddSocketConnection(ctx context.Context, c SocketConnection) error
	// SocketConnection returns the connection with id; ENOTFOUND if there
	// is none or it expired at or before now.
	SocketConnection(ctx context.Context, id string, now time.Time) (*SocketConnection, error)
	// RemoveSocketConnection removes a connection; removing an absent one
	// is not an error.
	RemoveSocketConnection(ctx context.Context, id string) error
	// AddTurnRequest records a request to the process running a turn.
	// EINVALID without TurnID or ID; an existing one with the same TurnID
	// and ID is replaced.
	AddTurnRequest(ctx context.Context, r TurnRequest) error
	// TurnRequests returns the requests for turnID that have not expired at
	// now, oldest first (by At, then ID). Reads see every request added
	// before the call began.
	TurnRequests(ctx context.Context, turnID string, now time.Time) ([]TurnRequest, error)
}

// SocketConnection is an open WebSocket of API Gateway, by its
// connectionId.
type SocketConnection struct {
	ID      string
	UserID  int64
	At      time.Time // when it connected
	Expires time.Time // API Gateway ends a connection after 2 hours
}

// Turn request kinds.
const (
	TurnFollow = "follow" // send the turn's deltas after AfterSeq to ConnectionID
	TurnStop   = "stop"   // stop the turn, keeping its text
)

// TurnRequest is what a page asks of a running turn through the store; the
// invocation running the turn reads them as it goes, and tells new ones by
// ID.
type TurnRequest struct {
	TurnID       string
	ID           string // random, unique per turn
	Kind         string // TurnFollow or TurnStop
	UserID       int64  // who asked: the turn's process honours its own user only
	ConnectionID string // TurnFollow: the connection to send to
	AfterSeq     int    // TurnFollow: the last delta the page has
	At           time.Time
	Expires      time.Time
}
