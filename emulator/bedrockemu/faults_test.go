package bedrockemu

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// [[too-long]] is Bedrock's ValidationException for a prompt over the
// context window.
func TestTooLongIsInputIsTooLong(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	_, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: invokeBody("hi [[too-long]]", nil)})
	var ve *types.ValidationException
	assertAPIError(t, err, &ve, 400)
	if got, want := ve.ErrorMessage(), "Input is too long for requested model."; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

// [[stream-timeout=N]] ends a stream after N events with a
// modelTimeoutException frame.
func TestStreamTimeoutIsAModelTimeoutFrame(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	out, err := client.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String(sonnet45), Body: invokeBody("hi [[stream-timeout=2]]", nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	events, err := readChunks(out.GetStream())
	var mte *types.ModelTimeoutException
	if !errors.As(err, &mte) {
		t.Fatalf("got %v (%T), want a ModelTimeoutException", err, err)
	}
	if got, want := len(events), 2; got != want {
		t.Errorf("%d events before the exception, want %d", got, want)
	}
}
