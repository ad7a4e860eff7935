package metrics_test

import (
	"context"
	"testing"

	"github.com/claudebridge/claudebridge/internal/metricstest"
	"github.com/claudebridge/claudebridge/metrics"
)

func TestAListenerHearsEachCallBesideTheCollectors(t *testing.T) {
	m := metrics.New("bedrock")
	var heard []metrics.Call
	m.Listen(func(c metrics.Call) { heard = append(heard, c) })
	m.Observe(metrics.Call{Door: metrics.Messages, Model: "claude-sonnet-4-5", Status: 200, RequestID: "req_1"})
	if got, want := len(heard), 1; got != want {
		t.Fatalf("calls heard %d, want %d", got, want)
	}
	if got, want := heard[0].RequestID, "req_1"; got != want {
		t.Errorf("request id %q, want %q", got, want)
	}
	f := metricstest.Scrape(t, m.Handler(""), "")
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"door": "messages", "model": "claude-sonnet-4-5-20250929", "upstream": "bedrock", "status": "200"}), 1.0; got != want {
		t.Errorf("requests %v, want %v", got, want)
	}
}

func TestUnservedMetricsOnlyTellTheirListeners(t *testing.T) {
	m := metrics.Unserved()
	heard := 0
	m.Listen(func(metrics.Call) { heard++ })
	m.StreamOpened(metrics.Messages)
	m.Observe(metrics.Call{Door: metrics.Messages, Model: "claude-sonnet-4-5", Status: 200})
	m.StreamClosed(metrics.Messages)
	m.Retried("messages", context.Canceled)
	m.ChatTurns(func() int { return 0 })
	m.Ledger(func() int { return 0 }, func() int64 { return 0 }, func() int64 { return 0 })
	if got, want := heard, 1; got != want {
		t.Errorf("calls heard %d, want %d", got, want)
	}
}

func TestTheLedgerQueueIsSeenInTheMetrics(t *testing.T) {
	m := metrics.New("bedrock")
	m.Ledger(func() int { return 7 }, func() int64 { return 3 }, func() int64 { return 1 })
	f := metricstest.Scrape(t, m.Handler(""), "")
	for name, want := range map[string]float64{"claudebridge_ledger_queue_depth": 7, "claudebridge_ledger_queue_waits_total": 3, "claudebridge_ledger_failed_total": 1} {
		if got := f.Value(name, nil); got != want {
			t.Errorf("%s %v, want %v", name, got, want)
		}
	}
}
