package cost

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/claudebridge/claudebridge"
)

// Cap is an Upstream that refuses a call whose worst case (WorstCase) is
// over Max US dollars before anything is sent, with CapExceeded: every door
// (/v1/messages, the Bedrock front door, the chat, batch runs) goes through
// it, and each tells the refusal in its own wire (400
// invalid_request_error; ValidationException on the Bedrock front door).
// count_tokens and the model list pass. The keys slice's per-key cap is
// the same check with the key's figure: Check.
type Cap struct {
	Next     claudebridge.Upstream
	Prices   *Table
	Upstream string // the upstream's name, for its prices
	Max      float64
}

var _ claudebridge.Upstream = (*Cap)(nil)

// Check returns CapExceeded when r's worst case is over limit, else nil.
// A model without a known price passes (its worst case is 0).
func (t *Table) Check(r *claudebridge.Request, upstream string, limit float64) error {
	if limit <= 0 {
		return nil
	}
	maxTokens := 0
	if raw, ok := r.Fields["max_tokens"]; ok {
		maxTokens, _ = strconv.Atoi(string(raw))
	} else if r.Fields == nil {
		var f struct {
			MaxTokens int `json:"max_tokens"`
		}
		_ = json.Unmarshal(r.JSON(), &f)
		maxTokens = f.MaxTokens
	}
	if worst := t.WorstCase(r.Model, upstream, r.JSON(), maxTokens); worst > limit {
		return CapExceeded(worst, limit)
	}
	return nil
}

// Messages checks the cap, then calls Next.
func (c *Cap) Messages(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
	if err := c.Prices.Check(r, c.Upstream, c.Max); err != nil {
		return nil, err
	}
	return c.Next.Messages(ctx, r)
}

// Stream checks the cap, then calls Next.
func (c *Cap) Stream(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
	if err := c.Prices.Check(r, c.Upstream, c.Max); err != nil {
		return nil, err
	}
	return c.Next.Stream(ctx, r)
}

// CountTokens is not capped: it costs nothing.
func (c *Cap) CountTokens(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
	return c.Next.CountTokens(ctx, r)
}

// Models is not capped.
func (c *Cap) Models(ctx context.Context) ([]claudebridge.Model, error) { return c.Next.Models(ctx) }

// Ready forwards to Next when it can tell its readiness; else it is ready.
func (c *Cap) Ready(ctx context.Context) error {
	if r, ok := c.Next.(claudebridge.Readier); ok {
		return r.Ready(ctx)
	}
	return nil
}
