package limits_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/mock"
)

// pacedKey is the entry of a stored key with these limits.
func pacedKey(t *testing.T, key claudebridge.Key) func(string) *limits.Entry {
	t.Helper()
	s := &mock.Keys{}
	add(t, s, key)
	ring, err := limits.NewKeyring(context.Background(), nil, s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ring.Named
}

// pacedRequest is estimated at 100 input tokens and 400 of output.
func pacedRequest() *claudebridge.Request {
	return &claudebridge.Request{Model: "claude-sonnet-4-5", Body: make([]byte, 400), Fields: map[string]json.RawMessage{"max_tokens": json.RawMessage("400")}}
}

func TestABatchKeysCallsOverItsTokensPerMinuteWaitForTheNextWindowInsteadOfFailing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1,000 tokens a minute: two calls of 500 per window.
		keys := pacedKey(t, claudebridge.Key{Name: "team", TPM: 1000})
		start := time.Now()
		var mu sync.Mutex
		var began []time.Duration
		next := &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
			mu.Lock()
			began = append(began, time.Since(start))
			mu.Unlock()
			return &claudebridge.Response{Usage: claudebridge.Usage{InputTokens: 100, OutputTokens: 400}}, nil
		}}
		up := &limits.Paced{Next: limits.Upstream{Upstream: next}, Keys: keys}
		ctx := claudebridge.WithCaller(context.Background(), claudebridge.Caller{Key: "team"})
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				if _, err := up.Messages(ctx, pacedRequest()); err != nil {
					t.Errorf("a paced call failed: %v", err)
				}
			})
		}
		wg.Wait()
		slices.Sort(began)
		want := []time.Duration{0, 0, time.Minute, time.Minute, 2 * time.Minute}
		if got := began; !slices.Equal(got, want) {
			t.Errorf("calls began at %v, want %v", got, want)
		}
	})
}

func TestABatchKeysCallOverItsConcurrencyStartsWhenTheCallBeforeItEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keys := pacedKey(t, claudebridge.Key{Name: "team", Concurrency: 1})
		start := time.Now()
		end := make(chan struct{})
		var mu sync.Mutex
		calls := 0
		next := &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
			mu.Lock()
			calls++
			first := calls == 1
			mu.Unlock()
			if first {
				<-end
			}
			return &claudebridge.Response{}, nil
		}}
		up := &limits.Paced{Next: limits.Upstream{Upstream: next}, Keys: keys}
		ctx := claudebridge.WithCaller(context.Background(), claudebridge.Caller{Key: "team"})
		var wg sync.WaitGroup
		call := func() {
			if _, err := up.Messages(ctx, pacedRequest()); err != nil {
				t.Errorf("a paced call failed: %v", err)
			}
		}
		wg.Go(call)
		synctest.Wait()
		wg.Go(call)
		synctest.Wait()
		mu.Lock()
		if got, want := calls, 1; got != want {
			t.Errorf("calls begun while the first runs %d, want %d", got, want)
		}
		mu.Unlock()
		close(end)
		wg.Wait()
		if got, want := calls, 2; got != want {
			t.Errorf("calls begun %d, want %d", got, want)
		}
		// Woken by the first call's end, not by a timer.
		if got, want := time.Since(start), time.Duration(0); got != want {
			t.Errorf("the second call began after %v, want %v", got, want)
		}
	})
}

func TestABatchKeysCallOfAModelOffItsListIsRefusedAtOnce(t *testing.T) {
	keys := pacedKey(t, claudebridge.Key{Name: "team", Models: []string{"claude-haiku-4-5"}})
	up := &limits.Paced{Next: &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		t.Error("the call was sent")
		return &claudebridge.Response{}, nil
	}}, Keys: keys}
	ctx := claudebridge.WithCaller(context.Background(), claudebridge.Caller{Key: "team"})
	_, err := up.Messages(ctx, pacedRequest())
	if got, want := claudebridge.ErrorCode(err), claudebridge.EPERMISSION; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
}

func TestAWaitForRoomEndsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keys := pacedKey(t, claudebridge.Key{Name: "team", RPM: 1})
		e := keys("team")
		first, err := e.Wait(context.Background(), "claude-sonnet-4-5", nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Release()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = e.Wait(ctx, "claude-sonnet-4-5", nil, 10)
		if got, want := err, context.DeadlineExceeded; got != want {
			t.Errorf("err %v, want %v", got, want)
		}
	})
}

func TestCallsOfNoVirtualKeyPassUnpaced(t *testing.T) {
	keys := pacedKey(t, claudebridge.Key{Name: "team", RPM: 1})
	n := 0
	up := &limits.Paced{Next: &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		n++
		return &claudebridge.Response{}, nil
	}}, Keys: keys}
	for _, who := range []claudebridge.Caller{{}, {Key: "gone"}, {}} {
		if _, err := up.Messages(claudebridge.WithCaller(context.Background(), who), pacedRequest()); err != nil {
			t.Errorf("caller %+v: %v", who, err)
		}
	}
	if got, want := n, 3; got != want {
		t.Errorf("calls sent %d, want %d", got, want)
	}
}
