package converse

import (
	"crypto/rand"
	"encoding/json"

	claudebridge "github.com/claudebridge/claudebridge"
)

// StreamToMessages turns ConverseStream events into the Messages SSE
// sequence: message_start, content_block_start/delta/stop with indices
// counted from 0, message_delta and message_stop. Converse opens no block
// for text or reasoning, so the first delta of such a block opens it. The
// Converse metadata event (usage) comes after messageStop, so message_delta
// and message_stop are held until it arrives, or until Finish.
//
// Feed every event to Event in order, then call Finish once the Converse
// stream has ended. The zero value is ready to use; set Model (and ID) first.
type StreamToMessages struct {
	// Model is the model id that message_start names.
	Model string
	// ID is the message id; when empty a random "msg_bdrk_01..." id is made.
	ID string

	started  bool
	nextIdx  int
	open     map[int]*openBlock // by Converse contentBlockIndex
	stopped  bool
	stop     string
	stopSeq  *string
	usage    *tokenUsage
	finished bool
}

type openBlock struct {
	index    int    // the Messages index
	kind     string // text, thinking, tool_use, redacted_thinking or skipped
	redacted []byte // redacted_thinking data, sent whole at the block's stop
}

// Event translates one ConverseStream event, named by its :event-type (or
// :exception-type) header, with its JSON payload. An exception event is
// returned as an *claudebridge.Error with the matching code.
func (s *StreamToMessages) Event(eventType string, payload []byte) ([]claudebridge.Event, error) {
	if code, ok := streamException[eventType]; ok {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(payload, &e)
		if e.Message == "" {
			e.Message = eventType
		}
		return nil, claudebridge.Errorf(code, "%s", e.Message)
	}
	if s.finished {
		return nil, nil
	}
	var out []claudebridge.Event
	if !s.started {
		out = append(out, s.messageStart())
		if eventType == "messageStart" {
			return out, nil
		}
	} else if eventType == "messageStart" {
		return nil, streamError("a second messageStart event")
	}
	switch eventType {
	case "contentBlockStart":
		var e struct {
			Index int                        `json:"contentBlockIndex"`
			Start map[string]json.RawMessage `json:"start"`
		}
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, streamError("a contentBlockStart event that is not an object")
		}
		if s.open[e.Index] != nil {
			return nil, streamError("contentBlockStart for a block already open")
		}
		raw, ok := e.Start["toolUse"]
		if !ok {
			// toolResult (a server tool's result), image (an image the
			// model makes) and members added later: Messages has no block
			// for them in an answer, so the block and its deltas are left
			// out.
			s.skipBlock(e.Index)
			break
		}
		var tu struct {
			ToolUseID string `json:"toolUseId"`
			Name      string `json:"name"`
			Type      string `json:"type"`
		}
		if err := json.Unmarshal(raw, &tu); err != nil {
			return nil, streamError("a contentBlockStart event with a malformed toolUse")
		}
		typ := "tool_use"
		if tu.Type == "server_tool_use" {
			typ = tu.Type
		}
		b := s.openBlock(e.Index, "tool_use")
		out = append(out, event("content_block_start", blockStartEvent{
			Type: "content_block_start", Index: b.index,
			ContentBlock: map[string]any{"type": typ, "id": tu.ToolUseID, "name": tu.Name, "input": struct{}{}},
		}))
	case "contentBlockDelta":
		events, err := s.delta(payload)
		if err != nil {
			return nil, err
		}
		out = append(out, events...)
	case "contentBlockStop":
		var e struct {
			Index int `json:"contentBlockIndex"`
		}
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, streamError("a contentBlockStop event that is not an object")
		}
		out = append(out, s.closeBlock(e.Index)...)
	case "messageStop":
		var e struct {
			StopReason                    string          `json:"stopReason"`
			AdditionalModelResponseFields json.RawMessage `json:"additionalModelResponseFields"`
		}
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, streamError("a messageStop event that is not an object")
		}
		for _, idx := range sortedOpen(s.open) {
			out = append(out, s.closeBlock(idx)...)
		}
		stop, err := stopReasonToMessages(e.StopReason)
		if err != nil {
			return nil, err
		}
		s.stopped = true
		s.stop = stop
		if e.StopReason == "stop_sequence" {
			s.stopSeq = stopSequenceOf(e.AdditionalModelResponseFields)
		}
		if s.usage != nil {
			out = append(out, s.end()...)
		}
	case "metadata":
		var e struct {
			Usage tokenUsage `json:"usage"`
		}
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, streamError("a metadata event that is not an object")
		}
		s.usage = &e.Usage
		if s.stopped {
			out = append(out, s.end()...)
		}
	case "messageStart":
	default:
		// Event types added to ConverseStream later carry nothing a
		// Messages client could read.
	}
	return out, nil
}

// Finish is called when the Converse stream has ended. It sends the held
// message_delta and message_stop when metadata never came (usage then
// reads 0), and fails when the stream ended before messageStop.
func (s *StreamToMessages) Finish() ([]claudebridge.Event, error) {
	if s.finished {
		return nil, nil
	}
	if !s.stopped {
		return nil, streamError("the stream ended before messageStop")
	}
	return s.end(), nil
}

func streamError(what string) error {
	return claudebridge.Errorf(claudebridge.EINTERNAL, "Bedrock sent %s", what)
}

func (s *StreamToMessages) messageStart() claudebridge.Event {
	s.started = true
	if s.ID == "" {
		seed := make([]byte, 32)
		_, _ = rand.Read(seed)
		s.ID = messageID(seed)
	}
	return event("message_start", messageStartEvent{
		Type: "message_start",
		Message: messageStartMsg{
			ID: s.ID, Type: "message", Role: "assistant", Model: s.Model, Content: []any{},
		},
	})
}

