package pool_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/internal/benchcpu"
	"github.com/claudebridge/claudebridge/internal/claudecode"
	"github.com/claudebridge/claudebridge/mock"
	"github.com/claudebridge/claudebridge/pool"
)

// BenchmarkCacheKey370KB is the pool's own work on the hot path for a
// Claude Code-sized request: finding its last cache_control marker and
// hashing the prefix up to it.
func BenchmarkCacheKey370KB(b *testing.B) {
	body := claudecode.Body(claudecode.Shape{Size: 370 << 10})
	r, err := anthropic.ParseRequest(body, http.Header{}, false)
	if err != nil {
		b.Fatal(err)
	}
	if _, ok := pool.CacheKey(r); !ok {
		b.Fatal("the Claude Code body has no cache_control marker")
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	defer benchcpu.Report(b)()
	for b.Loop() {
		pool.CacheKey(r)
	}
}

// BenchmarkMessages370KB is a whole call through a pool of three members
// that answer at once: the prefix hash, the ranking and the breakers.
func BenchmarkMessages370KB(b *testing.B) {
	body := claudecode.Body(claudecode.Shape{Size: 370 << 10, NoStream: true})
	r, err := anthropic.ParseRequest(body, http.Header{}, false)
	if err != nil {
		b.Fatal(err)
	}
	resp := &claudebridge.Response{Body: []byte(`{}`)}
	var ms []pool.Member
	for _, name := range []string{"bedrock:us-east-1", "bedrock:us-west-2", "anthropic"} {
		ms = append(ms, pool.Member{Name: name, Upstream: &mock.Upstream{
			MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) { return resp, nil }}})
	}
	p := pool.New(ms, pool.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	defer benchcpu.Report(b)()
	for b.Loop() {
		if _, err := p.Messages(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}
