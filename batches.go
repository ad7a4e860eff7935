package claudebridge

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"time"
)

// Processing statuses of a Message Batch, as the Message Batches API names
// them.
const (
	BatchInProgress = "in_progress" // requests are being run
	BatchCanceling  = "canceling"   // canceled: no request is started any more
	BatchEnded      = "ended"       // every request has a result
)

// Result types of a request of a Message Batch.
const (
	ResultSucceeded = "succeeded" // the call answered
	ResultErrored   = "errored"   // the call failed, or its params were refused
	ResultCanceled  = "canceled"  // the batch was canceled before the request started
	ResultExpired   = "expired"   // the batch expired before the request started
)

// Batch is a Message Batch of the Message Batches API: a set of Messages
// requests that serve runs in the background.
type Batch struct {
	ID     string // "msgbatch_" + random
	Status string // BatchInProgress, BatchCanceling or BatchEnded
	// KeyName is the name of the virtual key that made the batch, "" for
	// a static key or none: only calls with the same key see the batch.
	KeyName string
	// Counts tallies the requests by their result; Processing counts those
	// without one. The sum is the number of requests.
	Counts BatchCounts
	// Betas are the anthropic-beta flags of the call that made the batch:
	// every request is made with them.
	Betas             []string
	CreatedAt         time.Time
	ExpiresAt         time.Time // 24 hours after CreatedAt: then what has not run is expired
	EndedAt           time.Time // zero until the batch ends
	CancelInitiatedAt time.Time // zero unless canceled
	ArchivedAt        time.Time // zero until its results are removed, 29 days after CreatedAt
}

// BatchCounts tallies the requests of a batch.
type BatchCounts struct {
	Processing, Succeeded, Errored, Canceled, Expired int
}

// BatchRequest is one request of a batch, as it was given.
type BatchRequest struct {
	CustomID string          // unique within its batch
	Params   json.RawMessage // a Messages body
}

// BatchResult is the result of one request: its line of the batch's
// results file.
type BatchResult struct {
	CustomID string
	Type     string          // ResultSucceeded, ResultErrored, ResultCanceled or ResultExpired
	Line     json.RawMessage // {"custom_id","result":{...}} on one line
}

// BatchService stores Message Batches, their requests and their results.
// Every request gets exactly one result: a second result for a custom_id
// is not stored.
type BatchService interface {
	// CreateBatch stores b, in progress, with its requests (at least one,
	// custom_ids unique), filling ID, Status, Counts and CreatedAt;
	// ExpiresAt is 24 hours later. b.KeyName is kept as given.
	CreateBatch(ctx context.Context, b *Batch, requests []BatchRequest) error
	// Batch returns one batch; ENOTFOUND if there is none of that id.
	Batch(ctx context.Context, id string) (*Batch, error)
	// Batches lists the batches of keyName (Batch.KeyName) newest first,
	// at most limit: with neither cursor the newest, with afterID those
	// made just before that batch, with beforeID those made just after it
	// (both in the list's order). more says whether more lie beyond the
	// page in the same direction. EINVALID if a cursor names no batch of
	// keyName.
	Batches(ctx context.Context, keyName, beforeID, afterID string, limit int) (list []Batch, more bool, err error)
	// CancelBatch moves a batch in progress to BatchCanceling, at now, and
	// returns it; a batch canceling or ended is returned as it is.
	// ENOTFOUND if there is none of that id.
	CancelBatch(ctx context.Context, id string, now time.Time) (*Batch, error)
	// DeleteBatch removes an ended batch, its requests and its results.
	// ENOTFOUND if there is none; EINVALID if it has not ended.
	DeleteBatch(ctx context.Context, id string) error
	// ActiveBatches returns the batches in progress or canceling, oldest
	// first: the work left, also after a restart.
	ActiveBatches(ctx context.Context) ([]Batch, error)
	// ClaimBatch makes owner the one that runs a batch until until, unless
	// another owner's claim lasts past now; it says whether owner has it.
	// Several serves may share a store: each runs only what it claimed.
	ClaimBatch(ctx context.Context, id, owner string, now, until time.Time) (bool, error)
	// PendingRequests returns up to limit requests of a batch that have no
	// result yet, in the order they were given.
	PendingRequests(ctx context.Context, batchID string, limit int) ([]BatchRequest, error)
	// AddBatchResult stores r and counts it, in one transaction; a result
	// for a request that has one already is ignored.
	AddBatchResult(ctx context.Context, batchID string, r BatchResult) error
	// EndBatch gives every request of a batch without a result one of
	// type rest (ResultCanceled or ResultExpired) and ends the batch at
	// now, in one transaction.
	EndBatch(ctx context.Context, batchID, rest string, now time.Time) error
	// ArchiveBatches removes the requests and results of the ended
	// batches made before createdBefore, marking them archived at now;
	// the batches themselves stay. It returns how many it archived.
	ArchiveBatches(ctx context.Context, createdBefore, now time.Time) (int, error)
	// BatchResults hands each result line of a batch to each, in the order
	// the requests were given, until each returns an error, which it
	// returns.
	BatchResults(ctx context.Context, batchID string, each func(line []byte) error) error
}

// NewBatchID returns a batch id in the style of the API's,
// "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF": "msgbatch_01" and 22 base62
// characters.
func NewBatchID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := []byte("msgbatch_01" + strings.Repeat("0", 22))
	r := make([]byte, 22)
	rand.Read(r)
	for i, c := range r {
		b[11+i] = alphabet[int(c)%len(alphabet)]
	}
	return string(b)
}
