// Package pool is an Upstream made of several, in order (UPSTREAMS): a call
// that one member fails for reasons of its own (throttling, overload, a
// 5xx, a timeout, no connection) before anything reached the client is
// sent to the next; a member that keeps failing is taken out for a while by
// its circuit breaker and comes back by itself.
//
// Which member goes first: a request with prompt-cache markers
// (cache_control) goes to the member that rendezvous hashing of its cached
// prefix picks among the healthy ones, so that requests sharing a prefix
// keep hitting one member's cache; any other request goes to the first
// healthy member. Counting tokens and listing models go to the first
// healthy member.
//
// The pool sits inside the retries (retry{sampling{pool{members}}}): a
// failover is immediate, since another member owes nothing to the first
// one's throttling, and the retry layer waits and walks the pool again only
// when every member failed. Each member keeps its own model ids: Bedrock's
// and the Anthropic API's upstreams resolve the client's id themselves.
package pool

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/claudebridge/claudebridge"
)

type upstream = claudebridge.Upstream

// Member is one upstream of a pool.
type Member struct {
	// Name is the member as UPSTREAMS names it ("bedrock:us-west-2",
	// "anthropic"): the name in logs, /readyz and the metrics. Names are
	// unique within a pool; rendezvous hashing ranks members by name.
	Name     string
	Upstream claudebridge.Upstream
}

// Options tune the breakers and say where to report.
type Options struct {
	// Failures is how many failures in a row open a member's breaker.
	// Default 5.
	Failures int
	// FailureRate, when above 0, also opens a member's breaker when at
	// least this share (0 to 1) of its last 20 calls failed: a member
	// that fails every other call never fails 5 in a row.
	FailureRate float64
	// Cooldown is how long an open breaker stays open before it lets one
	// probe through (half-open). Default 30 s.
	Cooldown time.Duration
	// Logger gets a line for every breaker change. Nil: slog.Default().
	Logger *slog.Logger
	// FailedOver, when set, is told of each call moved on from a member:
	// the operation ("messages", "stream", "count_tokens", "models"), the
	// member that failed, and its failure.
	FailedOver func(op, member string, err error)
	// StateChanged, when set, is told of every member's state at New and
	// of each change after.
	StateChanged func(member string, s State)
}

// Pool is a claudebridge.Upstream over ordered members.
type Pool struct {
	members []*member
	opts    Options
}

var _ claudebridge.Upstream = (*Pool)(nil)

// New returns a pool of members, all closed, tried in the order given.
func New(members []Member, opts Options) *Pool {
	p := &Pool{opts: opts}
	for _, m := range members {
		p.members = append(p.members, &member{name: m.Name, up: m.Upstream, hash: xxhash.Sum64String(m.Name), pool: p})
	}
	if opts.StateChanged != nil {
		for _, m := range p.members {
			opts.StateChanged(m.name, Closed)
		}
	}
	return p
}

func (p *Pool) failures() int {
	if p.opts.Failures > 0 {
		return p.opts.Failures
	}
	return 5
}

func (p *Pool) cooldown() time.Duration {
	if p.opts.Cooldown > 0 {
		return p.opts.Cooldown
	}
	return 30 * time.Second
}

func (p *Pool) logger() *slog.Logger {
	if p.opts.Logger != nil {
		return p.opts.Logger
	}
	return slog.Default()
}

