package metrics_test

import (
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/metrics"
)

// BenchmarkObserve is what a call costs the metrics: the stream's two
// usage events tallied, a content delta, and the call recorded.
func BenchmarkObserve(b *testing.B) {
	m := metrics.New("anthropic")
	start := []byte(`{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":2048,"cache_read_input_tokens":91234,"output_tokens":1}}}`)
	delta := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`)
	end := []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":412}}`)
	b.ReportAllocs()
	for b.Loop() {
		t := metrics.Tally{Start: time.Now()}
		t.Event("message_start", start)
		t.Event("content_block_delta", delta)
		t.Event("message_delta", end)
		m.Observe(metrics.Call{Door: metrics.Messages, Model: "claude-sonnet-4-5", Status: 200, Duration: time.Second,
			FirstToken: t.FirstToken, Usage: t.Usage})
	}
}

// BenchmarkObserveOtherModel is a call of a model the table does not have,
// which misses the map of ids and is looked for in the table.
func BenchmarkObserveOtherModel(b *testing.B) {
	m := metrics.New("anthropic")
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(metrics.Call{Door: metrics.Messages, Model: "amazon.nova-pro-v1:0", Status: 200, Duration: time.Second,
			Usage: claudebridge.Usage{InputTokens: 10, OutputTokens: 20}})
	}
}
