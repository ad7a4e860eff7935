package postgres

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestCallersThatComeWhileASendIsOutGoTogetherInTheNext(t *testing.T) {
	var g group[int]
	var mu sync.Mutex
	var batches [][]int
	firstOut, releaseFirst := make(chan struct{}), make(chan struct{})
	send := func(batch []int) error {
		mu.Lock()
		batches = append(batches, batch)
		first := len(batches) == 1
		mu.Unlock()
		if first {
			close(firstOut)
			<-releaseFirst
		}
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := g.do(0, send); err != nil {
			t.Errorf("do 0: %v", err)
		}
	})
	<-firstOut
	for i := 1; i <= 5; i++ {
		wg.Go(func() {
			if err := g.do(i, send); err != nil {
				t.Errorf("do %d: %v", i, err)
			}
		})
	}
	for queued := 0; queued < 5; { // the five wait behind the first send
		g.mu.Lock()
		queued = len(g.pending)
		g.mu.Unlock()
	}
	close(releaseFirst)
	wg.Wait()
	if got, want := len(batches), 2; got != want {
		t.Fatalf("%d sends, want %d: %v", got, want, batches)
	}
	second := slices.Sorted(slices.Values(batches[1]))
	if got, want := second, []int{1, 2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("second send %v, want %v", got, want)
	}
}

func TestEveryCallerOfABatchGetsItsSendsError(t *testing.T) {
	var g group[int]
	failed := errors.New("the round trip failed")
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := map[int]int{}
	for i := range 50 {
		wg.Go(func() {
			err := g.do(i, func(batch []int) error {
				mu.Lock()
				defer mu.Unlock()
				for _, v := range batch {
					sent[v]++
				}
				return failed
			})
			if !errors.Is(err, failed) {
				t.Errorf("do %d: %v, want the send's error", i, err)
			}
		})
	}
	wg.Wait()
	for i := range 50 {
		if got, want := sent[i], 1; got != want {
			t.Errorf("%d sent %d times, want %d", i, got, want)
		}
	}
}

func TestABatchEndsAtItsSendersDeadlineOrIn30sNotWhenItsSenderIsCanceled(t *testing.T) {
	soon := time.Now().Add(5 * time.Second)
	sender, cancel := context.WithDeadline(context.Background(), soon)
	ctx, done := batchContext(sender)
	defer done()
	cancel()
	if err := ctx.Err(); err != nil {
		t.Errorf("the batch's context after its sender's was canceled: %v, want none", err)
	}
	if got, ok := ctx.Deadline(); !ok || !got.Equal(soon) {
		t.Errorf("the batch's deadline %v, want its sender's %v", got, soon)
	}
	ctx, done = batchContext(context.Background())
	defer done()
	if got, ok := ctx.Deadline(); !ok || time.Until(got) > 30*time.Second {
		t.Errorf("the batch's deadline without its sender's %v, want within 30 s", got)
	}
}