// skipBlock marks the block at converseIdx as one that has no Messages
// counterpart: its deltas and its stop send nothing.
func (s *StreamToMessages) skipBlock(converseIdx int) {
	if s.open == nil {
		s.open = map[int]*openBlock{}
	}
	s.open[converseIdx] = &openBlock{index: -1, kind: "skipped"}
}

func (s *StreamToMessages) openBlock(converseIdx int, kind string) *openBlock {
	if s.open == nil {
		s.open = map[int]*openBlock{}
	}
	b := &openBlock{index: s.nextIdx, kind: kind}
	s.nextIdx++
	s.open[converseIdx] = b
	return b
}

// ensureOpen returns the open block at converseIdx, opening one of kind
// (and sending its content_block_start) when there is none.
func (s *StreamToMessages) ensureOpen(converseIdx int, kind string) (*openBlock, []claudebridge.Event, error) {
	if b := s.open[converseIdx]; b != nil {
		if b.kind != kind {
			return nil, nil, streamError("a " + kind + " delta inside a " + b.kind + " block")
		}
		return b, nil, nil
	}
	b := s.openBlock(converseIdx, kind)
	var start any
	switch kind {
	case "text":
		start = map[string]string{"type": "text", "text": ""}
	case "thinking":
		start = map[string]string{"type": "thinking", "thinking": "", "signature": ""}
	case "redacted_thinking":
		// Sent whole when the block stops.
		return b, nil, nil
	default:
		return nil, nil, streamError("a " + kind + " delta without contentBlockStart")
	}
	return b, []claudebridge.Event{event("content_block_start", blockStartEvent{Type: "content_block_start", Index: b.index, ContentBlock: start})}, nil
}

func (s *StreamToMessages) delta(payload []byte) ([]claudebridge.Event, error) {
	var e struct {
		Index int             `json:"contentBlockIndex"`
		Delta json.RawMessage `json:"delta"`
	}
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, streamError("a contentBlockDelta event that is not an object")
	}
	if b := s.open[e.Index]; b != nil && b.kind == "skipped" {
		return nil, nil
	}
	var d struct {
		Text    *string `json:"text"`
		ToolUse *struct {
			Input string `json:"input"`
		} `json:"toolUse"`
		ReasoningContent *struct {
			Text            *string `json:"text"`
			Signature       *string `json:"signature"`
			RedactedContent []byte  `json:"redactedContent"`
		} `json:"reasoningContent"`
		Citation *converseCitation `json:"citation"`
	}
	if err := json.Unmarshal(e.Delta, &d); err != nil {
		return nil, streamError("a contentBlockDelta event with a malformed delta")
	}
	var kind string
	var delta any
	switch r := d.ReasoningContent; {
	case d.Text != nil:
		kind, delta = "text", map[string]string{"type": "text_delta", "text": *d.Text}
	case d.ToolUse != nil:
		kind, delta = "tool_use", map[string]string{"type": "input_json_delta", "partial_json": d.ToolUse.Input}
	case r != nil && r.Text != nil:
		kind, delta = "thinking", map[string]string{"type": "thinking_delta", "thinking": *r.Text}
	case r != nil && r.Signature != nil:
		kind, delta = "thinking", map[string]string{"type": "signature_delta", "signature": *r.Signature}
	case r != nil && r.RedactedContent != nil:
		b, events, err := s.ensureOpen(e.Index, "redacted_thinking")
		if err != nil {
			return nil, err
		}
		b.redacted = append(b.redacted, r.RedactedContent...)
		return events, nil
	case d.Citation != nil:
		c, ok := citationToMessages(*d.Citation)
		if !ok {
			// A location Messages cannot say: the cited text stays.
			return nil, nil
		}
		kind, delta = "text", map[string]any{"type": "citations_delta", "citation": c}
	default:
		// A member added later (or toolResult, image, which come in
		// blocks left out): nothing a Messages client reads.
		return nil, nil
	}
	b, events, err := s.ensureOpen(e.Index, kind)
	if err != nil {
		return nil, err
	}
	return append(events, event("content_block_delta", blockDeltaEvent{Type: "content_block_delta", Index: b.index, Delta: delta})), nil
}

func (s *StreamToMessages) closeBlock(converseIdx int) []claudebridge.Event {
	b := s.open[converseIdx]
	if b == nil {
		return nil
	}
	delete(s.open, converseIdx)
	if b.kind == "skipped" {
		return nil
	}
	var out []claudebridge.Event
	if b.kind == "redacted_thinking" {
		out = append(out, event("content_block_start", blockStartEvent{
			Type: "content_block_start", Index: b.index,
			ContentBlock: map[string]string{"type": "redacted_thinking", "data": string(b.redacted)},
		}))
	}
	return append(out, event("content_block_stop", blockStopEvent{Type: "content_block_stop", Index: b.index}))
}

// end makes the final message_delta and message_stop.
func (s *StreamToMessages) end() []claudebridge.Event {
	s.finished = true
	md := messageDeltaEvent{Type: "message_delta"}
	md.Delta.StopReason = s.stop
	md.Delta.StopSequence = s.stopSeq
	if s.usage != nil {
		md.Usage = usageToMessages(*s.usage)
	}
	return []claudebridge.Event{
		event("message_delta", md),
		event("message_stop", map[string]string{"type": "message_stop"}),
	}
}

func sortedOpen(open map[int]*openBlock) []int {
	idx := make([]int, 0, len(open))
	for k := range open {
		idx = append(idx, k)
	}
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && open[idx[j]].index < open[idx[j-1]].index; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	return idx
}
