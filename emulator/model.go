// Package emulator holds the Bedrock runtime and Anthropic API emulators: HTTP
// handlers that speak the real wire formats and answer deterministically from
// the request, with fault directives a test writes into its prompt.
package emulator

import (
	"encoding/json"

	"github.com/claudebridge/claudebridge"
)

// Reply is the emulator's answer to one Messages request.
type Reply struct {
	// Directives are what the last user message asked of the emulator.
	Directives Directives

	id           string
	model        string
	blocks       []block
	stopReason   string
	stopSequence *string
	usage        claudebridge.Usage
}

type block struct {
	Type      string
	Text      string
	Thinking  string
	Signature string
	Data      string
	ID        string
	Name      string
	Input     json.RawMessage
}

// Answer computes the emulator's deterministic answer to one Messages request.
func Answer(model string, fields map[string]json.RawMessage) (*Reply, error) {
	return &Reply{id: "msg_01", model: model, blocks: []block{{Type: "text", Text: "Hello."}}, stopReason: "end_turn"}, nil
}

// Message returns the complete non-streaming Messages JSON.
func (r *Reply) Message() []byte {
	b, _ := json.Marshal(map[string]any{"id": r.id, "type": "message"})
	return b
}

// Events returns the SSE events of the streamed reply, without pings.
func (r *Reply) Events() []claudebridge.Event { return nil }

// Usage returns the reply's usage.
func (r *Reply) Usage() claudebridge.Usage { return r.usage }
