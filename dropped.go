package claudebridge

import (
	"context"
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