// order is the order in which members are offered a call of r: by
// rendezvous score of r's cached prefix when it has one, else (and for a
// nil r) the pool's order. Members whose breaker is open are skipped later,
// so the first healthy one in this order is the one rendezvous hashing over
// the healthy members picks.
func (p *Pool) order(r *claudebridge.Request) []*member {
	if r == nil || len(p.members) < 2 {
		return p.members
	}
	key, ok := CacheKey(r)
	if !ok {
		return p.members
	}
	ranked := slices.Clone(p.members)
	slices.SortStableFunc(ranked, func(a, b *member) int {
		sa, sb := score(key, a.hash), score(key, b.hash)
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	return ranked
}

// score is a member's rendezvous weight for key: splitmix64's finalizer of
// the two hashes mixed.
func score(key, member uint64) uint64 {
	x := key ^ member
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// memberFault reports whether err is the member's failure rather than the
// client's: such a call is moved to the next member and counts against the
// breaker. A client's 4xx (invalid request, not found, too large, its own
// key) is the same on every member.
func memberFault(err error) bool {
	if claudebridge.Retryable(err) {
		return true
	}
	switch claudebridge.ErrorCode(err) {
	case claudebridge.EUPSTREAMAUTH, claudebridge.EBILLING:
		return true // this member's credentials or account
	}
	return false
}

// call offers f to the members in order until one answers, or fails for a
// reason that is not its own, or the client goes away. Each member tried is
// noted in ctx's claudebridge.ServedBy, so that the last one, whose answer
// or failure the call gets, is what the door records.
func call[T any](ctx context.Context, p *Pool, op string, r *claudebridge.Request, f func(upstream) (T, error)) (T, error) {
	var zero T
	var last error
	var lastFrom string
	served := claudebridge.ServedByFrom(ctx)
	for _, m := range p.order(r) {
		ok, probe := m.acquire()
		if !ok {
			continue
		}
		if last != nil && p.opts.FailedOver != nil {
			p.opts.FailedOver(op, lastFrom, last)
		}
		served.Set(m.name)
		v, err := f(m.up)
		switch {
		case ctx.Err() != nil:
			m.done(probe, neutral)
			return v, err
		case err == nil:
			m.done(probe, succeeded)
			return v, nil
		case !memberFault(err):
			m.done(probe, succeeded)
			return v, err
		}
		m.done(probe, failed)
		p.logger().LogAttrs(ctx, slog.LevelInfo, "upstream member failed", slog.String("op", op),
			slog.String("member", m.name), slog.String("error", claudebridge.ErrorMessage(err)))
		last, lastFrom = err, m.name
	}
	if last != nil {
		return zero, last
	}
	return zero, p.unavailable()
}

// unavailable is the error when no member takes calls (each open, or
// half-open with its probe out): overloaded, with the time until the first
// of them may take one, a second at least.
func (p *Pool) unavailable() error {
	wait := p.cooldown()
	for _, m := range p.members {
		_, left := m.current() // 0 for a half-open member
		wait = min(wait, left)
	}
	e := claudebridge.Errorf(claudebridge.EOVERLOADED, "every upstream is out of service for now after repeated failures")
	e.RetryAfter = max(wait, time.Second)
	return e
}

// Messages sends r to the first member that answers.
func (p *Pool) Messages(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
	return call(ctx, p, "messages", r, func(u upstream) (*claudebridge.Response, error) { return u.Messages(ctx, r) })
}

// Stream opens r on the first member whose stream yields a first event;
// after that event the stream is the member's, failures included: what the
// client may have received is never sent again from another member.
func (p *Pool) Stream(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
	return call(ctx, p, "stream", r, func(u upstream) (claudebridge.Stream, error) {
		s, err := u.Stream(ctx, r)
		if err != nil {
			return nil, err
		}
		first, err := s.Next()
		if err != nil {
			s.Close()
			if errors.Is(err, io.EOF) {
				err = claudebridge.Errorf(claudebridge.EINTERNAL, "the upstream stream ended before its first event")
			}
			return nil, err
		}
		return claudebridge.Peeked(s, first), nil
	})
}

// CountTokens asks the first healthy member.
func (p *Pool) CountTokens(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
	return call(ctx, p, "count_tokens", nil, func(u upstream) (*claudebridge.TokenCount, error) { return u.CountTokens(ctx, r) })
}

// Models lists the models of the first healthy member.
func (p *Pool) Models(ctx context.Context) ([]claudebridge.Model, error) {
	return call(ctx, p, "models", nil, func(u upstream) ([]claudebridge.Model, error) { return u.Models(ctx) })
}

// Ready is nil when some member is not open and ready by its own account
// (members that cannot tell are ready); else it names each member's trouble.
func (p *Pool) Ready(ctx context.Context) error {
	var why []string
	for _, m := range p.members {
		if s, _ := m.current(); s == Open {
			why = append(why, m.name+": breaker open")
			continue
		}
		rd, ok := m.up.(claudebridge.Readier)
		if !ok {
			return nil
		}
		err := rd.Ready(ctx)
		if err == nil {
			return nil
		}
		why = append(why, m.name+": "+claudebridge.ErrorMessage(err))
	}
	return claudebridge.Errorf(claudebridge.EOVERLOADED, "no upstream can take calls (%s)", strings.Join(why, "; "))
}

// BaseModel is the first member's answer that can give one (the sampling
// rule asks: an application inference profile's model), else id.
func (p *Pool) BaseModel(ctx context.Context, id string) string {
	for _, m := range p.members {
		if res, ok := m.up.(interface {
			BaseModel(context.Context, string) string
		}); ok {
			return res.BaseModel(ctx, id)
		}
	}
	return id
}

// MemberState is one member as /readyz and the metrics show it.
type MemberState struct {
	Name  string `json:"name"`
	State string `json:"state"` // closed, half-open or open
}

// States returns every member's state, in the pool's order.
func (p *Pool) States() []MemberState {
	out := make([]MemberState, len(p.members))
	for i, m := range p.members {
		s, _ := m.current()
		out[i] = MemberState{Name: m.name, State: s.String()}
	}
	return out
}
