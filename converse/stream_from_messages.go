package converse

import (
	"encoding/json"

	claudebridge "github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// ConverseEvent is one ConverseStream event: Type is its :event-type
// (messageStart, contentBlockDelta, ...) and Payload its JSON.
type ConverseEvent struct {
	Type    string
	Payload []byte
}

// StreamFromMessages turns a Messages SSE sequence into ConverseStream
// events: messageStart, contentBlockStart (tool use only, as Converse does),
// contentBlockDelta, contentBlockStop, messageStop, then metadata with the
// usage gathered from message_start and message_delta. The zero value is
// ready to use. metrics.latencyMs is 0 unless LatencyMs is set before
// message_stop arrives.
type StreamFromMessages struct {
	// LatencyMs is reported in the metadata event's metrics.
	LatencyMs int64

	// FieldPaths are the request's additionalModelResponseFieldPaths:
	// the values at those JSON pointers in the message_delta event
	// ("/delta/stop_sequence") are sent in messageStop's
	// additionalModelResponseFields, as Bedrock sends them from the
	// model's.
	FieldPaths []string

	usage claudebridge.Usage
	stop  string
	delta []byte // the message_delta event
}

// Event translates one Messages stream event. A Messages "error" event is
// returned as an *claudebridge.Error with the matching code.
func (s *StreamFromMessages) Event(e claudebridge.Event) ([]ConverseEvent, error) {
	switch e.Type {
	case "message_start":
		if !json.Valid(e.Data) {
			return nil, malformed(e.Type)
		}
		anthropic.AddEventUsage(&s.usage, e.Type, e.Data)
		return []ConverseEvent{converseEvent("messageStart", map[string]string{"role": "assistant"})}, nil
	case "content_block_start":
		var v struct {
			Index int `json:"index"`
			Block struct {
				Type     string `json:"type"`
				ID       string `json:"id"`
				Name     string `json:"name"`
				Text     string `json:"text"`
				Thinking string `json:"thinking"`
				Data     string `json:"data"`
			} `json:"content_block"`
		}
		if err := json.Unmarshal(e.Data, &v); err != nil {
			return nil, malformed(e.Type)
		}
		switch b := v.Block; b.Type {
		case "tool_use", "server_tool_use":
			start := map[string]string{"toolUseId": b.ID, "name": b.Name}
			if b.Type == "server_tool_use" {
				start["type"] = b.Type
			}
			return []ConverseEvent{converseEvent("contentBlockStart", map[string]any{
				"contentBlockIndex": v.Index,
				"start":             map[string]any{"toolUse": start},
			})}, nil
		case "text":
			if b.Text == "" {
				return nil, nil
			}
			return []ConverseEvent{deltaEvent(v.Index, map[string]string{"text": b.Text})}, nil
		case "thinking":
			if b.Thinking == "" {
				return nil, nil
			}
			return []ConverseEvent{deltaEvent(v.Index, map[string]any{"reasoningContent": map[string]string{"text": b.Thinking}})}, nil
		case "redacted_thinking":
			return []ConverseEvent{deltaEvent(v.Index, map[string]any{"reasoningContent": map[string][]byte{"redactedContent": []byte(b.Data)}})}, nil
		}
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "content block type %q has no ConverseStream equivalent", v.Block.Type)
	case "content_block_delta":
		var v struct {
			Index int `json:"index"`
			Delta struct {
				Type        string `json:"type"`
				Text        string `json:"text"`
				PartialJSON string `json:"partial_json"`
				Thinking    string `json:"thinking"`
				Signature   string `json:"signature"`

				Citation messagesCitation `json:"citation"`
			} `json:"delta"`
		}
		if err := json.Unmarshal(e.Data, &v); err != nil {
			return nil, malformed(e.Type)
		}
		var delta any
		switch d := v.Delta; d.Type {
		case "text_delta":
			delta = map[string]string{"text": d.Text}
		case "input_json_delta":
			delta = map[string]any{"toolUse": map[string]string{"input": d.PartialJSON}}
		case "thinking_delta":
			delta = map[string]any{"reasoningContent": map[string]string{"text": d.Thinking}}
		case "signature_delta":
			delta = map[string]any{"reasoningContent": map[string]string{"signature": d.Signature}}
		case "citations_delta":
			c, ok := citationToConverse(d.Citation)
			if !ok {
				// A citation type Converse has no location for.
				return nil, nil
			}
			delta = map[string]any{"citation": c}
		default:
			// Kinds added later.
			return nil, nil
		}
		return []ConverseEvent{deltaEvent(v.Index, delta)}, nil
	case "content_block_stop":
		var v struct {
			Index int `json:"index"`
		}
		if err := json.Unmarshal(e.Data, &v); err != nil {
			return nil, malformed(e.Type)
		}
		return []ConverseEvent{converseEvent("contentBlockStop", map[string]int{"contentBlockIndex": v.Index})}, nil
	case "message_delta":
		var v struct {
			Delta struct {
				StopReason string `json:"stop_reason"`
			} `json:"delta"`
		}
		if err := json.Unmarshal(e.Data, &v); err != nil {
			return nil, malformed(e.Type)
		}
		s.stop, s.delta = v.Delta.StopReason, e.Data
		anthropic.AddEventUsage(&s.usage, e.Type, e.Data)
		return nil, nil
	case "message_stop":
		stop := map[string]any{"stopReason": stopReasonFromMessages(s.stop)}
		if f := responseFields(s.FieldPaths, s.delta); f != nil {
			stop["additionalModelResponseFields"] = f
		}
		return []ConverseEvent{
			converseEvent("messageStop", stop),
			converseEvent("metadata", map[string]any{
				"usage":   usageFromMessages(messagesUsageOf(s.usage)),
				"metrics": map[string]int64{"latencyMs": s.LatencyMs},
			}),
		}, nil
	case "error":
		var v struct {
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(e.Data, &v)
		code, ok := messagesErrorCodes[v.Error.Type]
		if !ok {
			code = claudebridge.EINTERNAL
		}
		return nil, claudebridge.Errorf(code, "%s", v.Error.Message)
	}
	// ping, and event types added later.
	return nil, nil
}

func malformed(eventType string) error {
	return claudebridge.Errorf(claudebridge.EINTERNAL, "malformed %s event", eventType)
}

func converseEvent(typ string, v any) ConverseEvent {
	data, err := json.Marshal(v)
	if err != nil {
		panic("converse: cannot encode " + typ + ": " + err.Error())
	}
	return ConverseEvent{Type: typ, Payload: data}
}

func deltaEvent(index int, delta any) ConverseEvent {
	return converseEvent("contentBlockDelta", map[string]any{"contentBlockIndex": index, "delta": delta})
}
