package claudebridge

import (
	"context"
	"sync"
)

// ServedBy notes which upstream member served a call: the pool of
// UPSTREAMS names the member whose answer (or failure) the call got, so
// that the door that records the call (metrics, its log line) can say so.
// An upstream that is no pool notes nothing. The zero value is ready; a nil
// *ServedBy notes nothing. Safe for concurrent use.
type ServedBy struct {
	mu     sync.Mutex
	member string
}

type servedByKey struct{}

// WithServedBy returns ctx carrying a new ServedBy, for the pool to note
// into, and that ServedBy.
func WithServedBy(ctx context.Context) (context.Context, *ServedBy) {
	s := &ServedBy{}
	return context.WithValue(ctx, servedByKey{}, s), s
}

// ServedByFrom returns the ServedBy ctx carries, nil when none.
func ServedByFrom(ctx context.Context) *ServedBy {
	s, _ := ctx.Value(servedByKey{}).(*ServedBy)
	return s
}

// Set notes member as the one that served the call; a later Set (the
// next member tried, a retry) replaces it.
func (s *ServedBy) Set(member string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.member = member
	s.mu.Unlock()
}

// Member returns the member last Set, "" when none was.
func (s *ServedBy) Member() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.member
}
