package bedrockfront

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/syncbuf"
	"github.com/claudebridge/claudebridge/mock"
)

// events are a complete Messages stream of one short answer.
var events = []claudebridge.Event{
	{Type: "message_start", Data: []byte(`{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":3,"output_tokens":1}}}`)},
	{Type: "content_block_start", Data: []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)},
	{Type: "content_block_delta", Data: []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`)},
	{Type: "content_block_stop", Data: []byte(`{"type":"content_block_stop","index":0}`)},
	{Type: "message_delta", Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}`)},
	{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)},
}

const answer = `{"id":"msg_01","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2}}`

// headerOf is the response header of an SDK call's output.
func headerOf(t *testing.T, meta middleware.Metadata) http.Header {
	t.Helper()
	raw, ok := awsmiddleware.GetRawResponse(meta).(*smithyhttp.Response)
	if !ok {
		t.Fatal("no raw response in the output's metadata")
	}
	return raw.Header
}

// operations calls each of the five operations once with the AWS SDK and
// returns the answers' headers by operation.
func operations(t *testing.T, client *bedrockruntime.Client) map[string]http.Header {
	t.Helper()
	ctx := context.Background()
	model := aws.String(sonnetBR)
	messages := []types.Message{userText("Hello")}
	got := map[string]http.Header{}
	invoke, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: model, Body: invokeBody(nil)})
	if err != nil {
		t.Fatalf("InvokeModel: %v", err)
	}
	got["InvokeModel"] = headerOf(t, invoke.ResultMetadata)
	invokeStream, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: model, Body: invokeBody(nil)})
	if err != nil {
		t.Fatalf("InvokeModelWithResponseStream: %v", err)
	}
	for range invokeStream.GetStream().Events() {
	}
	invokeStream.GetStream().Close()
	got["InvokeModelWithResponseStream"] = headerOf(t, invokeStream.ResultMetadata)
	conv, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: model, Messages: messages})
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	got["Converse"] = headerOf(t, conv.ResultMetadata)
	convStream, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: model, Messages: messages})
	if err != nil {
		t.Fatalf("ConverseStream: %v", err)
	}
	for range convStream.GetStream().Events() {
	}
	convStream.GetStream().Close()
	got["ConverseStream"] = headerOf(t, convStream.ResultMetadata)
	count, err := client.CountTokens(ctx, &bedrockruntime.CountTokensInput{ModelId: model,
		Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: messages}}})
	if err != nil {
		t.Fatalf("CountTokens: %v", err)
	}
	got["CountTokens"] = headerOf(t, count.ResultMetadata)
	return got
}

// Every answer of the front door whose request lost fields or betas names
// them in the claudebridge-dropped header and the log line, as /v1 does:
// each operation, streams included.
func TestDropsAreNamedInAHeaderAndTheLogOnEveryOperation(t *testing.T) {
	var log syncbuf.Buffer
	h := New(Options{Upstream: mock.Dropping([]byte(answer), events), Logger: slog.New(slog.NewTextHandler(&log, nil))})
	const want = "fields=tools.0.strict; betas=made-up-2099-01-01"
	for op, header := range operations(t, served(t, h)) {
		if got := header.Get(claudebridge.DroppedHeader); got != want {
			t.Errorf("%s: header %q, want %q", op, got, want)
		}
	}
	// Each handler logs once its client has the answer: wait for the five.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	named := "dropped=\"" + want + "\""
	lines, err := log.WaitFor(ctx, func(s string) bool { return strings.Count(s, named) >= 5 })
	if got, want := strings.Count(lines, named), 5; got != want || err != nil {
		t.Errorf("%d log lines name the drops, want %d (%v): %s", got, want, err, lines)
	}
}

// An answer whose request lost nothing has no such header.
func TestNoDropsNoHeaderOnTheFrontDoor(t *testing.T) {
	up := &mock.Upstream{
		MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
			return &claudebridge.Response{Body: []byte(answer)}, nil
		},
		StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
			return &mock.Stream{Events: events}, nil
		},
		CountTokensFn: func(context.Context, *claudebridge.Request) (*claudebridge.TokenCount, error) {
			return &claudebridge.TokenCount{InputTokens: 7}, nil
		},
	}
	h := New(Options{Upstream: up, Logger: slog.New(slog.DiscardHandler)})
	for op, header := range operations(t, served(t, h)) {
		if got, want := len(header.Values(claudebridge.DroppedHeader)), 0; got != want {
			t.Errorf("%s: %d %s headers, want %d", op, got, claudebridge.DroppedHeader, want)
		}
	}
}
