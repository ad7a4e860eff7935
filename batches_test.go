package claudebridge

import (
	"regexp"
	"testing"
)

func TestBatchIDsAreShapedAsTheAPIs(t *testing.T) {
	// As "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF" in the Message Batches API.
	shape := regexp.MustCompile(`^msgbatch_01[0-9A-Za-z]{22}$`)
	seen := map[string]bool{}
	for range 20 {
		id := NewBatchID()
		if !shape.MatchString(id) {
			t.Fatalf("batch ID %q, want %s", id, shape)
		}
		if seen[id] {
			t.Fatalf("batch ID %q made twice", id)
		}
		seen[id] = true
	}
}
