package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/benchcpu"
	"github.com/claudebridge/claudebridge/internal/claudecode"
	"github.com/tidwall/gjson"
)

// benchModels are a model with drop rules in the table and one without.
var benchModels = []struct{ name, id, base string }{
	{"drops", "claude-sonnet-4-5-20250929", "anthropic.claude-sonnet-4-5-20250929-v1:0"},
	{"nodrops", "claude-opus-4-7", "anthropic.claude-opus-4-7"},
}

var benchSizes = []struct {
	name string
	size int
}{{"50KB", 50 << 10}, {"370KB", 370 << 10}, {"1MB", 1 << 20}}

// claudeCodeRequest is a Claude Code-sized request as the gateway hands it
// over: Body and Fields filled. Its tools carry eager_input_streaming (so
// the drop rules find something) and, with systemTurns, two role "system"
// turns sit in its history, as Claude Code sends them.
func claudeCodeRequest(tb testing.TB, size int, model string, systemTurns bool) *claudebridge.Request {
	tb.Helper()
	body := claudecode.Body(claudecode.Shape{Size: size, Model: model})
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		tb.Fatal(err)
	}
	var tools []string
	gjson.ParseBytes(fields["tools"]).ForEach(func(_, t gjson.Result) bool {
		tools = append(tools, `{"eager_input_streaming":true,`+t.Raw[1:])
		return true
	})
	fields["tools"] = json.RawMessage("[" + strings.Join(tools, ",") + "]")
	if systemTurns {
		var msgs []string
		gjson.ParseBytes(fields["messages"]).ForEach(func(k, m gjson.Result) bool {
			if k.Int() == 1 || k.Int() == 20 {
				msgs = append(msgs, `{"role":"system","content":[{"type":"text","text":"MCP server instructions: use the tools."}]}`)
			}
			msgs = append(msgs, m.Raw)
			return true
		})
		fields["messages"] = json.RawMessage("[" + strings.Join(msgs, ",") + "]")
	}
	r := &claudebridge.Request{Model: model, Stream: true, Fields: fields}
	r.Body = r.JSON()
	return r
}

func benchUpstream() *Upstream {
	return &Upstream{log: slog.New(slog.NewTextHandler(io.Discard, nil)), rules: map[string]*rules{}}
}

// BenchmarkBody measures building the InvokeModel body of a Claude Code
// request: field drops, betas and the role "system" fold.
func BenchmarkBody(b *testing.B) {
	for _, s := range benchSizes {
		for _, m := range benchModels {
			for _, fold := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/%s/fold=%v", s.name, m.name, fold), func(b *testing.B) {
					u := benchUpstream()
					r := claudeCodeRequest(b, s.size, m.id, fold)
					rl := u.rulesFor(m.base)
					if fold {
						rl.learnFoldSystem()
					}
					c := &call{target: target{Base: m.base, Invoke: m.base}, rules: rl,
						betas: rl.betas([]string{"interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14"}, nil)}
					b.SetBytes(int64(len(r.Body)))
					b.ReportAllocs()
					defer benchcpu.Report(b)()
					for b.Loop() {
						u.body(r, c)
					}
				})
			}
		}
	}
}

// instantBedrock answers every InvokeModel and CountTokens call at once.
func instantBedrock(tb testing.TB) *Upstream {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(req.URL.Path, "/count-tokens") {
			_, _ = io.WriteString(w, `{"inputTokens":90000}`)
			return
		}
		_, _ = io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":90000,"output_tokens":1}}`)
	}))
	tb.Cleanup(srv.Close)
	u := New(Options{
		AWS: aws.Config{
			Region:       "us-east-1",
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", ""),
			BaseEndpoint: aws.String(srv.URL),
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	<-u.discovered
	return u
}

// BenchmarkCall measures a whole non-streaming call and a count_tokens call
// (the count cache emptied each time) of a 370 KB request against a Bedrock
// that answers at once: the gateway's CPU plus the SDK's (signing hashes
// the body) and the loopback HTTP.
func BenchmarkCall(b *testing.B) {
	for _, m := range benchModels {
		b.Run("Messages/"+m.name, func(b *testing.B) {
			u := instantBedrock(b)
			r := claudeCodeRequest(b, 370<<10, m.id, false)
			b.ReportAllocs()
			defer benchcpu.Report(b)()
			for b.Loop() {
				if _, err := u.Messages(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("CountTokens/"+m.name, func(b *testing.B) {
			u := instantBedrock(b)
			r := claudeCodeRequest(b, 370<<10, m.id, false)
			b.ReportAllocs()
			defer benchcpu.Report(b)()
			for b.Loop() {
				u.counts.mu.Lock()
				u.counts.m = nil
				u.counts.mu.Unlock()
				tc, err := u.CountTokens(context.Background(), r)
				if err != nil || tc.Estimated {
					b.Fatal(err, tc)
				}
			}
		})
	}
}
