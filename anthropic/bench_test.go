package anthropic

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge/internal/benchcpu"
	"github.com/claudebridge/claudebridge/internal/claudecode"
)

// BenchmarkParseRequest validates bodies the size Claude Code sends, and a
// tiny one for the fixed cost.
func BenchmarkParseRequest(b *testing.B) {
	h := http.Header{"Anthropic-Version": {"2023-06-01"}, "Anthropic-Beta": {"interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"}}
	b.Run("tiny", func(b *testing.B) {
		body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"temperature":0.3,"system":"You are terse.","messages":[{"role":"user","content":"Benchmark question"},{"role":"assistant","content":[{"type":"text","text":"An answer"}]},{"role":"user","content":"And a follow-up question"}]}`)
		benchParse(b, body, h)
	})
	for _, size := range []struct {
		name  string
		bytes int
	}{{"50KB", 50 << 10}, {"370KB", 370 << 10}, {"1MB", 1 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			benchParse(b, claudecode.Body(claudecode.Shape{Size: size.bytes}), h)
		})
	}
}

func benchParse(b *testing.B, body []byte, h http.Header) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	defer benchcpu.Report(b)()
	for b.Loop() {
		if _, err := ParseRequest(body, h, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckedUsageOf reads the usage of a long answer (about 120 KB of
// text with an escape every fifteen bytes), where it comes last.
func BenchmarkCheckedUsageOf(b *testing.B) {
	text, _ := json.Marshal(strings.Repeat("Some \"quoted\" text\nwith lines. ", 3500))
	body := []byte(`{"id":"msg_01","type":"message","role":"assistant","content":[{"type":"text","text":` + string(text) +
		`}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":41200}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := CheckedUsageOf(body); !ok {
			b.Fatal("not JSON")
		}
	}
}
