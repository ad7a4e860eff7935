package bedrock

import (
	"context"
	"io"
	"sync"
	"testing"
)

// Concurrent streams on one Upstream must not share the SDK's event-stream
// decoder state (aws/smithy-go#714); run with -race to see it.
func TestConcurrentStreamsDoNotRace(t *testing.T) {
	for _, api := range []string{APIInvoke, APIConverse} {
		u, _ := converseUpstream(t, func(o *Options) { o.API = api })
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := u.Stream(context.Background(), request(t, userText("claude-sonnet-4-5", "Tell me a long story")))
				if err != nil {
					t.Error(err)
					return
				}
				defer s.Close()
				for {
					if _, err := s.Next(); err != nil {
						if err != io.EOF {
							t.Errorf("%s: %v", api, err)
						}
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}
