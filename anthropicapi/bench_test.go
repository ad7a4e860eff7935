package anthropicapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/internal/benchcpu"
	"github.com/claudebridge/claudebridge/internal/claudecode"
	"github.com/claudebridge/claudebridge/metrics"
)

// BenchmarkGateway is one Messages call through the gateway to the
// Anthropic API upstream, with Claude Code-sized bodies, against a stand-in
// API that answers at once. "inprocess" hands the call to the stand-in
// without a network: what is left is the gateway's and this package's own
// work. "loopback" goes over TCP with the default transport, the stand-in's
// reading of the body included.
func BenchmarkGateway(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"50KB", 50 << 10}, {"370KB", 370 << 10}, {"1MB", 1 << 20}} {
		for _, stream := range []bool{false, true} {
			body := claudecode.Body(claudecode.Shape{Size: size.bytes, NoStream: !stream})
			mode := "json"
			if stream {
				mode = "stream"
			}
			b.Run(fmt.Sprintf("inprocess/%s/%s", mode, size.name), func(b *testing.B) {
				benchGateway(b, anthropicapi.Options{BaseURL: "http://api.invalid", Transport: standIn{stream}}, body, nil)
			})
			// The same with every call recorded in Prometheus metrics, as
			// serve records them: the difference is the metrics' cost.
			b.Run(fmt.Sprintf("inprocess+metrics/%s/%s", mode, size.name), func(b *testing.B) {
				benchGateway(b, anthropicapi.Options{BaseURL: "http://api.invalid", Transport: standIn{stream}}, body, metrics.New("anthropic"))
			})
			b.Run(fmt.Sprintf("loopback/%s/%s", mode, size.name), func(b *testing.B) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					resp := standIn{stream}.answer(r)
					for k, v := range resp.Header {
						w.Header()[k] = v
					}
					io.Copy(w, resp.Body)
				}))
				defer srv.Close()
				benchGateway(b, anthropicapi.Options{BaseURL: srv.URL}, body, nil)
			})
		}
	}
}

func benchGateway(b *testing.B, opts anthropicapi.Options, body []byte, m *metrics.Metrics) {
	opts.Key = anthropicapi.StaticKey("sk-ant-test")
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	g := &gateway.Gateway{
		Upstream: anthropicapi.New(opts),
		Keys:     claudebridge.NewClientKeys("k"),
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:  m,
	}
	w := &discard{h: http.Header{}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	defer benchcpu.Report(b)()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/messages", bytes.NewReader(body))
		req.Header.Set("x-api-key", "k")
		req.Header.Set("anthropic-version", "2023-06-01")
		req.Header.Set("anthropic-beta", "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14")
		clear(w.h)
		w.code, w.n = 0, 0
		g.ServeHTTP(w, req)
		if w.code != http.StatusOK || w.n == 0 {
			b.Fatal(w.code, w.n)
		}
	}
}

// discard is a ResponseWriter that keeps only the status and a count.
type discard struct {
	h    http.Header
	code int
	n    int
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}
func (d *discard) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	d.n += len(p)
	return len(p), nil
}
func (d *discard) Flush() {}

// standIn is the Anthropic API answering at once with a Claude Code-like
// turn (thinking, text, a tool call), as JSON or as the stream of it.
type standIn struct{ stream bool }

func (s standIn) RoundTrip(r *http.Request) (*http.Response, error) {
	return s.answer(r), nil
}

func (s standIn) answer(r *http.Request) *http.Response {
	io.Copy(io.Discard, r.Body) // a *bytes.Reader writes itself out: no copy
	r.Body.Close()
	h := http.Header{"Request-Id": {"req_bench"}}
	answer := answerJSON
	if s.stream {
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		answer = answerSSE
	} else {
		h.Set("Content-Type", "application/json")
	}
	return &http.Response{StatusCode: http.StatusOK, Header: h, ContentLength: int64(len(answer)),
		Body: io.NopCloser(strings.NewReader(answer)), Request: r}
}

var answerJSON, answerSSE = answers()

func answers() (string, string) {
	thinking := strings.Repeat("The test races because the cache is written after the lock is let go. ", 12)
	text := strings.Repeat("I will move the write under the lock and run the suite again. ", 4)
	input := `{"command":"go test -race ./internal/store/...","description":"Run the store tests with the race detector"}`
	sig := strings.Repeat("EqQBCkgIBhABGAIiQL", 20)
	usage := `{"input_tokens":12,"cache_creation_input_tokens":2048,"cache_read_input_tokens":91234,"output_tokens":412}`
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	msg := `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[` +
		`{"type":"thinking","thinking":` + q(thinking) + `,"signature":` + q(sig) + `},` +
		`{"type":"text","text":` + q(text) + `},` +
		`{"type":"tool_use","id":"toolu_01","name":"Bash","input":` + input + `}],` +
		`"stop_reason":"tool_use","stop_sequence":null,"usage":` + usage + `}`

	var sse strings.Builder
	ev := func(typ, data string) { fmt.Fprintf(&sse, "event: %s\ndata: %s\n\n", typ, data) }
	ev("message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":2048,"cache_read_input_tokens":91234,"output_tokens":1}}}`)
	ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`)
	for _, w := range strings.SplitAfter(thinking, ". ") {
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":`+q(w)+`}}`)
	}
	ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":`+q(sig)+`}}`)
	ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
	ev("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`)
	for _, w := range strings.SplitAfter(text, ". ") {
		ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":`+q(w)+`}}`)
	}
	ev("content_block_stop", `{"type":"content_block_stop","index":1}`)
	ev("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01","name":"Bash","input":{}}}`)
	for i := 0; i < len(input); i += 16 {
		ev("content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":`+q(input[i:min(i+16, len(input))])+`}}`)
	}
	ev("content_block_stop", `{"type":"content_block_stop","index":2}`)
	ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":412}}`)
	ev("message_stop", `{"type":"message_stop"}`)
	return msg, sse.String()
}
