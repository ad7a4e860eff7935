// Package claudebridge holds the domain of claudebridge: the Messages call as
// the gateway sees it, the Upstream that serves it, and the error vocabulary.
// It imports only the standard library; every adapter lives in a package named
// after what it adapts (bedrock, anthropicapi, emulator, ...).
package claudebridge

import (
	"context"
	"encoding/json"
	"sort"
	"time"
)

// Request is one Messages API call, validated, as the client sent it.
type Request struct {
	// Model is the model id the client asked for, less a "[1m]" suffix.
	// Responses always name this id, whatever the upstream calls the model.
	Model string
	// Stream is the client's "stream" field.
	Stream bool
	// Body is the JSON body exactly as received. Upstreams that take the
	// Anthropic wire unchanged send it as it is. Code that changes Fields
	// sets Body to nil; use JSON to get the bytes to send.
	Body []byte
	// Fields are the top-level fields of Body, each kept as raw bytes so that
	// nested content (thinking signatures above all) is never re-serialized.
	// An upstream that must change the body changes a copy of this map.
	Fields map[string]json.RawMessage
	// Betas are the anthropic-beta flags of the request, in order, without
	// duplicates.
	Betas []string
	// Version is the anthropic-version header; empty if the client sent none.
	Version string
}

// JSON returns the body to send: Body when the fields were left as received,
// else Fields written anew: top-level keys sorted, every value byte for byte
// as received (no re-escaping, no re-formatting).
func (r *Request) JSON() []byte {
	if r.Body != nil {
		return r.Body
	}
	keys := make([]string, 0, len(r.Fields))
	size := 2
	for k, v := range r.Fields {
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	sort.Strings(keys)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		key, _ := json.Marshal(k) // a string always encodes
		b = append(b, key...)
		b = append(b, ':')
		b = append(b, r.Fields[k]...)
	}
	return append(b, '}')
}

// SetField changes one top-level field (a nil value removes it) and drops
// Body so that JSON encodes the change.
func (r *Request) SetField(name string, value json.RawMessage) {
	if value == nil {
		delete(r.Fields, name)
	} else {
		r.Fields[name] = value
	}
	r.Body = nil
}

// Clone returns a copy of r whose Fields and Betas may be changed freely.
func (r *Request) Clone() *Request {
	c := *r
	c.Fields = make(map[string]json.RawMessage, len(r.Fields))
	for k, v := range r.Fields {
		c.Fields[k] = v
	}
	c.Betas = append([]string(nil), r.Betas...)
	return &c
}

// Response is a complete, non-streamed Messages response.
type Response struct {
	// Body is the Anthropic Messages JSON, ready to be sent to the client.
	Body []byte
	// Usage is read from Body, for the ledger.
	Usage Usage
}

// Usage counts the tokens of one call.
type Usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	// CacheCreation splits CacheCreationInputTokens by cache lifetime,
	// which are priced differently; zero when the upstream did not say.
	CacheCreation CacheCreation `json:"cache_creation,omitzero"`
}

// CacheCreation is the Messages usage.cache_creation object: the cache
// writes of a call by lifetime.
type CacheCreation struct {
	Ephemeral5mInputTokens int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1hInputTokens int `json:"ephemeral_1h_input_tokens"`
}

// Event is one server-sent event of a Messages stream.
type Event struct {
	// Type is the SSE event name: message_start, content_block_delta, ...
	Type string
	// Data is the event's JSON, as the upstream sent it where the upstream
	// speaks the same wire.
	Data []byte
}

// Stream is a Messages stream being received from an upstream.
// Next and Close may be called from different goroutines: Close unblocks a
// pending Next, which then returns an error.
type Stream interface {
	// Next returns the next event; io.EOF after the last one. A stream that
	// ends without message_stop returns an *Error rather than io.EOF.
	Next() (Event, error)
	// Close releases the stream and cancels the upstream call if it is still
	// running. It is safe to call more than once.
	Close() error
}

// BufferedStream is a Stream that can tell whether its next event has
// already arrived. The gateway then writes that event before flushing, so
// that events the upstream sent together reach the client in one write, as
// httputil.ReverseProxy flushes once per read.
type BufferedStream interface {
	Stream
	// Buffered reports whether Next would return without waiting for the
	// upstream. False when it cannot tell.
	Buffered() bool
}

// Peeked returns s with first, an event already read from it, handed out
// again by the first Next. It is a BufferedStream: buffered while first
// waits, then as s says (false when s cannot tell). Close closes s.
func Peeked(s Stream, first Event) BufferedStream {
	return &peeked{Stream: s, first: &first}
}

type peeked struct {
	Stream
	first *Event
}

func (p *peeked) Next() (Event, error) {
	if ev := p.first; ev != nil {
		p.first = nil
		return *ev, nil
	}
	return p.Stream.Next()
}

func (p *peeked) Buffered() bool {
	if p.first != nil {
		return true
	}
	b, ok := p.Stream.(BufferedStream)
	return ok && b.Buffered()
}

// TokenCount is the answer of count_tokens.
type TokenCount struct {
	InputTokens int
	// Estimated is true when the upstream could not count and the number is
	// claudebridge's own estimate.
	Estimated bool
}

// Model describes one model as GET /v1/models lists it.
type Model struct {
	ID          string
	DisplayName string
	CreatedAt   time.Time
}

// Upstream serves Messages calls. Implementations: bedrock (InvokeModel and
// Converse), anthropicapi (the Anthropic API), and the in-process emulator.
// Every method returns errors as *Error with a code from the vocabulary.
type Upstream interface {
	// Messages makes a non-streaming call.
	Messages(ctx context.Context, r *Request) (*Response, error)
	// Stream makes a streaming call. It returns once the upstream has
	// accepted the call; events are then read from the Stream. Cancelling
	// ctx ends the stream.
	Stream(ctx context.Context, r *Request) (Stream, error)
	// CountTokens counts the input tokens of r. It should not fail for a
	// model that cannot count: it then returns an estimate.
	CountTokens(ctx context.Context, r *Request) (*TokenCount, error)
	// Models lists the models the upstream serves, newest first.
	Models(ctx context.Context) ([]Model, error)
}

// Readier is an Upstream that can tell, without a model call, whether it
// can take calls now: its credentials resolve, its key loads. GET /readyz
// asks it.
type Readier interface {
	Ready(ctx context.Context) error
}
