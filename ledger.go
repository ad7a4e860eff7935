package claudebridge

import (
	"context"
	"time"
)

// LedgerEntry is one call in the ledger: who made it, through which door
// to which model and upstream, its tokens of each kind apart, what it cost
// at which prices, how long it took and how it ended. Calls of every door
// are entries: /v1/messages (streaming or not), count_tokens (with no
// tokens and no cost, its door says what it was), the Bedrock front door's
// operations and the chat's turns.
type LedgerEntry struct {
	Time      time.Time // when the call ended
	RequestID string    // the request-id (X-Amzn-RequestId on the Bedrock front door) the client was given
	// Key is the name of the client's key; "" for the chat and for
	// API_KEYS, which have no names.
	Key string
	// UserID is the chat user; 0 for calls of the API doors.
	UserID   int64
	Model    string // as the client named it
	Upstream string // "bedrock", "anthropic" or "emulator"
	Door     string // as the metrics' "door" label: messages, count_tokens, bedrock_invoke, ...
	// Tokens of each kind, kept apart: cache writes by lifetime, as
	// usage.cache_creation gives them (those it does not say are 1-hour
	// are 5-minute, the default lifetime).
	InputTokens, OutputTokens, CacheReadTokens, CacheWrite5mTokens, CacheWrite1hTokens int
	// CountedOutputTokens is the part of OutputTokens counted from the
	// text of a cut chat answer, not reported by the model.
	CountedOutputTokens int
	CostUSD             float64
	PriceVersion        string // the price table's version (cost.Table.Version)
	Latency             time.Duration
	FirstToken          time.Duration // 0 when there was no content delta (non-streaming calls)
	Status              int           // the HTTP status the client got; a stream's error's when it failed after it began
}

// SetUsage splits u's cache writes by lifetime into e's token fields.
func (e *LedgerEntry) SetUsage(u Usage) {
	long := min(u.CacheCreation.Ephemeral1hInputTokens, u.CacheCreationInputTokens)
	e.InputTokens, e.OutputTokens, e.CacheReadTokens = u.InputTokens, u.OutputTokens, u.CacheReadInputTokens
	e.CacheWrite5mTokens, e.CacheWrite1hTokens = u.CacheCreationInputTokens-long, long
}

// LedgerGroup is how LedgerTotals groups the entries.
type LedgerGroup string

// The groupings of `claudebridge usage --by`.
const (
	ByKey   LedgerGroup = "key"
	ByUser  LedgerGroup = "user"
	ByModel LedgerGroup = "model"
	ByDay   LedgerGroup = "day"
)

// LedgerTotal is the sum of the entries of one group.
type LedgerTotal struct {
	// Group is the key's name, the user's name, the model or the day
	// (YYYY-MM-DD, UTC); "" for entries without one (no key, no user).
	Group                                                                              string
	Calls                                                                              int
	InputTokens, OutputTokens, CacheReadTokens, CacheWrite5mTokens, CacheWrite1hTokens int
	CostUSD                                                                            float64
}

// LedgerService is the ledger of calls.
type LedgerService interface {
	// AppendLedger stores entries, all or none, in one transaction.
	AppendLedger(ctx context.Context, entries []LedgerEntry) error
	// LedgerTotals sums the entries with from <= Time < to (a zero bound
	// is open) by group, ordered by group. EINVALID for an unknown group.
	LedgerTotals(ctx context.Context, by LedgerGroup, from, to time.Time) ([]LedgerTotal, error)
	// SpentByUser returns what userID's entries since since cost, in US
	// dollars.
	SpentByUser(ctx context.Context, userID int64, since time.Time) (float64, error)
	// SpentByKey returns what the entries of the key named key since
	// since cost, in US dollars: a key's budget is checked against it.
	SpentByKey(ctx context.Context, key string, since time.Time) (float64, error)
}

// Caller is who makes a call: a client key's name, or a chat user.
type Caller struct {
	Key    string
	UserID int64
}

type callerKey struct{}

// WithCaller returns ctx carrying c, for the ledger to record.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller WithCaller put in ctx; the zero Caller
// when none did. The seam of the keys slice: its authentication puts the
// key's name here.
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}
