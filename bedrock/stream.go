package bedrock

import (
	"context"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/schemas"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"
	"github.com/claudebridge/claudebridge"
	"github.com/tidwall/gjson"
)

// ownProtocol gives one streaming call a protocol of its own. The client's
// protocol keeps its event-stream decoder and scratch buffer in one codec
// shared, unsynchronised, by the readers of every stream of the client
// (aws/smithy-go#714): concurrent streams race on it. A protocol per call
// costs one small allocation.
func ownProtocol(o *bedrockruntime.Options) {
	o.Protocol = restjson1.New(schemas.AmazonBedrockFrontendService)
}

// stream is a Messages stream read from InvokeModelWithResponseStream. Each
// event-stream chunk becomes one Event with the chunk's bytes as Data; only
// message_start (the client's model id, cache usage fields) and events that
// carry amazon-bedrock-invocationMetrics are changed.
type stream struct {
	es     *bedrockruntime.InvokeModelWithResponseStreamEventStream
	cancel context.CancelFunc
	model  string // the id the client asked for

	mu      sync.Mutex
	stopped bool // message_stop seen: the next Next is io.EOF
	closed  bool
}

// Next returns the next event; io.EOF after message_stop. An exception frame
// returns the mapped *claudebridge.Error. A stream that ends without
// message_stop returns EINTERNAL with Status 502: the upstream broke the
// stream, which is a failure of the upstream, not a sign of load (EOVERLOADED
// would tell clients to back off from a service that is not busy); it stays
// retryable for callers that have not sent anything yet.
func (s *stream) Next() (claudebridge.Event, error) {
	s.mu.Lock()
	stopped, closed := s.stopped, s.closed
	s.mu.Unlock()
	if stopped {
		return claudebridge.Event{}, io.EOF
	}
	if closed {
		return claudebridge.Event{}, &claudebridge.Error{Code: claudebridge.ECANCELED, Message: "the stream was closed"}
	}
	for {
		ev, ok := <-s.es.Events()
		if !ok {
			return claudebridge.Event{}, s.endError()
		}
		chunk, isChunk := ev.(*rttypes.ResponseStreamMemberChunk)
		if !isChunk {
			continue // unknown event kinds of future SDKs
		}
		data := chunk.Value.Bytes
		typ := gjson.GetBytes(data, "type").String()
		switch typ {
		case "message_start":
			data = messageStart(data, s.model)
		case "message_stop":
			s.mu.Lock()
			s.stopped = true
			s.mu.Unlock()
			data = stripMetrics(data)
		default:
			data = stripMetrics(data)
		}
		return claudebridge.Event{Type: typ, Data: data}, nil
	}
}

// endError says why the events ended before message_stop.
func (s *stream) endError() error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return &claudebridge.Error{Code: claudebridge.ECANCELED, Message: "the stream was closed"}
	}
	if err := s.es.Err(); err != nil {
		return mapError(err)
	}
	return &claudebridge.Error{Code: claudebridge.EINTERNAL, Status: 502,
		Message: "Bedrock ended the stream before message_stop"}
}

// Close stops the SDK stream and cancels the call. Safe to call more than once.
func (s *stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.es.Close()
	return nil
}
