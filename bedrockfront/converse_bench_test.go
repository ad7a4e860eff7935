package bedrockfront

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/converse"
	"github.com/claudebridge/claudebridge/internal/benchcpu"
	"github.com/claudebridge/claudebridge/internal/claudecode"
	"github.com/claudebridge/claudebridge/mock"
)

// cpuPerOp runs run in b's loop and reports cpu-ns/op.
func cpuPerOp(b *testing.B, run func()) {
	defer benchcpu.Report(b)()
	for b.Loop() {
		run()
	}
}

// claudeCodeConverse is a Claude Code-sized Messages body of size bytes as
// an AWS SDK client would send it to Converse: translated once, here, by
// package converse.
func claudeCodeConverse(b *testing.B, size int) []byte {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(claudecode.Body(claudecode.Shape{Size: size, NoStream: true}), &fields); err != nil {
		b.Fatal(err)
	}
	body, err := converse.RequestFromMessages(fields)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkConverseFrontDoor measures the front door's own work on a Claude
// Code-sized Converse request: "request" is the Converse body to the
// validated Messages request the upstream gets; "call" is the whole
// ServeHTTP, answered at once by a mock upstream.
func BenchmarkConverseFrontDoor(b *testing.B) {
	const answer = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Done."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":90000,"output_tokens":3}}`
	up := &mock.Upstream{MessagesFn: func(_ context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		if len(r.Fields["messages"]) == 0 {
			b.Error("no messages reached the upstream")
		}
		return &claudebridge.Response{Body: []byte(answer)}, nil
	}}
	h := New(Options{Upstream: up, Logger: slog.New(slog.DiscardHandler)})
	for _, size := range []struct {
		name  string
		bytes int
	}{{"50KB", 50 << 10}, {"370KB", 370 << 10}, {"1MB", 1 << 20}} {
		body := claudeCodeConverse(b, size.bytes)
		b.Run(size.name+"/request", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpuPerOp(b, func() {
				fields, err := converseFields(body, false)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := h.messagesRequest("claude-sonnet-4-5-20250929", fields, http.Header{}, false, false); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(size.name+"/call", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpuPerOp(b, func() {
				req := httptest.NewRequest(http.MethodPost, "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/converse", strings.NewReader(string(body)))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			})
		})
	}
}
