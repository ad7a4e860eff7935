package claudebridge

import (
	"context"
	"testing"
)

func TestServedByNamesTheMemberSetLast(t *testing.T) {
	ctx, s := WithServedBy(context.Background())
	ServedByFrom(ctx).Set("bedrock:us-east-1")
	ServedByFrom(ctx).Set("anthropic")
	if got, want := s.Member(), "anthropic"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestNoServedByInTheContextNotesNothing(t *testing.T) {
	s := ServedByFrom(context.Background())
	s.Set("anthropic")
	if got, want := s.Member(), ""; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
