package bedrock

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/internal/benchcpu"
	"github.com/claudebridge/claudebridge/internal/claudecode"
)

// cannedConverse answers every Converse call with one short answer and
// every other call (discovery) with 403, reading the request body whole as
// a server would, without a network or a server's own work in the figures.
type cannedConverse struct{}

const cannedConverseAnswer = `{"output":{"message":{"role":"assistant","content":[{"text":"Done."}]}},"stopReason":"end_turn","usage":{"inputTokens":90000,"outputTokens":3,"totalTokens":90003},"metrics":{"latencyMs":120}}`

func (cannedConverse) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	status, body := http.StatusOK, cannedConverseAnswer
	if !strings.HasSuffix(r.URL.Path, "/converse") {
		status, body = http.StatusForbidden, `{"message":"no"}`
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// cpuPerOp runs run in b's loop and reports cpu-ns/op.
func cpuPerOp(b *testing.B, run func()) {
	defer benchcpu.Report(b)()
	for b.Loop() {
		run()
	}
}

// BenchmarkConverseRequest measures the gateway's own work on a Claude
// Code-sized request sent through Converse (BEDROCK_API=converse):
// "body" is the Messages body InvokeModel would get (betas set, refused
// fields dropped: bedrock/body.go); "translate" is that body to the Converse
// body; "call" is the whole call through the AWS SDK (SigV4 signing, its
// middleware stack) to a transport that only reads the body and answers.
func BenchmarkConverseRequest(b *testing.B) {
	u := New(Options{
		AWS: aws.Config{
			Region:      "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench/secret", ""),
		},
		HTTPClient: &http.Client{Transport: cannedConverse{}},
		API:        APIConverse,
		Logger:     slog.New(slog.DiscardHandler),
	})
	select {
	case <-u.discovered:
	case <-time.After(5 * time.Second):
		b.Fatal("discovery did not finish")
	}
	for _, size := range []struct {
		name  string
		bytes int
	}{{"50KB", 50 << 10}, {"370KB", 370 << 10}, {"1MB", 1 << 20}} {
		body := claudecode.Body(claudecode.Shape{Size: size.bytes, NoStream: true})
		r, err := anthropic.ParseRequest(body, http.Header{}, false)
		if err != nil {
			b.Fatal(err)
		}
		c := u.prepare(context.Background(), r)
		u.prepareConverse(c)
		b.Run(size.name+"/body", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpuPerOp(b, func() { u.body(r, c).bytes() }) // Converse translates the body whole
		})
		invoke := u.body(r, c).bytes()
		b.Run(size.name+"/translate", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpuPerOp(b, func() {
				if _, err := u.converseBody(invoke, false); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(size.name+"/call", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpuPerOp(b, func() {
				resp, err := u.Messages(context.Background(), r)
				if err != nil {
					b.Fatal(err)
				}
				if !bytes.Contains(resp.Body, []byte("Done.")) {
					b.Fatalf("answer %s", resp.Body)
				}
			})
		})
	}
}
