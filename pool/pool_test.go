package pool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/mock"
	"github.com/claudebridge/claudebridge/pool"
)

// answering is a member that answers every call with its own name and
// counts the calls.
type answering struct {
	mock.Upstream
	mu    sync.Mutex
	calls int
	fail  error // when set, Messages fails with it
}

func newAnswering(name string) *answering {
	a := &answering{}
	a.MessagesFn = func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.calls++
		if a.fail != nil {
			return nil, a.fail
		}
		return &claudebridge.Response{Body: []byte(name)}, nil
	}
	a.CountTokensFn = func(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
		return &claudebridge.TokenCount{InputTokens: len(name)}, nil
	}
	return a
}

func (a *answering) setFail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail = err
}

func (a *answering) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

func request(t testing.TB, body string) *claudebridge.Request {
	t.Helper()
	r, err := anthropic.ParseRequest([]byte(body), http.Header{}, false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// plain is a request without cache_control.
func plain(t testing.TB) *claudebridge.Request {
	return request(t, `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
}

// cached is a request whose system prompt is cached; tail varies after it.
func cached(t testing.TB, system, tail string) *claudebridge.Request {
	return request(t, fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":10,`+
		`"system":[{"type":"text","text":%q,"cache_control":{"type":"ephemeral"}}],`+
		`"messages":[{"role":"user","content":%q}]}`, system, tail))
}

func answer(t *testing.T, p *pool.Pool, r *claudebridge.Request) string {
	t.Helper()
	resp, err := p.Messages(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return string(resp.Body)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestAThrottledCallMovesToTheNextMember(t *testing.T) {
	a, b := newAnswering("a"), newAnswering("b")
	a.setFail(claudebridge.Errorf(claudebridge.ERATELIMIT, "throttled"))
	var moved []string
	p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Logger: quiet(),
		FailedOver: func(op, member string, err error) { moved = append(moved, op+" from "+member) }})
	got, want := answer(t, p, plain(t)), "b"
	if got != want {
		t.Errorf("answered by %q, want %q", got, want)
	}
	if got, want := strings.Join(moved, ","), "messages from a"; got != want {
		t.Errorf("failovers %q, want %q", got, want)
	}
}

func TestEachMemberFailureOfItsOwnIsFailedOver(t *testing.T) {
	for _, code := range []string{claudebridge.ERATELIMIT, claudebridge.EOVERLOADED, claudebridge.ETIMEOUT,
		claudebridge.EINTERNAL, claudebridge.EUPSTREAMAUTH, claudebridge.EBILLING} {
		a, b := newAnswering("a"), newAnswering("b")
		a.setFail(claudebridge.Errorf(code, "member trouble"))
		p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Logger: quiet()})
		if got, want := answer(t, p, plain(t)), "b"; got != want {
			t.Errorf("%s: answered by %q, want %q", code, got, want)
		}
	}
}

func TestAClientErrorIsNotFailedOver(t *testing.T) {
	for _, code := range []string{claudebridge.EINVALID, claudebridge.ENOTFOUND, claudebridge.ETOOLARGE, claudebridge.EPERMISSION} {
		a, b := newAnswering("a"), newAnswering("b")
		a.setFail(claudebridge.Errorf(code, "the client's fault"))
		p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Logger: quiet()})
		_, err := p.Messages(context.Background(), plain(t))
		if got, want := claudebridge.ErrorCode(err), code; got != want {
			t.Errorf("error %q, want %q", got, want)
		}
		if got, want := b.count(), 0; got != want {
			t.Errorf("%s: the second member got %d calls, want %d", code, got, want)
		}
	}
}

func TestWhenEveryMemberFailsTheLastFailureIsReturned(t *testing.T) {
	a, b := newAnswering("a"), newAnswering("b")
	a.setFail(claudebridge.Errorf(claudebridge.ERATELIMIT, "a throttled"))
	b.setFail(claudebridge.Errorf(claudebridge.EOVERLOADED, "b overloaded"))
	p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Logger: quiet()})
	_, err := p.Messages(context.Background(), plain(t))
	if got, want := claudebridge.ErrorMessage(err), "b overloaded"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}

