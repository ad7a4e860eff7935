package limits

import (
	"context"
	"strconv"
	"time"

	"github.com/claudebridge/claudebridge"
)

// shared is a limiter's counting in the store, for every process on the
// database (claudebridge.LimitService): the key's window and its calls in
// flight are rows there, each take one atomic step of the store, so that
// N processes let a key through no more than its limits, not N times them.
type shared struct {
	key   string // the key's name, its rows' key
	lease *Lease
}

// newSharedLimiter returns the limiter of key's limits counted in lease's
// store.
func newSharedLimiter(key *claudebridge.Key, now func() time.Time, lease *Lease) *Limiter {
	l := NewLimiter(key, now)
	l.shared = &shared{key: key.Name, lease: lease}
	return l
}

// admit is Admit, in the store when the limiter is shared.
func (l *Limiter) admit(ctx context.Context, tokens int) (*Ticket, State, error) {
	if l.shared == nil {
		return l.admitHere(tokens)
	}
	return l.admitShared(ctx, tokens)
}

// admitShared takes a slot of the calls in flight first, then counts the
// request in the window: a slot is given back in one step if the window
// refuses, where a request counted could not be taken back.
func (l *Limiter) admitShared(ctx context.Context, tokens int) (*Ticket, State, error) {
	s, store := l.shared, l.shared.lease.store
	now := l.now()
	if l.tpm > 0 && tokens > l.tpm {
		return nil, l.lastState(), claudebridge.Errorf(claudebridge.EINVALID,
			"This request would use about %d tokens (input estimated, plus max_tokens), over this key's limit of %d tokens per minute", tokens, l.tpm)
	}
	t := &Ticket{l: l, estimate: tokens, used: -1}
	if l.concurrency > 0 {
		slot, ok, err := store.AcquireSlot(ctx, s.key, l.concurrency, s.lease.Holder, now)
		if err != nil {
			return nil, l.lastState(), err
		}
		if !ok {
			return nil, l.lastState(), &claudebridge.Error{Code: claudebridge.ERATELIMIT, RetryAfter: time.Second,
				Message: "This request would exceed this key's limit of " + strconv.Itoa(l.concurrency) + " concurrent requests"}
		}
		t.slot = slot
	}
	if l.rpm == 0 && l.tpm == 0 {
		return t, l.lastState(), nil
	}
	w, ok, err := store.TakeRate(ctx, s.key, l.rpm, l.tpm, tokens, Window, now)
	if err != nil {
		if t.slot != 0 {
			s.lease.release(t.slot)
		}
		return nil, l.lastState(), err
	}
	state := l.remember(w)
	if !ok {
		if t.slot != 0 {
			s.lease.release(t.slot)
		}
		wait := w.Opened.Add(Window).Sub(now)
		if wait <= 0 { // the window read after the refusal is a newer one
			wait = time.Second
		}
		limit := "This request would exceed this key's rate limit of " + strconv.Itoa(l.tpm) + " tokens per minute"
		if l.rpm > 0 && w.Requests >= l.rpm {
			limit = "This request would exceed this key's rate limit of " + strconv.Itoa(l.rpm) + " requests per minute"
		}
		return nil, state, &claudebridge.Error{Code: claudebridge.ERATELIMIT, RetryAfter: wait, Message: limit}
	}
	t.opened = w.Opened
	return t, state, nil
}

// remember keeps w as the key's last known window, for State, and returns
// the state it gives.
func (l *Limiter) remember(w claudebridge.RateWindow) State {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opened, l.requests, l.tokens = w.Opened, w.Requests, w.Tokens
	return l.stateLocked()
}

func (l *Limiter) lastState() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stateLocked()
}

// releaseShared gives back the ticket's slot and corrects its window's
// tokens by what the call really used.
func (t *Ticket) releaseShared(used int) {
	s := t.l.shared
	if used >= 0 && used != t.estimate && !t.opened.IsZero() && t.l.tpm > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		// A failed correction leaves the estimate counted: the window
		// closes within a minute.
		_ = s.lease.store.SettleRate(ctx, s.key, t.opened, used-t.estimate)
		cancel()
	}
	if t.slot != 0 {
		s.lease.release(t.slot)
	}
}
