package bedrockfront

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/mock"
)

// A stream that serve ends at shutdown tells the client why, as /v1 does:
// an exception frame with the cause, not a broken read.
func TestAStreamEndedByTheServerGetsTheCauseAsAnExceptionFrame(t *testing.T) {
	gate := make(chan struct{}, 1)
	gate <- struct{}{} // message_start, then the model thinks
	up := &mock.Upstream{StreamFn: func(ctx context.Context, _ *claudebridge.Request) (claudebridge.Stream, error) {
		s := &mock.Stream{Events: events, Gate: gate}
		context.AfterFunc(ctx, func() { s.Close() }) // as real upstreams end with their context
		return s, nil
	}}
	serverCtx, end := context.WithCancelCause(context.Background())
	defer end(nil)
	front := New(Options{Upstream: up, AccessKeys: map[string]string{testKeyID: testSecret}})
	client := served(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		front.ServeHTTP(w, r.WithContext(serverCtx))
	}))

	out, err := client.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String(sonnetBR), Body: invokeBody(nil)})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	if _, ok := <-stream.Events(); !ok {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	end(claudebridge.Errorf(claudebridge.EOVERLOADED, "server shutting down"))
	for range stream.Events() {
	}
	var ae smithy.APIError
	if !errors.As(stream.Err(), &ae) {
		t.Fatalf("stream error %v, want an exception frame", stream.Err())
	}
	if got, want := ae.ErrorCode(), "ServiceUnavailableException"; got != want {
		t.Errorf("exception %q, want %q", got, want)
	}
	if got, want := ae.ErrorMessage(), "server shutting down"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}
