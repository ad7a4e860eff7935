package claudebridge

import (
	"context"
	"encoding/json"
	"time"
)

// Record is one thing a store keeps, as `claudebridge migrate` copies it
// from one store to another, whatever the engines: exactly one field is
// set. What is only state of a running process (leases, claims, counters,
// and SocketService's tickets, connections and turn requests, which
// expire within hours) is not a record: it starts anew in the other store.
type Record struct {
	User         *UserRecord
	Session      *SessionRecord
	Prompt       *Prompt
	Conversation *Conversation
	Message      *Message
	Key          *Key
	Batch        *BatchRecord
	Ledger       *LedgerRecord
}

// UserRecord is a user with its password hash.
type UserRecord struct {
	User
	PasswordHash string
}

// SessionRecord is a live login session.
type SessionRecord struct {
	TokenHash string
	UserID    int64
	ExpiresAt time.Time
}

// BatchRecord is a Message Batch with every request and the result of
// each that has one.
type BatchRecord struct {
	Batch
	Items []BatchItem // in the order the requests were given
}

// BatchItem is one request of a batch, with its result if it has one (its
// params are then empty, as the stores keep them).
type BatchItem struct {
	CustomID   string
	Params     json.RawMessage
	ResultType string          // "" until it has a result
	Result     json.RawMessage // the result's line
}

// LedgerRecord is a ledger entry with the store's id for it, which keeps
// a second copy of the same entries from adding them twice.
type LedgerRecord struct {
	ID int64
	LedgerEntry
}

// RecordStore is what `claudebridge migrate` reads from one store and
// writes to another.
type RecordStore interface {
	// ExportRecords hands every record to each, parents before children:
	// users, sessions, prompts, conversations, messages, keys, batches,
	// then the ledger; each kind ordered by its ID (messages by
	// conversation and Seq). It stops at each's first error and returns it.
	ExportRecords(ctx context.Context, each func(Record) error) error
	// ImportRecords stores records as they were exported, keeping their
	// IDs, times and contents, all or none. A record whose ID the store
	// holds already is left as it is, so that an import can be run again.
	ImportRecords(ctx context.Context, records []Record) error
}
