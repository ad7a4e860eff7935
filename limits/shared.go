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

// admitShared takes a slot of the calls in flight and counts the request
// in the window in one step of the store (LimitService.TakeCall): both or
// neither.
func (l *Limiter) admitShared(ctx context.Context, tokens int) (*Ticket, State, error) {
	s, store := l.shared, l.shared.lease.store
	now := l.now()
	if l.tpm > 0 && tokens > l.tpm {
		return nil, l.lastState(), claudebridge.Errorf(claudebridge.EINVALID,
			"This request would use about %d tokens (input estimated, plus max_tokens), over this key's limit of %d tokens per minute", tokens, l.tpm)
	}
	if l.concurrency == 0 && l.rpm == 0 && l.tpm == 0 {
		return &Ticket{l: l, estimate: tokens, used: -1}, l.lastState(), nil
	}
	taken, err := store.TakeCall(ctx, s.key, claudebridge.CallLimits{RPM: l.rpm, TPM: l.tpm, Concurrency: l.concurrency, Tokens: tokens, Window: Window},
		s.lease.Holder, now)
	if err != nil {
		return nil, l.lastState(), err
	}
	if taken.Busy {
		return nil, l.lastState(), &claudebridge.Error{Code: claudebridge.ERATELIMIT, RetryAfter: time.Second,
			Message: "This request would exceed this key's limit of " + strconv.Itoa(l.concurrency) + " concurrent requests"}
	}
	state := l.lastState()
	if l.rpm > 0 || l.tpm > 0 {
		state = l.remember(taken.Window)
	}
	if !taken.Granted {
		w := taken.Window
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
	t := &Ticket{l: l, estimate: tokens, used: -1, slot: taken.Slot}
	if l.rpm > 0 || l.tpm > 0 {
		t.opened = taken.Window.Opened
	}
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
// tokens by what the call really used, in one step of the store.
func (t *Ticket) releaseShared(used int) {
	delta := 0
	if used >= 0 && t.l.tpm > 0 {
		delta = used - t.estimate
	}
	t.l.shared.lease.end(t.l.shared.key, t.slot, t.opened, delta)
}