// logLines is a logger's output, safe to read while it is written.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestTheBreakerOpensAfterFailuresInARowAndClosesAfterACooldownAndAProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newAnswering("a"), newAnswering("b")
		a.setFail(claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded"))
		var logs logLines
		var states []string
		p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{
			Failures: 2, Cooldown: 10 * time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			StateChanged: func(member string, s pool.State) { states = append(states, member+"="+s.String()) },
		})
		answer(t, p, plain(t))
		answer(t, p, plain(t))
		if got, want := p.States()[0].State, "open"; got != want {
			t.Fatalf("after 2 failures a is %s, want %s", got, want)
		}
		answer(t, p, plain(t))
		if got, want := a.count(), 2; got != want {
			t.Errorf("a got %d calls while open, want %d", got, want)
		}
		if got, want := strings.Contains(logs.String(), `msg="upstream breaker opened" member=a state=open`), true; got != want {
			t.Errorf("the log has no line for the opening:\n%s", logs.String())
		}

		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got, want := p.States()[0].State, "half-open"; got != want {
			t.Fatalf("after the cooldown a is %s, want %s", got, want)
		}
		a.setFail(nil)
		if got, want := answer(t, p, plain(t)), "a"; got != want {
			t.Errorf("the probe was answered by %q, want %q", got, want)
		}
		if got, want := p.States()[0].State, "closed"; got != want {
			t.Errorf("after a good probe a is %s, want %s", got, want)
		}
		if got, want := strings.Contains(logs.String(), `msg="upstream breaker closed: the probe succeeded" member=a state=closed`), true; got != want {
			t.Errorf("the log has no line for the closing:\n%s", logs.String())
		}
		if got, want := strings.Join(states, " "), "a=closed b=closed a=open a=half-open a=closed"; got != want {
			t.Errorf("states %q, want %q", got, want)
		}
	})
}

func TestAFailedProbeOpensTheBreakerAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newAnswering("a"), newAnswering("b")
		a.setFail(claudebridge.Errorf(claudebridge.EINTERNAL, "500"))
		p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{
			Failures: 1, Cooldown: 5 * time.Second, Logger: quiet()})
		answer(t, p, plain(t))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got, want := answer(t, p, plain(t)), "b"; got != want {
			t.Errorf("after a failed probe answered by %q, want %q", got, want)
		}
		if got, want := p.States()[0].State, "open"; got != want {
			t.Errorf("after a failed probe a is %s, want %s", got, want)
		}
		if got, want := a.count(), 2; got != want {
			t.Errorf("a got %d calls, want %d (the first and the probe)", got, want)
		}
	})
}

func TestASuccessResetsTheFailuresInARow(t *testing.T) {
	a, b := newAnswering("a"), newAnswering("b")
	p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Failures: 2, Logger: quiet()})
	for range 3 {
		a.setFail(claudebridge.Errorf(claudebridge.ERATELIMIT, "throttled"))
		answer(t, p, plain(t))
		a.setFail(nil)
		answer(t, p, plain(t))
	}
	if got, want := p.States()[0].State, "closed"; got != want {
		t.Errorf("a is %s after failures never two in a row, want %s", got, want)
	}
}

func TestHalfOpenLetsOneProbeThroughAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newAnswering("a"), newAnswering("b")
		release := make(chan struct{})
		failing := true
		a.MessagesFn = func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
			if failing {
				return nil, claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded")
			}
			<-release
			return &claudebridge.Response{Body: []byte("a")}, nil
		}
		p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{
			Failures: 1, Cooldown: time.Second, Logger: quiet()})
		answer(t, p, plain(t))
		failing = false
		time.Sleep(time.Second)
		synctest.Wait()
		probe := make(chan string)
		go func() { probe <- answer(t, p, plain(t)) }()
		synctest.Wait() // the probe waits in a
		if got, want := answer(t, p, plain(t)), "b"; got != want {
			t.Errorf("beside the probe answered by %q, want %q", got, want)
		}
		close(release)
		if got, want := <-probe, "a"; got != want {
			t.Errorf("the probe was answered by %q, want %q", got, want)
		}
	})
}

