package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
)

// plainBody is the InvokeModel body of r written the plain way, as one
// buffer: the bytes the segments must add up to.
func plainBody(r *claudebridge.Request, betas []string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"anthropic_version":"` + bedrockVersion + `"`)
	if len(betas) > 0 {
		bs, _ := json.Marshal(betas)
		b.WriteString(`,"anthropic_beta":`)
		b.Write(bs)
	}
	var keys []string
	for k := range r.Fields {
		switch k {
		case "model", "stream", "anthropic_version", "anthropic_beta":
		default:
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(r.Fields[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// toDrop is a Claude Code request with role "system" turns and fields
// that dropTestPaths name.
func toDrop(t *testing.T, model string) *claudebridge.Request {
	t.Helper()
	r := claudeCodeRequest(t, 370<<10, model, true)
	return request(t, string(withFieldsToDrop(t, r.Body)))
}

// The segments of a body with fields dropped, betas and system turns folded
// read, seek and write as the bytes of the body built whole.
func TestSegmentsReadAsTheWholeBody(t *testing.T) {
	r := foldSystem(toDrop(t, "claude-sonnet-4-5-20250929"))
	betas := []string{"interleaved-thinking-2025-05-14", "context-1m-2025-08-07"}
	want, wantRemoved := dropFieldsBySJSON(plainBody(r, betas), dropTestPaths)
	got, removed := buildBody(r, betas, compileDrops(dropTestPaths))
	if len(removed) != len(wantRemoved) || len(removed) < 40 {
		t.Errorf("removed %d fields, want %d (and 40 or more)", len(removed), len(wantRemoved))
	}
	if !bytes.Equal(got.bytes(), want) {
		t.Error("the segments' bytes differ from the body built whole")
	}
	if got, want := got.size, len(want); got != want {
		t.Errorf("size %d, want %d", got, want)
	}
	if len(got.parts) < 40 {
		t.Errorf("%d parts: the body was copied, not cut", len(got.parts))
	}
	if err := iotest.TestReader(got.reader(), want); err != nil {
		t.Error(err)
	}
	var w bytes.Buffer
	if _, err := got.reader().WriteTo(&w); err != nil || !bytes.Equal(w.Bytes(), want) {
		t.Errorf("WriteTo wrote %d bytes (%v), not the body", w.Len(), err)
	}
}

// A call the SDK sends again (here after a 500) hashes, signs and sends the
// same bytes each time: the body Upstream.body built, which the emulator
// checks the SigV4 payload hash of.
func TestARetriedCallSendsTheSameSignedBody(t *testing.T) {
	emu := bedrockemu.New(bedrockemu.Options{Region: "us-east-1", Credentials: map[string]string{"AKIDEXAMPLE": "secret"}})
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		bodies = append(bodies, b)
		first := len(bodies)%2 == 1
		mu.Unlock()
		if first {
			w.Header().Set("X-Amzn-ErrorType", "InternalServerException")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"message":"try again"}`)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		emu.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		HTTPClient:   SDKHTTPClient(nil),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 2
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
	u := New(Options{AWS: cfg, Logger: slog.New(slog.DiscardHandler)})
	<-u.discovered
	u.runtime = bedrockruntime.NewFromConfig(cfg) // with the SDK's retries, which New turns off

	r := toDrop(t, "claude-sonnet-4-5-20250929")
	r.Betas = []string{"interleaved-thinking-2025-05-14"}
	c := u.prepare(context.Background(), r)
	c.rules.learnFoldSystem()
	c.rules.learnDrop("tools.*.input_examples")
	want := u.body(r, c).bytes()

	for _, stream := range []bool{false, true} {
		mu.Lock()
		bodies = nil
		mu.Unlock()
		if stream {
			s, err := u.Stream(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		} else if _, err := u.Messages(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if got, want := len(bodies), 2; got != want {
			t.Fatalf("stream %v: %d requests, want %d", stream, got, want)
		}
		for i, b := range bodies {
			if !bytes.Equal(b, want) {
				t.Errorf("stream %v: attempt %d sent %d bytes, not the %d of the body", stream, i+1, len(b), len(want))
			}
		}
		mu.Unlock()
	}
}
