package chat

import (
	"testing"
	"time"
)

func TestLoginLimitWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLoginLimit(2, time.Minute)
	l.now = func() time.Time { return now }
	l.refused("a")
	now = now.Add(30 * time.Second)
	l.refused("a")
	if w := l.wait("a"); w != 30*time.Second {
		t.Fatalf("wait %v, want 30s: until the first refusal leaves the window", w)
	}
	now = now.Add(31 * time.Second)
	if w := l.wait("a"); w != 0 {
		t.Fatalf("wait %v after the window", w)
	}
	l.refused("a")
	l.succeeded("a")
	if w := l.wait("a"); w != 0 || len(l.byName) != 0 {
		t.Fatalf("after a success: wait %v, %d names", w, len(l.byName))
	}
}