func TestWithEveryBreakerOpenTheCallIsOverloadedWithRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAnswering("a")
		a.setFail(claudebridge.Errorf(claudebridge.ERATELIMIT, "throttled"))
		p := pool.New([]pool.Member{{Name: "a", Upstream: a}}, pool.Options{Failures: 1, Cooldown: 20 * time.Second, Logger: quiet()})
		p.Messages(context.Background(), plain(t))
		time.Sleep(5 * time.Second)
		_, err := p.Messages(context.Background(), plain(t))
		var e *claudebridge.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v, want an *Error", err)
		}
		if got, want := e.Code, claudebridge.EOVERLOADED; got != want {
			t.Errorf("code %q, want %q", got, want)
		}
		if got, want := e.RetryAfter, 15*time.Second; got != want {
			t.Errorf("retry-after %v, want %v", got, want)
		}
		if got, want := a.count(), 1; got != want {
			t.Errorf("a got %d calls, want %d", got, want)
		}
	})
}

func TestACallTheClientLeftSaysNothingOfTheMember(t *testing.T) {
	a, b := newAnswering("a"), newAnswering("b")
	ctx, cancel := context.WithCancel(context.Background())
	a.MessagesFn = func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
		cancel()
		return nil, claudebridge.Errorf(claudebridge.ETIMEOUT, "cancelled")
	}
	p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Failures: 1, Logger: quiet()})
	p.Messages(ctx, plain(t))
	if got, want := b.count(), 0; got != want {
		t.Errorf("b got %d calls after the client left, want %d", got, want)
	}
	if got, want := p.States()[0].State, "closed"; got != want {
		t.Errorf("a is %s, want %s", got, want)
	}
}

func events(n int) []claudebridge.Event {
	out := []claudebridge.Event{{Type: "message_start", Data: []byte(`{}`)}}
	for i := 1; i < n; i++ {
		out = append(out, claudebridge.Event{Type: "content_block_delta", Data: []byte(`{}`)})
	}
	return out
}

func TestAStreamThatFailsBeforeItsFirstEventMovesToTheNextMember(t *testing.T) {
	failing := &mock.Stream{Err: claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded")}
	a := &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) { return failing, nil }}
	b := &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
		return &mock.Stream{Events: events(3)}, nil
	}}
	p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Logger: quiet()})
	s, err := p.Stream(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := s.Next(); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		n++
	}
	if got, want := n, 3; got != want {
		t.Errorf("%d events, want %d", got, want)
	}
	if got, want := failing.Closed(), true; got != want {
		t.Errorf("the failed stream closed: %v, want %v", got, want)
	}
}

func TestAStreamThatFailsAfterItsFirstEventIsNotReplayed(t *testing.T) {
	a := &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
		return &mock.Stream{Events: events(1), Err: claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded mid-stream")}, nil
	}}
	b := &mock.Upstream{} // a call to b panics
	p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Logger: quiet()})
	s, err := p.Stream(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.Next()
	if got, want := ev.Type, "message_start"; err != nil || got != want {
		t.Fatalf("first event %q (%v), want %q", got, err, want)
	}
	_, err = s.Next()
	if got, want := claudebridge.ErrorMessage(err), "overloaded mid-stream"; got != want {
		t.Errorf("after the first event: %q, want %q", got, want)
	}
}

func TestAStreamsFirstEventIsBuffered(t *testing.T) {
	a := &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
		return &mock.Stream{Events: events(2)}, nil
	}}
	p := pool.New([]pool.Member{{Name: "a", Upstream: a}}, pool.Options{Logger: quiet()})
	s, err := p.Stream(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	b, ok := s.(claudebridge.BufferedStream)
	if got, want := ok && b.Buffered(), true; got != want {
		t.Errorf("buffered %v, want %v", got, want)
	}
}

func members(names ...string) ([]pool.Member, map[string]*answering) {
	var ms []pool.Member
	ups := map[string]*answering{}
	for _, n := range names {
		ups[n] = newAnswering(n)
		ms = append(ms, pool.Member{Name: n, Upstream: ups[n]})
	}
	return ms, ups
}

func TestRequestsSharingACachedPrefixStayOnOneMember(t *testing.T) {
	ms, _ := members("a", "b", "c")
	p := pool.New(ms, pool.Options{Logger: quiet()})
	first := answer(t, p, cached(t, "You are a careful assistant.", "question 0"))
	for i := 1; i < 20; i++ {
		if got, want := answer(t, p, cached(t, "You are a careful assistant.", fmt.Sprintf("question %d", i))), first; got != want {
			t.Errorf("question %d answered by %q, want %q", i, got, want)
		}
	}
}

