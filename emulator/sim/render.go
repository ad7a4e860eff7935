package sim

import (
	"encoding/json"
	"strings"

	"github.com/claudebridge/claudebridge"
)

// The wire shapes below keep the field order the Messages API writes.

type wireMessage struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Role         string          `json:"role"`
	Model        string          `json:"model"`
	Content      []any           `json:"content"`
	StopReason   *string         `json:"stop_reason"`
	StopSequence *string         `json:"stop_sequence"`
	Usage        json.RawMessage `json:"usage"`
}

type wireUsage struct {
	InputTokens              int               `json:"input_tokens"`
	CacheCreationInputTokens int               `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int               `json:"cache_read_input_tokens"`
	CacheCreation            wireCacheCreation `json:"cache_creation"`
	OutputTokens             int               `json:"output_tokens"`
	ServiceTier              string            `json:"service_tier"`
}

type wireCacheCreation struct {
	Ephemeral5m int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1h int `json:"ephemeral_1h_input_tokens"`
}

// wireDeltaUsage is the cumulative usage of message_delta.
type wireDeltaUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

type wireText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type wireThinking struct {
	Type      string `json:"type"`
	Thinking  string `json:"thinking"`
	Signature string `json:"signature"`
}

type wireRedacted struct {
	Type string `json:"type"`
	Data string `json:"data"`
}

type wireToolUse struct {
	Type  string          `json:"type"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// MustJSON encodes v, which is always encodable: the emulators' own wire types.
func MustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("emulator: " + err.Error())
	}
	return b
}

func (r *Reply) wireUsage(output int) json.RawMessage {
	u := wireUsage{
		InputTokens:              r.usage.InputTokens,
		CacheCreationInputTokens: r.usage.CacheCreationInputTokens,
		CacheReadInputTokens:     r.usage.CacheReadInputTokens,
		OutputTokens:             output,
		ServiceTier:              "standard",
	}
	if r.cacheHour {
		u.CacheCreation.Ephemeral1h = r.usage.CacheCreationInputTokens
	} else {
		u.CacheCreation.Ephemeral5m = r.usage.CacheCreationInputTokens
	}
	return MustJSON(u)
}

// wireBlock is b as the complete message shows it (full is true) or as
// content_block_start opens it.
func wireBlock(b block, full bool) any {
	switch b.Type {
	case "thinking":
		if full {
			return wireThinking{"thinking", b.Text, b.Signature}
		}
		return wireThinking{Type: "thinking"}
	case "redacted_thinking":
		return wireRedacted{"redacted_thinking", b.Data}
	case "tool_use":
		input := json.RawMessage("{}")
		if full {
			input = b.Input
		}
		return wireToolUse{"tool_use", b.ID, b.Name, input}
	}
	if full {
		return wireText{"text", b.Text}
	}
	return wireText{Type: "text"}
}

// Message returns the complete non-streaming Messages JSON:
// {"id":"msg_...","type":"message","role":"assistant","model":...,
// "content":[...],"stop_reason":...,"stop_sequence":...,"usage":{...}}.
func (r *Reply) Message() []byte {
	m := wireMessage{ID: r.id, Type: "message", Role: "assistant", Model: r.model,
		Content: []any{}, StopReason: &r.stopReason, StopSequence: r.stopSequence,
		Usage: r.wireUsage(r.usage.OutputTokens)}
	for _, b := range r.blocks {
		m.Content = append(m.Content, wireBlock(b, true))
	}
	return MustJSON(m)
}

// Events returns the SSE events a streaming call produces, in order:
// message_start (usage with the input counts and output_tokens 1), then per
// block content_block_start, its deltas (text_delta, thinking_delta then one
// signature_delta, input_json_delta starting with an empty partial_json) and
// content_block_stop, then message_delta (stop_reason, stop_sequence and the
// cumulative usage) and message_stop. There are no pings: transports add
// those where their wire has them.
func (r *Reply) Events() []claudebridge.Event {
	var events []claudebridge.Event
	add := func(typ string, v any) {
		events = append(events, claudebridge.Event{Type: typ, Data: MustJSON(v)})
	}
	start := wireMessage{ID: r.id, Type: "message", Role: "assistant", Model: r.model,
		Content: []any{}, Usage: r.wireUsage(1)}
	add("message_start", struct {
		Type    string      `json:"type"`
		Message wireMessage `json:"message"`
	}{"message_start", start})
	for i, b := range r.blocks {
		add("content_block_start", struct {
			Type         string `json:"type"`
			Index        int    `json:"index"`
			ContentBlock any    `json:"content_block"`
		}{"content_block_start", i, wireBlock(b, false)})
		for _, d := range blockDeltas(b) {
			add("content_block_delta", struct {
				Type  string `json:"type"`
				Index int    `json:"index"`
				Delta any    `json:"delta"`
			}{"content_block_delta", i, d})
		}
		add("content_block_stop", struct {
			Type  string `json:"type"`
			Index int    `json:"index"`
		}{"content_block_stop", i})
	}
	type stop struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	add("message_delta", struct {
		Type  string         `json:"type"`
		Delta stop           `json:"delta"`
		Usage wireDeltaUsage `json:"usage"`
	}{"message_delta", stop{r.stopReason, r.stopSequence}, wireDeltaUsage{
		InputTokens:              r.usage.InputTokens,
		CacheCreationInputTokens: r.usage.CacheCreationInputTokens,
		CacheReadInputTokens:     r.usage.CacheReadInputTokens,
		OutputTokens:             r.usage.OutputTokens,
	}})
	add("message_stop", struct {
		Type string `json:"type"`
	}{"message_stop"})
	return events
}

// blockDeltas splits a block into the deltas that stream it.
func blockDeltas(b block) []any {
	var out []any
	switch b.Type {
	case "text":
		for _, c := range wordChunks(b.Text, 3) {
			out = append(out, struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}{"text_delta", c})
		}
	case "thinking":
		for _, c := range wordChunks(b.Text, 4) {
			out = append(out, struct {
				Type     string `json:"type"`
				Thinking string `json:"thinking"`
			}{"thinking_delta", c})
		}
		out = append(out, struct {
			Type      string `json:"type"`
			Signature string `json:"signature"`
		}{"signature_delta", b.Signature})
	case "tool_use":
		type partial struct {
			Type        string `json:"type"`
			PartialJSON string `json:"partial_json"`
		}
		out = append(out, partial{"input_json_delta", ""})
		for _, c := range byteChunks(string(b.Input), 16) {
			out = append(out, partial{"input_json_delta", c})
		}
	}
	return out
}

// wordChunks splits s into pieces of n words, each keeping the spaces that
// precede its words, so that the pieces join back into s.
func wordChunks(s string, n int) []string {
	var out []string
	words := 0
	start := 0
	inWord := false
	for i, c := range s {
		space := c == ' ' || c == '\n' || c == '\t'
		if !space && !inWord {
			if words == n {
				out = append(out, s[start:i])
				start, words = i, 0
				// keep the space before a word with the word
				for start > 0 && (s[start-1] == ' ' || s[start-1] == '\n' || s[start-1] == '\t') {
					start--
				}
				out[len(out)-1] = strings.TrimRight(out[len(out)-1], " \n\t")
			}
			words++
		}
		inWord = !space
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// byteChunks splits s into pieces of about n bytes at rune boundaries.
func byteChunks(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		c := clipBytes(s, n)
		if c == "" {
			c = s[:1]
		}
		out = append(out, c)
		s = s[len(c):]
	}
	return out
}
