package claudebridge

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Dropped notes what an upstream left out of a request: body fields (as
// paths, "tools.0.eager_input_streaming") and anthropic-beta flags that the
// model refuses, by configuration or as learned from the upstream's 400s.
// The edge tells the client (a response header) and the log, so that no
// loss is silent. The zero value is ready; a nil *Dropped notes nothing.
// Safe for concurrent use.
type Dropped struct {
	mu     sync.Mutex
	fields []string
	betas  []string
}

type droppedKey struct{}

// WithDropped returns ctx carrying a new Dropped, for the upstream to note
// into, and that Dropped.
func WithDropped(ctx context.Context) (context.Context, *Dropped) {
	d := &Dropped{}
	return context.WithValue(ctx, droppedKey{}, d), d
}

// DroppedFrom returns the Dropped ctx carries, nil when none.
func DroppedFrom(ctx context.Context) *Dropped {
	d, _ := ctx.Value(droppedKey{}).(*Dropped)
	return d
}

// Fields notes dropped field paths; one noted already is not repeated.
func (d *Dropped) Fields(paths ...string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range paths {
		if !slices.Contains(d.fields, p) {
			d.fields = append(d.fields, p)
		}
	}
}

// Betas notes dropped anthropic-beta flags; one noted already is not
// repeated.
func (d *Dropped) Betas(flags ...string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range flags {
		if !slices.Contains(d.betas, f) {
			d.betas = append(d.betas, f)
		}
	}
}

// String lists what was dropped as "fields=a,b; betas=c", either part left
// out when empty; "" when nothing was.
func (d *Dropped) String() string {
	if d == nil {
		return ""
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var parts []string
	if len(d.fields) > 0 {
		parts = append(parts, "fields="+strings.Join(d.fields, ","))
	}
	if len(d.betas) > 0 {
		parts = append(parts, "betas="+strings.Join(d.betas, ","))
	}
	return strings.Join(parts, "; ")
}

// DroppedHeader names, on an answer whose request lost body fields or
// anthropic-beta flags on the way upstream, what was left out, as String
// says it: "fields=tools.0.strict; betas=flag-2099-01-01". Both front doors
// send it (named like claudebridge-token-count); the AWS SDKs ignore headers
// they do not model, boto3 shows it in ResponseMetadata.
const DroppedHeader = "claudebridge-dropped"

// Writer returns w setting DroppedHeader when its head is written, from
// what d holds by then: for a stream, what the upstream noted by the time
// it accepted the call. Nothing dropped, no header. The writer's Unwrap
// lets http.ResponseController reach w's deadlines and flushes.
func (d *Dropped) Writer(w http.ResponseWriter) http.ResponseWriter {
	return &droppedWriter{ResponseWriter: w, dropped: d}
}

type droppedWriter struct {
	http.ResponseWriter
	dropped *Dropped
	wrote   bool
}

func (w *droppedWriter) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		if s := w.dropped.String(); s != "" {
			w.Header().Set(DroppedHeader, s)
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *droppedWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *droppedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