func TestDifferentCachedPrefixesSpreadOverTheMembers(t *testing.T) {
	ms, _ := members("a", "b", "c")
	p := pool.New(ms, pool.Options{Logger: quiet()})
	used := map[string]int{}
	for i := range 30 {
		used[answer(t, p, cached(t, fmt.Sprintf("system prompt %d", i), "q"))]++
	}
	if got, want := len(used), 3; got != want {
		t.Errorf("30 prefixes went to %d members (%v), want %d", got, used, want)
	}
}

func TestACachedPrefixMovesWhileItsMemberIsOutAndComesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms, ups := members("a", "b", "c")
		p := pool.New(ms, pool.Options{Failures: 1, Cooldown: time.Minute, Logger: quiet()})
		home := answer(t, p, cached(t, "prefix", "q"))
		ups[home].setFail(claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded"))
		away := answer(t, p, cached(t, "prefix", "q"))
		if away == home {
			t.Fatalf("answered by %q while it fails", away)
		}
		ups[home].setFail(nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		if got, want := answer(t, p, cached(t, "prefix", "q")), home; got != want {
			t.Errorf("after the cooldown answered by %q, want %q", got, want)
		}
	})
}

func TestRequestsWithoutCacheControlGoToTheFirstHealthyMember(t *testing.T) {
	ms, ups := members("a", "b", "c")
	p := pool.New(ms, pool.Options{Failures: 1, Logger: quiet()})
	if got, want := answer(t, p, plain(t)), "a"; got != want {
		t.Errorf("answered by %q, want %q", got, want)
	}
	ups["a"].setFail(claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded"))
	answer(t, p, plain(t))
	if got, want := answer(t, p, plain(t)), "b"; got != want {
		t.Errorf("with a out answered by %q, want %q", got, want)
	}
	if got, want := ups["a"].count(), 2; got != want {
		t.Errorf("a got %d calls, want %d", got, want)
	}
}

func TestCountTokensGoesToTheFirstMemberWhateverTheCachedPrefix(t *testing.T) {
	ms, _ := members("a", "bb", "ccc")
	p := pool.New(ms, pool.Options{Logger: quiet()})
	for i := range 10 {
		n, err := p.CountTokens(context.Background(), cached(t, fmt.Sprintf("prefix %d", i), "q"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := n.InputTokens, 1; got != want {
			t.Errorf("counted by the member named with %d letters, want %d", got, want)
		}
	}
}

func TestReadyIsReadyWhileSomeMemberIsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAnswering("a")
		a.setFail(claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded"))
		p := pool.New([]pool.Member{{Name: "a", Upstream: a}}, pool.Options{Failures: 1, Logger: quiet()})
		if err := p.Ready(context.Background()); err != nil {
			t.Errorf("ready before failures: %v", err)
		}
		p.Messages(context.Background(), plain(t))
		err := p.Ready(context.Background())
		if got, want := claudebridge.ErrorMessage(err), "no upstream can take calls (a: breaker open)"; got != want {
			t.Errorf("ready with a open: %q, want %q", got, want)
		}
	})
}

func TestCacheKeyCoversThePrefixUpToTheLastMarker(t *testing.T) {
	key := func(r *claudebridge.Request) string {
		k, ok := pool.CacheKey(r)
		return fmt.Sprint(k, ok)
	}
	base := key(cached(t, "system", "q1"))
	if got, want := key(cached(t, "system", "q2")), base; got != want {
		t.Errorf("a different message after the marker: key %s, want %s", got, want)
	}
	if got := key(cached(t, "other system", "q1")); got == base {
		t.Errorf("a different system before the marker has the same key %s", got)
	}
	if _, ok := pool.CacheKey(plain(t)); ok {
		t.Errorf("a request without cache_control has a key")
	}
	inMessages := func(earlier string) *claudebridge.Request {
		msgs, _ := json.Marshal([]any{
			map[string]any{"role": "user", "content": earlier},
			map[string]any{"role": "assistant", "content": "ok"},
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "x", "cache_control": map[string]string{"type": "ephemeral"}}}},
			map[string]any{"role": "assistant", "content": "fine"},
			map[string]any{"role": "user", "content": "after"},
		})
		return request(t, `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":`+string(msgs)+`}`)
	}
	if got, want := key(inMessages("first")) == key(inMessages("second")), false; got != want {
		t.Errorf("messages before the marker differ and keys are equal")
	}
}

