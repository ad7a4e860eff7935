package retry_test

import (
	"context"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/mock"
	"github.com/claudebridge/claudebridge/retry"
)

// failing returns a Messages function that fails with errs in turn, then
// succeeds, and records when each call was made.
func failing(calls *[]time.Time, errs ...error) func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
	return func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
		*calls = append(*calls, time.Now())
		if n := len(*calls); n <= len(errs) {
			return nil, errs[n-1]
		}
		return &claudebridge.Response{Body: []byte(`{}`)}, nil
	}
}

func throttled(after time.Duration) error {
	e := claudebridge.Errorf(claudebridge.ERATELIMIT, "slow down")
	e.RetryAfter = after
	return e
}

func TestRetryAfterIsWaitedForExactly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls []time.Time
		u := &retry.Upstream{Next: &mock.Upstream{MessagesFn: failing(&calls, throttled(7*time.Second))},
			MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
		if _, err := u.Messages(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if got, want := len(calls), 2; got != want {
			t.Fatalf("calls: got %d, want %d", got, want)
		}
		// The jittered backoff (under 1 ms) is shorter than retry-after,
		// so retry-after decides.
		if got, want := calls[1].Sub(calls[0]), 7*time.Second; got != want {
			t.Errorf("wait before the retry: got %s, want %s", got, want)
		}
	})
}

func TestRetryAfterBeyondTheDeadlineEndsTheCallAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls []time.Time
		u := &retry.Upstream{Next: &mock.Upstream{MessagesFn: failing(&calls, throttled(5*time.Second))}, MaxAttempts: 3}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := u.Messages(ctx, nil)
		if got, want := claudebridge.ErrorCode(err), claudebridge.ERATELIMIT; got != want {
			t.Errorf("code: got %q, want %q", got, want)
		}
		if got := time.Since(start); got != 0 {
			t.Errorf("returned after %s, want at once", got)
		}
	})
}

func TestRetryAfterLongerThanMaxRetryAfterIsNotWaitedFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls []time.Time
		u := &retry.Upstream{Next: &mock.Upstream{MessagesFn: failing(&calls, throttled(time.Minute))},
			MaxAttempts: 3, MaxRetryAfter: 30 * time.Second}
		_, err := u.Messages(context.Background(), nil)
		if got, want := claudebridge.ErrorCode(err), claudebridge.ERATELIMIT; got != want {
			t.Errorf("code: got %q, want %q", got, want)
		}
		if got, want := len(calls), 1; got != want {
			t.Errorf("calls: got %d, want %d", got, want)
		}
	})
}

func TestBackoffIsFullJitterUnderADoublingCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		overloaded := claudebridge.Errorf(claudebridge.EOVERLOADED, "busy")
		var calls []time.Time
		u := &retry.Upstream{Next: &mock.Upstream{MessagesFn: failing(&calls, overloaded, overloaded, overloaded, overloaded)},
			MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 3 * time.Second}
		if _, err := u.Messages(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		for i, ceiling := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
			if wait := calls[i+1].Sub(calls[i]); wait >= ceiling {
				t.Errorf("wait %d: %s, want under %s", i+1, wait, ceiling)
			}
		}
	})
}

func TestCancellingStopsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls []time.Time
		u := &retry.Upstream{Next: &mock.Upstream{MessagesFn: failing(&calls, throttled(10*time.Second))}, MaxAttempts: 3}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		_, err := u.Messages(ctx, nil)
		if got, want := claudebridge.ErrorCode(err), claudebridge.ECANCELED; got != want {
			t.Errorf("code: got %q, want %q", got, want)
		}
		if got, want := time.Since(start), time.Second; got != want {
			t.Errorf("returned after %s, want %s (when cancelled)", got, want)
		}
		if got, want := len(calls), 1; got != want {
			t.Errorf("calls: got %d, want %d", got, want)
		}
	})
}

func TestErrorsThatAreNotTransientAreNotRetried(t *testing.T) {
	for _, code := range []string{claudebridge.EINVALID, claudebridge.EPERMISSION, claudebridge.ECANCELED} {
		var calls []time.Time
		u := &retry.Upstream{Next: &mock.Upstream{MessagesFn: failing(&calls, claudebridge.Errorf(code, "no"))}, MaxAttempts: 3}
		_, err := u.Messages(context.Background(), nil)
		if got := claudebridge.ErrorCode(err); got != code {
			t.Errorf("%s: code got %q", code, got)
		}
		if got, want := len(calls), 1; got != want {
			t.Errorf("%s: calls got %d, want %d", code, got, want)
		}
	}
}

