package pool_test

import (
	"net/http"
	"testing"

	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/internal/benchcpu"
	"github.com/claudebridge/claudebridge/internal/claudecode"
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
