package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/internal/benchcpu"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/mock"
)

// fixed answers every call with the same response: the benchmark measures
// the gateway's own work, without an upstream's.
type fixed struct{ body []byte }

func (f fixed) Messages(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
	return &claudebridge.Response{Body: f.body}, nil
}
func (f fixed) Stream(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
	return nil, claudebridge.Errorf(claudebridge.EINVALID, "no streams")
}
func (f fixed) CountTokens(context.Context, *claudebridge.Request) (*claudebridge.TokenCount, error) {
	return &claudebridge.TokenCount{InputTokens: 1}, nil
}
func (f fixed) Models(context.Context) ([]claudebridge.Model, error) { return nil, nil }

func BenchmarkMessagesHandler(b *testing.B) {
	g := &gateway.Gateway{
		Upstream: fixed{body: []byte(`{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"hello"}],"usage":{"input_tokens":3,"output_tokens":1}}`)},
		Keys:     claudebridge.NewClientKeys("k"),
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	body := `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Benchmark question [[words=45]]"}]}`
	b.ReportAllocs()
	defer benchcpu.Report(b)()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(body))
		req.Header.Set("x-api-key", "k")
		req.Header.Set("anthropic-version", "2023-06-01")
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body)
		}
	}
}

// BenchmarkMessagesHandlerWithALimitedKey is BenchmarkMessagesHandler with
// a virtual key that has every limit: the difference is the keys' and
// limits' cost on the hot path.
func BenchmarkMessagesHandlerWithALimitedKey(b *testing.B) {
	store := &mock.Keys{}
	secret, _ := store.Add(claudebridge.Key{Name: "bench", RPM: 1 << 30, TPM: 1 << 40, Concurrency: 1 << 20})
	ring, err := limits.NewKeyring(context.Background(), claudebridge.NewClientKeys("k"), store, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	g := &gateway.Gateway{
		Upstream: limits.Upstream{Upstream: fixed{body: []byte(`{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"hello"}],"usage":{"input_tokens":3,"output_tokens":1}}`)}},
		Keyring:  ring,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	body := `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Benchmark question [[words=45]]"}]}`
	b.ReportAllocs()
	defer benchcpu.Report(b)()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(body))
		req.Header.Set("x-api-key", secret)
		req.Header.Set("anthropic-version", "2023-06-01")
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body)
		}
	}
}