func TestAStreamFailingBeforeItsFirstEventIsOpenedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		good := &mock.Stream{Events: []claudebridge.Event{{Type: "message_start"}, {Type: "message_stop"}}}
		broken := &mock.Stream{Err: claudebridge.Errorf(claudebridge.EOVERLOADED, "busy")}
		opened := []*mock.Stream{broken, good}
		u := &retry.Upstream{MaxAttempts: 3, Next: &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
			s := opened[0]
			opened = opened[1:]
			return s, nil
		}}}
		s, err := u.Stream(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !broken.Closed() {
			t.Error("the stream that failed was not closed")
		}
		for _, want := range []string{"message_start", "message_stop"} {
			ev, err := s.Next()
			if err != nil || ev.Type != want {
				t.Fatalf("got %q, %v; want %q", ev.Type, err, want)
			}
		}
		if _, err := s.Next(); err != io.EOF {
			t.Errorf("after the last event: got %v, want io.EOF", err)
		}
	})
}

func TestAStreamFailingAfterItsFirstEventIsNotOpenedAgain(t *testing.T) {
	opens := 0
	u := &retry.Upstream{MaxAttempts: 3, Next: &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
		opens++
		return &mock.Stream{Events: []claudebridge.Event{{Type: "message_start"}}, Err: claudebridge.Errorf(claudebridge.EOVERLOADED, "busy")}, nil
	}}}
	s, err := u.Stream(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ev, err := s.Next(); err != nil || ev.Type != "message_start" {
		t.Fatalf("first event: %q, %v", ev.Type, err)
	}
	if _, err := s.Next(); claudebridge.ErrorCode(err) != claudebridge.EOVERLOADED {
		t.Errorf("after the first event: got %v, want the upstream's overload", err)
	}
	if got, want := opens, 1; got != want {
		t.Errorf("opens: got %d, want %d", got, want)
	}
}

// alwaysBuffered is a stream that says its next event has always arrived.
type alwaysBuffered struct{ *mock.Stream }

func (alwaysBuffered) Buffered() bool { return true }

func TestARetriedStreamSaysWhatItsUpstreamSaysOfBufferedEvents(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    claudebridge.Stream
		want bool // after the first event
	}{
		{"an upstream that cannot tell", &mock.Stream{Events: []claudebridge.Event{{Type: "a"}, {Type: "b"}}}, false},
		{"an upstream that can", alwaysBuffered{&mock.Stream{Events: []claudebridge.Event{{Type: "a"}, {Type: "b"}}}}, true},
	} {
		u := &retry.Upstream{Next: &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
			return tc.s, nil
		}}}
		s, err := u.Stream(context.Background(), &claudebridge.Request{})
		if err != nil {
			t.Fatal(err)
		}
		b, ok := s.(claudebridge.BufferedStream)
		if !ok {
			t.Fatalf("%s: the stream is no BufferedStream", tc.name)
		}
		if got, want := b.Buffered(), true; got != want {
			t.Errorf("%s: before the first event (read while retrying): Buffered %v, want %v", tc.name, got, want)
		}
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
		if got := b.Buffered(); got != tc.want {
			t.Errorf("%s: after the first event: Buffered %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestEachRetryIsReportedWithItsOperationAndFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls []time.Time
		var reported []string
		u := &retry.Upstream{Next: &mock.Upstream{MessagesFn: failing(&calls, throttled(0), claudebridge.Errorf(claudebridge.EOVERLOADED, "busy"))},
			MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
			Retried: func(op string, err error) { reported = append(reported, op+" "+claudebridge.ErrorCode(err)) }}
		if _, err := u.Messages(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if got, want := len(reported), 2; got != want {
			t.Fatalf("%d retries reported, want %d: %v", got, want, reported)
		}
		if got, want := reported[0], "messages rate_limit"; got != want {
			t.Errorf("first retry reported as %q, want %q", got, want)
		}
		if got, want := reported[1], "messages overloaded"; got != want {
			t.Errorf("second retry reported as %q, want %q", got, want)
		}
	})
}
