// Package limits enforces the limits of virtual keys: requests, tokens and
// calls in flight per key, and the model list and cost cap of each key. It
// also keeps the live set of client keys (Keyring): those of API_KEYS and
// those of the store, re-read when the store says they changed.
//
// Windows are fixed minutes, one per key, each opening at the key's first
// request after the last one closed: a request that finds the window full
// is refused until it closes, and is told when (retry-after, the
// anthropic-ratelimit-*-reset headers). A fixed window is exact under
// concurrency (one counter under the key's own mutex) and its reset time
// is one instant the client can wait for; the price is that a key may
// spend up to twice its limit across the edge of two windows.
//
// Counted in this process's memory by default (one process: no store on
// the hot path), or in the store (NewSharedKeyring, SHARED_LIMITS) when
// several processes serve one database: the same windows, each request one
// atomic step of the store, calls in flight a slot each held under the
// process's Lease, so that a crashed process's calls stop counting.
//
// Calls no client waits on (the Message Batches API's) are not refused by
// a full window but wait for room (Paced, Entry.Wait).
package limits

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
)

// Window is the length of a rate window.
const Window = time.Minute

// Limiter counts one key's requests, tokens and calls in flight. Its
// methods are safe for concurrent use; each takes the limiter's own mutex,
// never a lock shared by keys.
type Limiter struct {
	rpm, tpm, concurrency int
	now                   func() time.Time
	// shared, when set, counts in the store for every process, the
	// fields below then holding the window last seen (for State).
	shared *shared

	mu       sync.Mutex
	opened   time.Time // the current window's start; zero: none open
	requests int
	tokens   int
	inFlight int
	ended    chan struct{} // closed when a call ends, for those waiting for room (Entry.Wait); nil: none waits
}

// NewLimiter returns the limiter of key's RPM, TPM and Concurrency (zero:
// no limit of that kind). now is the clock; nil is time.Now.
func NewLimiter(key *claudebridge.Key, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rpm: key.RPM, tpm: key.TPM, concurrency: key.Concurrency, now: now}
}

// sameLimits reports whether l enforces key's limits, so that a reload of
// the keys keeps the counts of a key whose limits stayed.
func (l *Limiter) sameLimits(key *claudebridge.Key) bool {
	return l.rpm == key.RPM && l.tpm == key.TPM && l.concurrency == key.Concurrency
}

// State is what the answer to a call says of its key's limits: the
// anthropic-ratelimit-* headers.
type State struct {
	RequestsLimit, RequestsRemaining int // limit zero: no request limit
	TokensLimit, TokensRemaining     int // limit zero: no token limit
	Reset                            time.Time
}

// SetHeaders sets the anthropic-ratelimit-* headers of the limits the key
// has, the reset times in RFC 3339 as the Anthropic API sends them.
func (s State) SetHeaders(h http.Header) {
	reset := s.Reset.UTC().Format(time.RFC3339)
	if s.RequestsLimit > 0 {
		h["Anthropic-Ratelimit-Requests-Limit"] = []string{strconv.Itoa(s.RequestsLimit)}
		h["Anthropic-Ratelimit-Requests-Remaining"] = []string{strconv.Itoa(s.RequestsRemaining)}
		h["Anthropic-Ratelimit-Requests-Reset"] = []string{reset}
	}
	if s.TokensLimit > 0 {
		h["Anthropic-Ratelimit-Tokens-Limit"] = []string{strconv.Itoa(s.TokensLimit)}
		h["Anthropic-Ratelimit-Tokens-Remaining"] = []string{strconv.Itoa(s.TokensRemaining)}
		h["Anthropic-Ratelimit-Tokens-Reset"] = []string{reset}
	}
}

// Ticket is one admitted call. Release it when the call ends.
type Ticket struct {
	l        *Limiter
	opened   time.Time // the window the call was counted in
	estimate int
	used     int   // the real tokens, once Report has been called; -1 before
	slot     int64 // the store's slot of a shared limiter's call in flight; 0: none
	released bool
	mu       sync.Mutex
	budget   *reservation // nil for a key without a budget
}

// reservation is a ticket's part of its key's budget: settle ends it with
// the usage last reported.
type reservation struct {
	settle func(claudebridge.Usage)
	usage  claudebridge.Usage
}

