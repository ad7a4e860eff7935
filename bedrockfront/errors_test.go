package bedrockfront

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/syncbuf"
	"github.com/claudebridge/claudebridge/mock"
)

// upstreamRefusal is what Bedrock says when claudebridge's own role may not
// call a model: it names the account, the role and the profile's ARN.
const upstreamRefusal = "User: arn:aws:sts::123456789012:assumed-role/Bridge/i-1 is not authorized to perform: " +
	"bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.x via bedrock-runtime.us-east-1.amazonaws.com"

// leaks reports what of the deployment a client-facing text names.
func leaks(text string) []string {
	var found []string
	for _, s := range []string{"123456789012", "Bridge", "amazonaws.com"} {
		if strings.Contains(text, s) {
			found = append(found, s)
		}
	}
	return found
}

// Upstream text that names the account, a role or a host reaches the
// front door's clients cleaned, in error responses of every operation and
// in the exception frames of both streams, as on /v1; the log keeps it
// whole, for the operator.
func TestUpstreamErrorsAreCleanedInErrorsAndExceptionFrames(t *testing.T) {
	refusal := claudebridge.Errorf(claudebridge.EOVERLOADED, "%s", upstreamRefusal)
	failing := &mock.Upstream{
		MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
			return nil, refusal
		},
		StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
			return &mock.Stream{Events: events[:3], Err: refusal}, nil
		},
		CountTokensFn: func(context.Context, *claudebridge.Request) (*claudebridge.TokenCount, error) {
			return nil, refusal
		},
	}
	var log syncbuf.Buffer
	client := served(t, New(Options{Upstream: failing, Logger: slog.New(slog.NewTextHandler(&log, nil))}))
	ctx := context.Background()
	model := aws.String(sonnetBR)
	messages := []types.Message{userText("Hello")}
	_, invokeErr := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: model, Body: invokeBody(nil)})
	_, converseErr := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: model, Messages: messages})
	_, countErr := client.CountTokens(ctx, &bedrockruntime.CountTokensInput{ModelId: model, Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: messages}}})
	invokeStream, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: model, Body: invokeBody(nil)})
	if err != nil {
		t.Fatalf("InvokeModelWithResponseStream: %v", err)
	}
	for range invokeStream.GetStream().Events() {
	}
	converseStream, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: model, Messages: messages})
	if err != nil {
		t.Fatalf("ConverseStream: %v", err)
	}
	for range converseStream.GetStream().Events() {
	}
	for op, err := range map[string]error{
		"InvokeModel": invokeErr, "Converse": converseErr, "CountTokens": countErr,
		"InvokeModelWithResponseStream": invokeStream.GetStream().Err(), "ConverseStream": converseStream.GetStream().Err(),
	} {
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			t.Errorf("%s: error %v (%T), want the upstream's refusal", op, err, err)
			continue
		}
		if got := leaks(ae.ErrorMessage()); len(got) > 0 {
			t.Errorf("%s: the client sees %v: %q", op, got, ae.ErrorMessage())
		}
		if got, want := ae.ErrorCode(), "ServiceUnavailableException"; got != want {
			t.Errorf("%s: code %q, want %q", op, got, want)
		}
		if !strings.Contains(ae.ErrorMessage(), "is not authorized to perform: bedrock:InvokeModel") {
			t.Errorf("%s: the cleaning lost the words: %q", op, ae.ErrorMessage())
		}
	}
	// Each handler logs once its client has the answer: wait for the five.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	const original = "123456789012:assumed-role/Bridge"
	lines, err := log.WaitFor(ctx, func(s string) bool { return strings.Count(s, original) >= 5 })
	if got, want := strings.Count(lines, original), 5; got != want || err != nil {
		t.Errorf("%d log lines keep the original text, want %d (%v): %s", got, want, err, lines)
	}
}
