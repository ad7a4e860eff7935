package bedrockemu

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func userText(text string) []types.Message {
	return []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: text}}}}
}

func TestConverse(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId:         aws.String(sonnet45),
		Messages:        userText("Quote <b>bold</b> please"),
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(200)},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok || len(msg.Value.Content) == 0 {
		t.Fatalf("output %#v", out.Output)
	}
	text, ok := msg.Value.Content[0].(*types.ContentBlockMemberText)
	if !ok || !strings.Contains(text.Value, "<b>bold</b>") {
		t.Errorf("content %#v", msg.Value.Content[0])
	}
	if out.StopReason != types.StopReasonEndTurn || aws.ToInt32(out.Usage.InputTokens) <= 0 || aws.ToInt32(out.Usage.OutputTokens) <= 0 {
		t.Errorf("stop %s usage %+v", out.StopReason, out.Usage)
	}

	_, err = client.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId:         aws.String(sonnet45),
		Messages:        userText("hi"),
		InferenceConfig: &types.InferenceConfiguration{Temperature: aws.Float32(0.5), TopP: aws.Float32(0.9)},
	})
	var ve *types.ValidationException
	assertAPIError(t, err, &ve, 400)
	if ve.ErrorMessage() != "The model returned the following errors: "+msgSamplingExclusive {
		t.Errorf("message %q", ve.ErrorMessage())
	}
}

func TestConverseStream(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	out, err := client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId:  aws.String(sonnet45),
		Messages: userText("Stream to me [[words=20]]"),
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var kinds []string
	var text strings.Builder
	var usage *types.TokenUsage
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberMessageStart:
			kinds = append(kinds, "messageStart")
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			kinds = append(kinds, "contentBlockDelta")
			if d, ok := v.Value.Delta.(*types.ContentBlockDeltaMemberText); ok {
				text.WriteString(d.Value)
			}
		case *types.ConverseStreamOutputMemberContentBlockStop:
			kinds = append(kinds, "contentBlockStop")
		case *types.ConverseStreamOutputMemberMessageStop:
			kinds = append(kinds, "messageStop")
		case *types.ConverseStreamOutputMemberMetadata:
			kinds = append(kinds, "metadata")
			usage = v.Value.Usage
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(kinds) < 5 || kinds[0] != "messageStart" || kinds[len(kinds)-1] != "metadata" || kinds[len(kinds)-2] != "messageStop" {
		t.Errorf("event sequence %v", kinds)
	}
	if n := len(strings.Fields(text.String())); n < 15 {
		t.Errorf("streamed %d words: %q", n, text.String())
	}
	if usage == nil || aws.ToInt32(usage.InputTokens) <= 0 {
		t.Errorf("usage %+v", usage)
	}

	out, err = client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(sonnet45), Messages: userText("fail me [[stream-error=2]]"),
	})
	if err != nil {
		t.Fatal(err)
	}
	stream = out.GetStream()
	for range stream.Events() {
	}
	var mse *types.ModelStreamErrorException
	if err := stream.Err(); err == nil || !errors.As(err, &mse) {
		t.Errorf("stream-error: %v", err)
	}
}

func TestCountTokensConverse(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	out, err := client.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String("anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Input:   &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: userText(strings.Repeat("count these words ", 20))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.InputTokens) < 20 {
		t.Errorf("input tokens %d", aws.ToInt32(out.InputTokens))
	}
}
