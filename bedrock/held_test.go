package bedrock

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"weak"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/middleware"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
)

// The AWS SDK keeps a call's input in its context, and the response the
// request, whose body reads the segments sent, while the answer streams: a
// stream must not hold its sent prompt, or 50 open streams of Claude
// Code's 370 KB prompts hold 18 MB.
func TestAnOpenStreamHoldsNoSentBody(t *testing.T) {
	srv := httptest.NewServer(bedrockemu.New(bedrockemu.Options{Region: "us-east-1"}))
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	var inputs []*bedrockruntime.InvokeModelWithResponseStreamInput
	capture := func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("capture", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if p, ok := in.Parameters.(*bedrockruntime.InvokeModelWithResponseStreamInput); ok {
				mu.Lock()
				inputs = append(inputs, p)
				mu.Unlock()
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	}
	u := New(Options{
		AWS: aws.Config{
			Region:       "us-east-1",
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", ""),
			BaseEndpoint: aws.String(srv.URL),
			APIOptions:   []func(*middleware.Stack) error{capture},
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	<-u.discovered
	s, held := openStream(t, u)
	defer s.Close()
	mu.Lock()
	defer mu.Unlock()
	if got, want := len(inputs), 1; got != want {
		t.Fatalf("%d calls, want %d", got, want)
	}
	if got := len(inputs[0].Body); got != 0 {
		t.Errorf("the input of the open stream holds a body of %d bytes", got)
	}
	runtime.GC()
	if held.Value() != nil {
		t.Error("the open stream holds the bytes of its request")
	}
}

// openStream opens a stream of a request only the stream can keep, and
// returns it with a weak pointer to the request's messages.
func openStream(t *testing.T, u *Upstream) (claudebridge.Stream, weak.Pointer[byte]) {
	t.Helper()
	r := request(t, userText("claude-opus-4-6", "Tell me a story"))
	held := weak.Make(&r.Fields["messages"][0])
	s, err := u.Stream(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return s, held
}
