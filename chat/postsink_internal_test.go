package chat

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// timedPosts records when each post was made.
type timedPosts struct {
	mu sync.Mutex
	at []time.Time
}

func (p *timedPosts) Post(context.Context, string, []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at = append(p.at, time.Now())
	return nil
}

func TestPostsToOneConnectionAreOneAtATimeAndPostEveryApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &timedPosts{}
		sink := newPostSink(nil, rec, "conn-1")
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { sink.send(t.Context(), []byte(`{}`)) })
		}
		wg.Wait()
		if got, want := len(rec.at), 3; got != want {
			t.Fatalf("posts %d, want %d", got, want)
		}
		for i := 1; i < len(rec.at); i++ {
			if gap := rec.at[i].Sub(rec.at[i-1]); gap < postEvery {
				t.Errorf("post %d came %v after the one before, want %v or more", i, gap, postEvery)
			}
		}
	})
}
