package converse

import (
	"encoding/json"
	"testing"

	claudebridge "github.com/claudebridge/claudebridge"
)

func TestCacheDetailsBecomeCacheCreationByLifetime(t *testing.T) {
	body := `{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"end_turn",
		"usage":{"inputTokens":5,"outputTokens":1,"totalTokens":306,"cacheReadInputTokens":0,"cacheWriteInputTokens":300,
		"cacheDetails":[{"ttl":"1h","inputTokens":200},{"ttl":"5m","inputTokens":100}]}}`
	got, err := ResponseToMessages([]byte(body), "m")
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Usage json.RawMessage }
	_ = json.Unmarshal(got, &m)
	jsonEqual(t, m.Usage, `{"input_tokens":5,"output_tokens":1,"cache_creation_input_tokens":300,"cache_read_input_tokens":0,
		"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200}}`)
}

func TestCacheCreationBecomesCacheDetails(t *testing.T) {
	msg := `{"content":[],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":1,
		"cache_creation_input_tokens":300,"cache_read_input_tokens":0,
		"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200}}}`
	got, err := ResponseFromMessages([]byte(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Usage json.RawMessage }
	_ = json.Unmarshal(got, &m)
	jsonEqual(t, m.Usage, `{"inputTokens":5,"outputTokens":1,"totalTokens":306,"cacheReadInputTokens":0,"cacheWriteInputTokens":300,
		"cacheDetails":[{"ttl":"1h","inputTokens":200},{"ttl":"5m","inputTokens":100}]}`)
}

func TestStreamUsageCarriesCacheLifetimesBothWays(t *testing.T) {
	evs := runToMessages(t, []step{
		{"messageStart", `{"role":"assistant"}`},
		{"messageStop", `{"stopReason":"end_turn"}`},
		{"metadata", `{"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":53,"cacheWriteInputTokens":50,"cacheDetails":[{"ttl":"1h","inputTokens":50}]}}`},
	})
	last := evs[len(evs)-2]
	jsonEqual(t, last.Data, `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},
		"usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":50,"cache_read_input_tokens":0,
		"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":50}}}`)

	var s StreamFromMessages
	for _, e := range []claudebridge.Event{
		{Type: "message_start", Data: []byte(`{"type":"message_start","message":{"usage":{"input_tokens":1,"cache_creation_input_tokens":50,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":50},"output_tokens":1}}}`)},
		{Type: "message_delta", Data: last.Data},
	} {
		if _, err := s.Event(e); err != nil {
			t.Fatal(err)
		}
	}
	out, err := s.Event(claudebridge.Event{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out[1].Payload, `{"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":53,"cacheReadInputTokens":0,"cacheWriteInputTokens":50,
		"cacheDetails":[{"ttl":"1h","inputTokens":50}]},"metrics":{"latencyMs":0}}`)
}

func TestCacheWritesWithoutLifetimesHaveNoSplit(t *testing.T) {
	got := usageToMessages(tokenUsage{CacheWriteInputTokens: 9})
	if got.CacheCreation != nil {
		t.Errorf("cache_creation %+v made up from no cacheDetails", *got.CacheCreation)
	}
}

func TestAStreamsCacheWritesWithoutLifetimesHaveNoCacheDetails(t *testing.T) {
	var s StreamFromMessages
	for _, e := range []claudebridge.Event{
		{Type: "message_start", Data: []byte(`{"type":"message_start","message":{"usage":{"input_tokens":1,"cache_creation_input_tokens":9,"output_tokens":1}}}`)},
		{Type: "message_delta", Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}`)},
	} {
		if _, err := s.Event(e); err != nil {
			t.Fatal(err)
		}
	}
	out, err := s.Event(claudebridge.Event{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out[1].Payload, `{"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":12,"cacheReadInputTokens":0,"cacheWriteInputTokens":9},"metrics":{"latencyMs":0}}`)
}