func TestTheBreakerOpensWhenTheFailureRateOfTheLastCallsIsReached(t *testing.T) {
	a, b := newAnswering("a"), newAnswering("b")
	p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Failures: 5, FailureRate: 0.5, Logger: quiet()})
	for i := range 19 { // every other call fails: never 2 in a row
		if i%2 == 0 {
			a.setFail(claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded"))
		} else {
			a.setFail(nil)
		}
		answer(t, p, plain(t))
	}
	if got, want := p.States()[0].State, "closed"; got != want {
		t.Fatalf("after 10 failures in 19 calls a is %s, want %s (the window is not full)", got, want)
	}
	a.setFail(nil)
	answer(t, p, plain(t))
	if got, want := p.States()[0].State, "closed"; got != want {
		t.Fatalf("the 20th call succeeded and a is %s, want %s (a success opens nothing)", got, want)
	}
	a.setFail(claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded"))
	answer(t, p, plain(t))
	if got, want := p.States()[0].State, "open"; got != want {
		t.Errorf("failing with half of the last 20 calls failed, a is %s, want %s", got, want)
	}
}

func TestAMemberThatCannotBeReachedIsFailedOver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	unreachable := anthropicapi.New(anthropicapi.Options{BaseURL: closed, Key: anthropicapi.StaticKey("sk-test"), Logger: quiet()})
	b := newAnswering("b")
	p := pool.New([]pool.Member{{Name: "anthropic", Upstream: unreachable}, {Name: "b", Upstream: b}}, pool.Options{Logger: quiet()})
	if got, want := answer(t, p, plain(t)), "b"; got != want {
		t.Errorf("answered by %q, want %q", got, want)
	}
}

func TestBesideTheOnlyMembersProbeACallIsOverloadedForASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAnswering("a")
		release := make(chan struct{})
		failing := true
		a.MessagesFn = func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
			if failing {
				return nil, claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded")
			}
			<-release
			return &claudebridge.Response{Body: []byte("a")}, nil
		}
		p := pool.New([]pool.Member{{Name: "a", Upstream: a}}, pool.Options{Failures: 1, Cooldown: 30 * time.Second, Logger: quiet()})
		p.Messages(context.Background(), plain(t))
		failing = false
		time.Sleep(30 * time.Second)
		synctest.Wait()
		go p.Messages(context.Background(), plain(t))
		synctest.Wait() // the probe waits in a
		_, err := p.Messages(context.Background(), plain(t))
		var e *claudebridge.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v, want an *Error", err)
		}
		if got, want := e.RetryAfter, time.Second; got != want {
			t.Errorf("retry-after %v, want %v", got, want)
		}
		close(release)
	})
}

func TestTheMemberThatServedACallIsNotedInItsContext(t *testing.T) {
	a, b := newAnswering("a"), newAnswering("b")
	a.setFail(claudebridge.Errorf(claudebridge.ERATELIMIT, "throttled"))
	p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Logger: quiet()})
	ctx, served := claudebridge.WithServedBy(context.Background())
	if _, err := p.Messages(ctx, plain(t)); err != nil {
		t.Fatal(err)
	}
	if got, want := served.Member(), "b"; got != want {
		t.Errorf("served by %q, want %q", got, want)
	}
}

func TestAStreamNotesTheMemberWhoseFirstEventItGot(t *testing.T) {
	a := &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
		return &mock.Stream{Err: claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded")}, nil
	}}
	b := &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
		return &mock.Stream{Events: events(2)}, nil
	}}
	p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Logger: quiet()})
	ctx, served := claudebridge.WithServedBy(context.Background())
	s, err := p.Stream(ctx, plain(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got, want := served.Member(), "b"; got != want {
		t.Errorf("served by %q, want %q", got, want)
	}
}

func TestAClientErrorNotesTheMemberThatAnsweredIt(t *testing.T) {
	a, b := newAnswering("a"), newAnswering("b")
	a.setFail(claudebridge.Errorf(claudebridge.EINVALID, "the client's fault"))
	p := pool.New([]pool.Member{{Name: "a", Upstream: a}, {Name: "b", Upstream: b}}, pool.Options{Logger: quiet()})
	ctx, served := claudebridge.WithServedBy(context.Background())
	p.Messages(ctx, plain(t))
	if got, want := served.Member(), "a"; got != want {
		t.Errorf("served by %q, want %q", got, want)
	}
}
