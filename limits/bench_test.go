package limits_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/benchcpu"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/mock"
)

// BenchmarkKeyedCall is what a call of a virtual key with every limit
// costs the hot path: the key's lookup, its admission, the six headers,
// the usage report and the release.
func BenchmarkKeyedCall(b *testing.B) {
	store := &mock.Keys{}
	secret, _ := store.Add(claudebridge.Key{Name: "bench", RPM: 1 << 30, TPM: 1 << 40, Concurrency: 1 << 20, Models: []string{"claude-sonnet-4-5"}})
	ring, err := limits.NewKeyring(context.Background(), claudebridge.NewClientKeys("static"), store, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{}
	body := make([]byte, 2000)
	b.ReportAllocs()
	defer benchcpu.Report(b)()
	for b.Loop() {
		e, err := ring.Lookup(secret)
		if err != nil {
			b.Fatal(err)
		}
		t, st, err := e.Admit(context.Background(), "claude-sonnet-4-5-20250929", body, 1024)
		if err != nil {
			b.Fatal(err)
		}
		st.SetHeaders(h)
		t.Report(claudebridge.Usage{InputTokens: 500, OutputTokens: 100})
		t.Release()
	}
}
