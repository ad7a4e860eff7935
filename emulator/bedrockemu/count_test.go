package bedrockemu

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// CountTokens judges an InvokeModel-shaped body as InvokeModel does: one
// without max_tokens (what a client copying Anthropic's count request
// sends) is refused by the request validator, not counted.
func TestCountTokensRefusesAnInvokeBodyWithoutMaxTokens(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	_, err := client.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String("anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Input: &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{
			Body: []byte(`{"anthropic_version":"bedrock-2023-05-31","messages":[{"role":"user","content":"hi"}]}`)}},
	})
	var ve *types.ValidationException
	assertAPIError(t, err, &ve, 400)
	if got, want := ve.ErrorMessage(), "required key [max_tokens] not found"; !strings.Contains(got, want) {
		t.Errorf("message %q, want it to say %q", got, want)
	}
}

// Past 200,000 tokens CountTokens refuses, naming the count, whatever the
// model's context window.
func TestCountTokensRefusesPast200000TokensNamingTheCount(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	_, err := client.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String("anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Input:   &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: invokeBody(strings.Repeat("many words here ", 60_000), nil)}},
	})
	var ve *types.ValidationException
	assertAPIError(t, err, &ve, 400)
	if got := ve.ErrorMessage(); !strings.HasPrefix(got, "prompt is too long: ") || !strings.HasSuffix(got, " tokens > 200000 maximum") {
		t.Errorf("message %q, want prompt is too long: N tokens > 200000 maximum", got)
	}
}
