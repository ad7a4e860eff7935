// Package retry wraps an Upstream with retries of transient failures:
// throttling, overload, timeouts, 5xx and connection resets. A stream is
// retried only until its first event, so nothing the client has received is
// ever sent twice.
package retry

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/claudebridge/claudebridge"
)

// Upstream retries calls to Next with exponential backoff and full jitter,
// honouring the upstream's retry-after.
type Upstream struct {
	Next claudebridge.Upstream
	// MaxAttempts counts the first call too. Default 3; 1 disables retries.
	MaxAttempts int
	// BaseDelay is the backoff's first ceiling, doubled per attempt up to
	// MaxDelay. Defaults 500 ms and 8 s.
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter is the longest retry-after worth waiting for; a longer
	// one ends the retries at once. Default 30 s.
	MaxRetryAfter time.Duration
	// Logger notes each retry. Nil: slog.Default().
	Logger *slog.Logger
	// Retried, when set, is told of each retry as it is decided: the
	// operation ("messages", "stream", "count_tokens", "models") and the
	// failure retried. The metrics count retries with it.
	Retried func(op string, err error)
}

var _ claudebridge.Upstream = (*Upstream)(nil)

// do runs call until it succeeds, fails for good, or attempts run out.
func do[T any](ctx context.Context, u *Upstream, op string, call func() (T, error)) (T, error) {
	attempts := u.MaxAttempts
	if attempts <= 0 {
		attempts = 3
	}
	for n := 1; ; n++ {
		v, err := call()
		if err == nil || n >= attempts || !claudebridge.Retryable(err) {
			return v, err
		}
		wait, ok := u.backoff(n, err)
		if !ok {
			return v, err
		}
		if dl, has := ctx.Deadline(); has && time.Until(dl) < wait {
			return v, err
		}
		if u.Retried != nil {
			u.Retried(op, err)
		}
		u.logger().LogAttrs(ctx, slog.LevelInfo, "retrying upstream call", slog.String("op", op),
			slog.Int("attempt", n+1), slog.Duration("wait", wait), slog.String("error", claudebridge.ErrorMessage(err)))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, claudebridge.Errorf(claudebridge.ECANCELED, "cancelled while waiting to retry: %s", claudebridge.ErrorMessage(err))
		case <-t.C:
		}
	}
}

// backoff returns the wait before attempt n+1: a uniform draw from
// [0, min(MaxDelay, BaseDelay·2^(n-1))) ("full jitter"), and never less than
// the upstream's retry-after. ok is false when retry-after is too long.
func (u *Upstream) backoff(n int, err error) (wait time.Duration, ok bool) {
	base, ceiling, maxAfter := u.BaseDelay, u.MaxDelay, u.MaxRetryAfter
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	if ceiling <= 0 {
		ceiling = 8 * time.Second
	}
	if maxAfter <= 0 {
		maxAfter = 30 * time.Second
	}
	limit := base << (n - 1)
	if limit > ceiling || limit <= 0 {
		limit = ceiling
	}
	wait = rand.N(limit)
	if e, isErr := err.(*claudebridge.Error); isErr && e.RetryAfter > 0 {
		if e.RetryAfter > maxAfter {
			return 0, false
		}
		wait = max(wait, e.RetryAfter)
	}
	return wait, true
}

func (u *Upstream) logger() *slog.Logger {
	if u.Logger != nil {
		return u.Logger
	}
	return slog.Default()
}

// Messages retries the whole call.
func (u *Upstream) Messages(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
	return do(ctx, u, "messages", func() (*claudebridge.Response, error) { return u.Next.Messages(ctx, r) })
}

// CountTokens retries the whole call.
func (u *Upstream) CountTokens(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
	return do(ctx, u, "count_tokens", func() (*claudebridge.TokenCount, error) { return u.Next.CountTokens(ctx, r) })
}

// Models retries the whole call.
func (u *Upstream) Models(ctx context.Context) ([]claudebridge.Model, error) {
	return do(ctx, u, "models", func() ([]claudebridge.Model, error) { return u.Next.Models(ctx) })
}

// Stream retries until the first event has arrived: a failure to open the
// stream or a failure before its first event is retried; the first event is
// then handed out ahead of the rest.
func (u *Upstream) Stream(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
	return do(ctx, u, "stream", func() (claudebridge.Stream, error) {
		s, err := u.Next.Stream(ctx, r)
		if err != nil {
			return nil, err
		}
		first, err := s.Next()
		if err != nil {
			s.Close()
			return nil, err
		}
		return claudebridge.Peeked(s, first), nil
	})
}

// Ready forwards to Next when it can tell its readiness; else it is ready.
func (u *Upstream) Ready(ctx context.Context) error {
	if r, ok := u.Next.(claudebridge.Readier); ok {
		return r.Ready(ctx)
	}
	return nil
}
