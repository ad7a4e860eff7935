package ledger

import (
	"context"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/cost"
	"github.com/claudebridge/claudebridge/metrics"
)

func TestACallHeardByMetricsBecomesALedgerEntryWithItsCacheWritesByLifetime(t *testing.T) {
	store := &memStore{}
	w := New(Options{Store: store})
	m := metrics.Unserved()
	prices := cost.Builtin()
	m.Listen((&Recorder{Writer: w, Prices: prices, Upstream: "bedrock"}).Observe)
	u := claudebridge.Usage{InputTokens: 10, OutputTokens: 20, CacheReadInputTokens: 30, CacheCreationInputTokens: 7,
		CacheCreation: claudebridge.CacheCreation{Ephemeral5mInputTokens: 3, Ephemeral1hInputTokens: 4}}
	m.Observe(metrics.Call{Door: metrics.Messages, Model: "claude-sonnet-4-5", Status: 200, Duration: time.Second,
		FirstToken: time.Millisecond, Usage: u, RequestID: "req_1", Caller: claudebridge.Caller{Key: "ci"}})
	m.Observe(metrics.Call{Door: metrics.Messages, Status: 401})                      // no model: refused before its body
	m.Observe(metrics.Call{Door: metrics.Chat, Model: "claude-sonnet-4-5", Usage: u}) // the chat writes its own
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := store.rows(), 1; got != want {
		t.Fatalf("entries %d, want %d", got, want)
	}
	e := store.batches[0][0]
	if got, want := e.Key, "ci"; got != want {
		t.Errorf("key %q, want %q", got, want)
	}
	if got, want := e.RequestID, "req_1"; got != want {
		t.Errorf("request id %q, want %q", got, want)
	}
	if got, want := e.Door, "messages"; got != want {
		t.Errorf("door %q, want %q", got, want)
	}
	if got, want := e.CacheWrite5mTokens, 3; got != want {
		t.Errorf("5-minute cache writes %d, want %d", got, want)
	}
	if got, want := e.CacheWrite1hTokens, 4; got != want {
		t.Errorf("1-hour cache writes %d, want %d", got, want)
	}
	if got, want := e.CostUSD, prices.Cost("claude-sonnet-4-5", "bedrock", u, false); got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
	if got, want := e.PriceVersion, prices.Version; got != want {
		t.Errorf("price version %q, want %q", got, want)
	}
	if got, want := e.FirstToken, time.Millisecond; got != want {
		t.Errorf("first token %v, want %v", got, want)
	}
}
