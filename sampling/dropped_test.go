package sampling_test

import (
	"context"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/sampling"
)

// Dropping top_p is a configured drop like the others: the request's
// Dropped names it, for the claudebridge-dropped header and the log.
func TestDroppedTopPIsNoted(t *testing.T) {
	var got *claudebridge.Request
	u := &sampling.Upstream{Next: seen(&got)}
	ctx, d := claudebridge.WithDropped(context.Background())
	if _, err := u.Messages(ctx, request(t, "claude-sonnet-4-5-20250929", `"temperature":0.3,"top_p":0.9,`)); err != nil {
		t.Fatal(err)
	}
	if got, want := d.String(), "fields=top_p"; got != want {
		t.Errorf("dropped %q, want %q", got, want)
	}
}
