package claudebridge

import (
	"context"
	"net/http"
	"net/http/httptest"
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

func TestTheDroppedWriterNamesTheDropsWhenTheHeadIsWritten(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w http.ResponseWriter)
	}{
		{"WriteHeader", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadRequest) }},
		{"Write alone", func(w http.ResponseWriter) { w.Write([]byte("{}")) }},
	} {
		d := &Dropped{}
		rec := httptest.NewRecorder()
		w := d.Writer(rec)
		d.Fields("tools.0.strict")
		d.Betas("made-up-2099-01-01")
		tc.write(w)
		d.Fields("noted.after.the.head") // too late for the header
		if got, want := rec.Result().Header.Get(DroppedHeader), "fields=tools.0.strict; betas=made-up-2099-01-01"; got != want {
			t.Errorf("%s: header %q, want %q", tc.name, got, want)
		}
	}
}

func TestTheDroppedWriterSendsNoHeaderWhenNothingWasDropped(t *testing.T) {
	rec := httptest.NewRecorder()
	(&Dropped{}).Writer(rec).Write([]byte("{}"))
	if got, want := len(rec.Result().Header.Values(DroppedHeader)), 0; got != want {
		t.Errorf("%d %s headers, want %d", got, DroppedHeader, want)
	}
}

func TestTheDroppedWriterLetsAResponseControllerFlush(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := http.NewResponseController((&Dropped{}).Writer(rec)).Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Flushed, true; got != want {
		t.Errorf("flushed %v, want %v", got, want)
	}
}
