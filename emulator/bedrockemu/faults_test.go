package bedrockemu

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
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

// InvokeModel names its message and tool_use ids as Bedrock does,
// msg_bdrk_01... and toolu_bdrk_01..., in both the answer and the stream.
func TestInvokeModelIDsAreBedrocks(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	tools := map[string]any{"tools": []any{map[string]any{"name": "get_weather", "input_schema": map[string]any{"type": "object"}}}}
	out, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
		ModelId: aws.String(sonnet45), Body: invokeBody("Use the get_weather tool", tools),
	})
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		ID      string
		Content []struct{ Type, ID string }
	}
	if err := json.Unmarshal(out.Body, &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.ID, "msg_bdrk_01") {
		t.Errorf("message id %q, want msg_bdrk_01...", msg.ID)
	}
	var toolID string
	for _, b := range msg.Content {
		if b.Type == "tool_use" {
			toolID = b.ID
		}
	}
	if !strings.HasPrefix(toolID, "toolu_bdrk_01") {
		t.Errorf("tool_use id %q, want toolu_bdrk_01...", toolID)
	}
	stream, err := client.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String(sonnet45), Body: invokeBody("Hello", nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	events, err := readChunks(stream.GetStream())
	if err != nil {
		t.Fatal(err)
	}
	start, _ := events[0]["message"].(map[string]any)
	if id, _ := start["id"].(string); !strings.HasPrefix(id, "msg_bdrk_01") {
		t.Errorf("streamed message id %q, want msg_bdrk_01...", id)
	}
}
