package limits_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/limits"
)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 3, 14, 0, 30, 0, time.UTC)} }

func TestTheThirdRequestOfAKeyWithRPM2IsRefusedUntilTheWindowCloses(t *testing.T) {
	c := newClock()
	l := limits.NewLimiter(&claudebridge.Key{RPM: 2}, c.now)
	for i := range 2 {
		tk, _, err := l.Admit(10)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		tk.Release()
	}
	c.add(20 * time.Second)
	_, st, err := l.Admit(10)
	if got, want := claudebridge.ErrorCode(err), claudebridge.ERATELIMIT; got != want {
		t.Fatalf("third request: code = %q, want %q", got, want)
	}
	if got, want := err.(*claudebridge.Error).RetryAfter, 40*time.Second; got != want {
		t.Errorf("retry after = %v, want %v", got, want)
	}
	if got, want := st.RequestsRemaining, 0; got != want {
		t.Errorf("remaining = %d, want %d", got, want)
	}
	c.add(40 * time.Second)
	if _, _, err := l.Admit(10); err != nil {
		t.Errorf("request in the next window: %v", err)
	}
}

func TestFiftyConcurrentRequestsAgainstRPM10LetExactlyTenThrough(t *testing.T) {
	l := limits.NewLimiter(&claudebridge.Key{RPM: 10}, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			if tk, _, err := l.Admit(1); err == nil {
				mu.Lock()
				admitted++
				mu.Unlock()
				tk.Release()
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := admitted, 10; got != want {
		t.Errorf("admitted = %d, want %d", got, want)
	}
}

func TestTokensAreCountedAtTheEstimateAndCorrectedByTheRealUsage(t *testing.T) {
	l := limits.NewLimiter(&claudebridge.Key{TPM: 1000}, newClock().now)
	tk, st, err := l.Admit(600)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.TokensRemaining, 400; got != want {
		t.Errorf("remaining after admit = %d, want %d", got, want)
	}
	if _, _, err := l.Admit(600); claudebridge.ErrorCode(err) != claudebridge.ERATELIMIT {
		t.Errorf("second call of 600 over 1000: err = %v, want rate limit", err)
	}
	tk.Report(claudebridge.Usage{InputTokens: 50, OutputTokens: 50, CacheReadInputTokens: 5000})
	tk.Release()
	_, st, err = l.Admit(600)
	if err != nil {
		t.Fatalf("after the correction: %v", err)
	}
	if got, want := st.TokensRemaining, 300; got != want {
		t.Errorf("remaining = %d, want %d", got, want)
	}
}

func TestACallEstimatedOverTheTokenLimitIsInvalidNotThrottled(t *testing.T) {
	l := limits.NewLimiter(&claudebridge.Key{TPM: 1000}, nil)
	_, _, err := l.Admit(1001)
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
}

func TestCallsInFlightOverTheConcurrencyLimitAreRefusedUntilOneEnds(t *testing.T) {
	l := limits.NewLimiter(&claudebridge.Key{Concurrency: 2}, nil)
	a, _, _ := l.Admit(1)
	if _, _, err := l.Admit(1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Admit(1); claudebridge.ErrorCode(err) != claudebridge.ERATELIMIT {
		t.Fatalf("third in flight: err = %v, want rate limit", err)
	}
	a.Release()
	a.Release() // a second release counts nothing
	if _, _, err := l.Admit(1); err != nil {
		t.Errorf("after one ended: %v", err)
	}
	if _, _, err := l.Admit(1); claudebridge.ErrorCode(err) != claudebridge.ERATELIMIT {
		t.Errorf("after a double release: err = %v, want rate limit", err)
	}
}

func TestTheHeadersAreAnthropicsWithRFC3339Resets(t *testing.T) {
	c := newClock()
	l := limits.NewLimiter(&claudebridge.Key{RPM: 5, TPM: 100}, c.now)
	_, st, _ := l.Admit(30)
	h := http.Header{}
	st.SetHeaders(h)
	for _, f := range []struct{ name, want string }{
		{"anthropic-ratelimit-requests-limit", "5"},
		{"anthropic-ratelimit-requests-remaining", "4"},
		{"anthropic-ratelimit-requests-reset", "2026-12-03T14:01:30Z"},
		{"anthropic-ratelimit-tokens-limit", "100"},
		{"anthropic-ratelimit-tokens-remaining", "70"},
		{"anthropic-ratelimit-tokens-reset", "2026-12-03T14:01:30Z"},
	} {
		if got := h.Get(f.name); got != f.want {
			t.Errorf("%s = %q, want %q", f.name, got, f.want)
		}
	}
}

func TestAKeyWithoutATokenLimitSendsNoTokenHeaders(t *testing.T) {
	_, st, _ := limits.NewLimiter(&claudebridge.Key{RPM: 5}, nil).Admit(30)
	h := http.Header{}
	st.SetHeaders(h)
	if got := h.Get("anthropic-ratelimit-tokens-limit"); got != "" {
		t.Errorf("tokens limit = %q, want none", got)
	}
}
