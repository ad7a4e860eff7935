package ledger

import (
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/cost"
	"github.com/claudebridge/claudebridge/metrics"
)

// Recorder makes a ledger entry of each call metrics hears
// (metrics.Metrics.Listen(r.Observe)), priced by Prices.
//
// Two kinds of call are left out: those refused before their body was
// read (no model: a wrong key, a body too large), which cost nothing and
// name no model; and the chat's, whose entries the chat writes itself
// when a turn ends (claudebridge.UsageService.AddUsage), with the output
// tokens of a cut answer counted from its text, which the upstream's tally
// never has.
type Recorder struct {
	Writer   *Writer
	Prices   *cost.Table
	Upstream string // "bedrock", "anthropic" or "emulator"
}

// Observe queues c's entry.
func (r *Recorder) Observe(c metrics.Call) {
	if c.Model == "" || c.Door == metrics.Chat {
		return
	}
	e := claudebridge.LedgerEntry{
		Time: time.Now(), RequestID: c.RequestID, Key: c.Caller.Key, UserID: c.Caller.UserID,
		Model: c.Model, Upstream: r.Upstream, Door: c.Door.String(),
		CostUSD: r.Prices.Cost(c.Model, r.Upstream, c.Usage, false), PriceVersion: r.Prices.Version,
		Latency: c.Duration, FirstToken: c.FirstToken, Status: c.Status,
	}
	e.SetUsage(c.Usage)
	r.Writer.Add(e)
}
