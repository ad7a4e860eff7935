package anthropic

import (
	"testing"

	"github.com/claudebridge/claudebridge"
)

func TestAddEventUsageTakesMessageStartThenTheCumulativeCountsOfMessageDelta(t *testing.T) {
	var u claudebridge.Usage
	AddEventUsage(&u, "message_start", []byte(`{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":10,"output_tokens":1,"cache_read_input_tokens":7,"cache_creation_input_tokens":5,"cache_creation":{"ephemeral_5m_input_tokens":2,"ephemeral_1h_input_tokens":3}}}}`))
	AddEventUsage(&u, "content_block_delta", []byte(`{"type":"content_block_delta","usage":{"output_tokens":99}}`))
	AddEventUsage(&u, "message_delta", []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":42,"server_tool_use":null}}`))
	if got, want := u.InputTokens, 10; got != want {
		t.Errorf("input tokens %d, want %d", got, want)
	}
	if got, want := u.OutputTokens, 42; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
	if got, want := u.CacheReadInputTokens, 7; got != want {
		t.Errorf("cache read tokens %d, want %d", got, want)
	}
	if got, want := u.CacheCreationInputTokens, 5; got != want {
		t.Errorf("cache write tokens %d, want %d", got, want)
	}
	if got, want := u.CacheCreation.Ephemeral1hInputTokens, 3; got != want {
		t.Errorf("1-hour cache write tokens %d, want %d", got, want)
	}
}

func TestAddEventUsageSaysWhetherTheEventCarriedAUsage(t *testing.T) {
	for _, tc := range []struct {
		name, typ, data string
		want            bool
	}{
		{"message_start with a usage", "message_start", `{"type":"message_start","message":{"usage":{"input_tokens":3,"output_tokens":1}}}`, true},
		{"message_start without one", "message_start", `{"type":"message_start","message":{"id":"msg_1"}}`, false},
		{"message_delta with a usage", "message_delta", `{"type":"message_delta","delta":{},"usage":{"output_tokens":2}}`, true},
		{"message_delta with a null usage", "message_delta", `{"type":"message_delta","delta":{},"usage":null}`, false},
		{"another event", "content_block_delta", `{"type":"content_block_delta","usage":{"output_tokens":99}}`, false},
	} {
		var u claudebridge.Usage
		if got := AddEventUsage(&u, tc.typ, []byte(tc.data)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAddEventUsageTakesTheCacheWritesByLifetimeFromMessageDelta(t *testing.T) {
	var u claudebridge.Usage
	AddEventUsage(&u, "message_start", []byte(`{"type":"message_start","message":{"usage":{"input_tokens":5,"cache_creation_input_tokens":0,"output_tokens":1}}}`))
	AddEventUsage(&u, "message_delta", []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"cache_creation_input_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},"output_tokens":9}}`))
	if got, want := u.CacheCreation.Ephemeral5mInputTokens, 100; got != want {
		t.Errorf("5-minute cache write tokens %d, want %d", got, want)
	}
	if got, want := u.CacheCreation.Ephemeral1hInputTokens, 200; got != want {
		t.Errorf("1-hour cache write tokens %d, want %d", got, want)
	}
	if got, want := u.InputTokens, 5; got != want {
		t.Errorf("input tokens %d, want %d", got, want)
	}
}
