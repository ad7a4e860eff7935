package claudebridge

import (
	"context"
	"testing"
)

func TestDroppedListsFieldsAndBetasOnce(t *testing.T) {
	ctx, d := WithDropped(context.Background())
	DroppedFrom(ctx).Fields("tools.0.eager_input_streaming", "output_config")
	DroppedFrom(ctx).Fields("output_config")
	DroppedFrom(ctx).Betas("context-1m-2025-08-07")
	got, want := d.String(), "fields=tools.0.eager_input_streaming,output_config; betas=context-1m-2025-08-07"
	if got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestNoDroppedInTheContextNotesNothing(t *testing.T) {
	d := DroppedFrom(context.Background())
	d.Fields("x")
	d.Betas("y")
	if got, want := d.String(), ""; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
