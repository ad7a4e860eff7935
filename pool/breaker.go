package pool

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// State is a member's circuit breaker state.
type State int

// The states. A closed member takes calls; an open one takes none until its
// cooldown ends; a half-open one takes one probe, whose outcome closes or
// opens it again.
const (
	Closed State = iota
	HalfOpen
	Open
)

var stateNames = [...]string{"closed", "half-open", "open"}

func (s State) String() string { return stateNames[s] }

// outcome is what a call says about its member's health.
type outcome int

const (
	succeeded outcome = iota // answered, or refused the client's request: the member works
	failed                   // throttled, overloaded, timed out, 5xx, unreachable
	neutral                  // the client went away: says nothing
)

// member is one upstream of the pool and its breaker.
type member struct {
	name string
	up   upstream
	hash uint64 // of name, for rendezvous hashing
	pool *Pool

	mu       sync.Mutex
	state    State
	failures int       // consecutive, while closed
	recent   window    // the last calls' outcomes, while closed
	openedAt time.Time // when it last opened
	probing  bool      // a half-open probe is out
}

// acquire reports whether a call may go to m now, and whether that call is
// the half-open probe.
func (m *member) acquire() (ok, probe bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.state == Closed:
		return true, false
	case m.state == HalfOpen && !m.probing:
		m.probing = true
		return true, true
	}
	return false, false
}

// done records the outcome of a call that acquire let through.
func (m *member) done(probe bool, o outcome) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if probe {
		m.probing = false
	}
	switch {
	case o == neutral:
	case o == succeeded && m.state == Closed:
		m.failures = 0
		m.recent.add(false)
	case o == succeeded && probe:
		m.failures = 0
		m.setLocked(Closed, slog.LevelInfo, "upstream breaker closed: the probe succeeded")
	case o == failed && probe:
		m.openLocked("upstream breaker opened again: the probe failed")
	case o == failed && m.state == Closed:
		m.failures++
		m.recent.add(true)
		rate := m.pool.opts.FailureRate
		switch {
		case m.failures >= m.pool.failures():
			m.openLocked("upstream breaker opened")
		case rate > 0 && m.recent.full() && float64(m.recent.failed) >= rate*windowSize:
			m.openLocked("upstream breaker opened: failure rate")
		}
	}
	// A call that began before the breaker opened and ends after says
	// nothing more: the breaker already decided.
}

// openLocked opens the breaker and has it turn half-open after the
// cooldown, by itself, whether or not calls come.
func (m *member) openLocked(msg string) {
	m.failures = 0
	m.recent = window{}
	m.openedAt = time.Now()
	m.setLocked(Open, slog.LevelWarn, msg)
	time.AfterFunc(m.pool.cooldown(), func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.state == Open {
			m.setLocked(HalfOpen, slog.LevelInfo, "upstream breaker half-open: the next call probes")
		}
	})
}

func (m *member) setLocked(s State, level slog.Level, msg string) {
	m.state = s
	p := m.pool
	p.logger().Log(context.Background(), level, msg, "member", m.name, "state", s.String(), "cooldown", p.cooldown())
	if p.opts.StateChanged != nil {
		p.opts.StateChanged(m.name, s)
	}
}

// current returns m's state and, when open, the time left before it
// turns half-open.
func (m *member) current() (State, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != Open {
		return m.state, 0
	}
	return Open, max(0, m.pool.cooldown()-time.Since(m.openedAt))
}

// windowSize is how many of a member's last calls its failure rate is
// taken over.
const windowSize = 20

// window holds the outcomes of the last windowSize calls.
type window struct {
	failures [windowSize]bool
	next     int // where the next outcome goes
	n        int // outcomes held, up to windowSize
	failed   int // failures among them
}

func (w *window) add(failed bool) {
	if w.n == windowSize && w.failures[w.next] {
		w.failed--
	}
	w.failures[w.next] = failed
	if failed {
		w.failed++
	}
	w.next = (w.next + 1) % windowSize
	w.n = min(w.n+1, windowSize)
}

func (w *window) full() bool { return w.n == windowSize }
