package anthropicemu

import (
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
)

// [[too-long]] is the API's answer to a prompt over the context window,
// in the words clients act on.
func TestTooLongIsPromptIsTooLong(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	_, err := newAnthropicClient(srv).Messages.New(anthropicTestContext(t), anthropicUserText("hi [[too-long]]"))
	apiErr := wantAnthropicError(t, err, 400, "invalid_request_error")
	if apiErr != nil && !strings.Contains(apiErr.RawJSON(), "prompt is too long: ") {
		t.Errorf("message: %s", apiErr.RawJSON())
	}
}

// [[stream-timeout=N]] ends a stream after N events with a timeout_error
// event, as the API does when the model times out mid-answer.
func TestStreamTimeoutIsATimeoutErrorEvent(t *testing.T) {
	srv, _ := newAnthropicServer(t)
	stream := newAnthropicClient(srv).Messages.NewStreaming(anthropicTestContext(t), anthropicUserText("hi [[stream-timeout=2]]"))
	n := 0
	for stream.Next() {
		n++
	}
	if got, want := n, 2; got != want {
		t.Errorf("%d events before the error, want %d", got, want)
	}
	var apiErr *anthropic.Error
	if !errors.As(stream.Err(), &apiErr) {
		t.Fatalf("stream error %v, want an API error", stream.Err())
	}
	if !strings.Contains(apiErr.RawJSON(), `"timeout_error"`) {
		t.Errorf("error %s, want a timeout_error", apiErr.RawJSON())
	}
}
