// Package sampling applies, in one place, the rule of the Claude models that
// refuse temperature and top_p in the same request (Claude Opus 4.1 and every
// model since, as the model table says): an Upstream decorator that every
// door's calls go through, whichever door they came in by.
package sampling

import (
	"bytes"
	"context"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/models"
)

// Policy says what to do with a request that sets both temperature and
// top_p for a model that refuses the pair.
type Policy string

const (
	// DropTopP keeps temperature and drops top_p, as the migration guide
	// claudebridge follows does. The default.
	DropTopP Policy = "drop_top_p"
	// Reject answers 400 invalid_request_error.
	Reject Policy = "reject"
)

// exclusive reports whether model refuses temperature and top_p together.
// Bedrock ids ("anthropic.claude-sonnet-4-5-...", "us.anthropic...") are
// judged by the Claude id inside them, ids the table does not have by the
// closest model of their family.
func exclusive(model string) bool {
	m, ok := models.Closest(model)
	return ok && m.ExclusiveSampling
}

// Resolver is an Upstream that can say which model an id it serves stands
// for where the id does not say it: an application inference profile ARN,
// an id the operator mapped (the bedrock upstream).
type Resolver interface {
	// BaseModel returns the model id behind id, or id itself.
	BaseModel(ctx context.Context, id string) string
}

// Upstream applies the rule to Messages and Stream calls before Next sees
// them. Counting tokens and listing models pass through: neither samples.
type Upstream struct {
	Next claudebridge.Upstream
	// Policy is what happens to a refused pair; "" is DropTopP.
	Policy Policy
}

var _ claudebridge.Upstream = (*Upstream)(nil)

// apply returns r, or a copy without top_p when the model r's id stands
// for refuses the pair under DropTopP; EINVALID under Reject.
func (u *Upstream) apply(ctx context.Context, r *claudebridge.Request) (*claudebridge.Request, error) {
	if !given(r, "temperature") || !given(r, "top_p") {
		return r, nil
	}
	model := r.Model
	if res, ok := u.Next.(Resolver); ok && !exclusive(model) {
		model = res.BaseModel(ctx, model)
	}
	if !exclusive(model) {
		return r, nil
	}
	if u.Policy == Reject {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "temperature and top_p cannot both be specified for %s; use only one", r.Model)
	}
	c := r.Clone()
	c.SetField("top_p", nil)
	claudebridge.DroppedFrom(ctx).Fields("top_p") // announced like every drop
	return c, nil
}

// given reports whether r sets field to something other than null.
func given(r *claudebridge.Request, field string) bool {
	v, ok := r.Fields[field]
	return ok && string(bytes.TrimSpace(v)) != "null"
}

// Messages applies the rule, then calls Next.
func (u *Upstream) Messages(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
	r, err := u.apply(ctx, r)
	if err != nil {
		return nil, err
	}
	return u.Next.Messages(ctx, r)
}

// Stream applies the rule, then calls Next.
func (u *Upstream) Stream(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
	r, err := u.apply(ctx, r)
	if err != nil {
		return nil, err
	}
	return u.Next.Stream(ctx, r)
}

// CountTokens calls Next unchanged.
func (u *Upstream) CountTokens(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
	return u.Next.CountTokens(ctx, r)
}

// Models calls Next.
func (u *Upstream) Models(ctx context.Context) ([]claudebridge.Model, error) {
	return u.Next.Models(ctx)
}

// Ready forwards to Next when it can tell its readiness; else it is ready.
func (u *Upstream) Ready(ctx context.Context) error {
	if r, ok := u.Next.(claudebridge.Readier); ok {
		return r.Ready(ctx)
	}
	return nil
}