// Admit counts a call estimated at tokens (input and output) and returns
// its ticket and the key's state after it, or ERATELIMIT with RetryAfter
// set when a limit is reached; the state is returned either way. A call
// whose estimate alone is over the token limit is refused as EINVALID: no
// wait would let it through. A shared limiter counts in the store, with no
// deadline of the caller's: Entry.Admit passes the request's.
func (l *Limiter) Admit(tokens int) (*Ticket, State, error) {
	return l.admit(context.Background(), tokens)
}

// admitHere is Admit of a limiter that counts in this process's memory.
func (l *Limiter) admitHere(tokens int) (*Ticket, State, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.opened.IsZero() || !now.Before(l.opened.Add(Window)) {
		l.opened, l.requests, l.tokens = now, 0, 0
	}
	reset := l.opened.Add(Window)
	switch {
	case l.tpm > 0 && tokens > l.tpm:
		return nil, l.stateLocked(), claudebridge.Errorf(claudebridge.EINVALID,
			"This request would use about %d tokens (input estimated, plus max_tokens), over this key's limit of %d tokens per minute", tokens, l.tpm)
	case l.rpm > 0 && l.requests >= l.rpm:
		return nil, l.stateLocked(), &claudebridge.Error{Code: claudebridge.ERATELIMIT, RetryAfter: reset.Sub(now),
			Message: "This request would exceed this key's rate limit of " + strconv.Itoa(l.rpm) + " requests per minute"}
	case l.tpm > 0 && l.tokens+tokens > l.tpm:
		return nil, l.stateLocked(), &claudebridge.Error{Code: claudebridge.ERATELIMIT, RetryAfter: reset.Sub(now),
			Message: "This request would exceed this key's rate limit of " + strconv.Itoa(l.tpm) + " tokens per minute"}
	case l.concurrency > 0 && l.inFlight >= l.concurrency:
		// A call in flight may end at any moment: a second is a guess.
		return nil, l.stateLocked(), &claudebridge.Error{Code: claudebridge.ERATELIMIT, RetryAfter: time.Second,
			Message: "This request would exceed this key's limit of " + strconv.Itoa(l.concurrency) + " concurrent requests"}
	}
	l.requests++
	l.tokens += tokens
	l.inFlight++
	return &Ticket{l: l, opened: l.opened, estimate: tokens, used: -1}, l.stateLocked(), nil
}

func (l *Limiter) stateLocked() State {
	return State{
		RequestsLimit: l.rpm, RequestsRemaining: max(0, l.rpm-l.requests),
		TokensLimit: l.tpm, TokensRemaining: max(0, l.tpm-l.tokens),
		Reset: l.opened.Add(Window),
	}
}

// Report records the tokens the call really used (input, cache writes and
// output: cache reads are not counted, as the Anthropic API does not count
// them against its input limit). The last report before Release counts.
func (t *Ticket) Report(u claudebridge.Usage) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.used = u.InputTokens + u.CacheCreationInputTokens + u.OutputTokens
	if t.budget != nil {
		t.budget.usage = u
	}
	t.mu.Unlock()
}

// Release ends the call: it no longer counts as in flight, the window it
// was counted in has its estimate replaced by the tokens reported, if any
// were, and the key's budget is charged what the usage last reported cost
// (nothing if none was: a call that failed before it began). Only the
// first Release counts; a nil ticket is a no-op.
func (t *Ticket) Release() {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.released {
		t.mu.Unlock()
		return
	}
	t.released = true
	used := t.used
	if b := t.budget; b != nil {
		usage := b.usage
		t.mu.Unlock()
		b.settle(usage)
	} else {
		t.mu.Unlock()
	}
	l := t.l
	if l.shared != nil {
		t.releaseShared(used)
		l.mu.Lock()
		l.wakeLocked()
		l.mu.Unlock()
		return
	}
	l.mu.Lock()
	l.inFlight--
	if used >= 0 && l.opened.Equal(t.opened) {
		l.tokens = max(0, l.tokens+used-t.estimate)
	}
	l.wakeLocked()
	l.mu.Unlock()
}

// wakeLocked wakes those waiting for room (callEnds): a call ended.
func (l *Limiter) wakeLocked() {
	if l.ended != nil {
		close(l.ended)
		l.ended = nil
	}
}

// callEnds returns a channel closed when a call of the key ends: from then
// on, room may have been made (a call in flight fewer, tokens given back).
func (l *Limiter) callEnds() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended == nil {
		l.ended = make(chan struct{})
	}
	return l.ended
}
