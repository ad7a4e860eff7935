package chat

import (
	"testing"

	"github.com/claudebridge/claudebridge"
)

func TestStreamUsageKeepsCacheWritesByLifetime(t *testing.T) {
	var usage claudebridge.Usage
	var stop string
	var reported bool
	for _, ev := range []claudebridge.Event{
		{Type: "message_start", Data: []byte(`{"type":"message_start","message":{"usage":{"input_tokens":5,"cache_creation_input_tokens":0,"output_tokens":1}}}`)},
		{Type: "message_delta", Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"cache_creation_input_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},"output_tokens":9}}`)},
	} {
		readEvent(ev, &usage, &stop, &reported)
	}
	if got, want := usage.CacheCreation.Ephemeral1hInputTokens, 200; got != want {
		t.Errorf("1h writes %d, want %d", got, want)
	}
	if got, want := usage.CacheCreation.Ephemeral5mInputTokens, 100; got != want {
		t.Errorf("5m writes %d, want %d", got, want)
	}
	if got, want := usage.OutputTokens, 9; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
}
