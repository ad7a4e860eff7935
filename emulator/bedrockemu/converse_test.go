package bedrockemu

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
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

func TestConverseAnswersToolUseWithTooluseIDs(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	schema := document.NewLazyDocument(map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}})
	tools := &types.ToolConfiguration{
		Tools:      []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("get_weather"), InputSchema: &types.ToolInputSchemaMemberJson{Value: schema}}}},
		ToolChoice: &types.ToolChoiceMemberAny{},
	}
	out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String(sonnet45), Messages: userText("What is the weather in Paris?"), ToolConfig: tools,
	})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, b := range out.Output.(*types.ConverseOutputMemberMessage).Value.Content {
		if tu, ok := b.(*types.ContentBlockMemberToolUse); ok {
			id = aws.ToString(tu.Value.ToolUseId)
		}
	}
	if got, want := len(id), len("tooluse_")+22; got != want || !strings.HasPrefix(id, "tooluse_") {
		t.Errorf("Converse tool use id %q, want tooluse_ and 22 characters", id)
	}

	st, err := client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(sonnet45), Messages: userText("What is the weather in Paris?"), ToolConfig: tools,
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := st.GetStream()
	defer stream.Close()
	id = ""
	for ev := range stream.Events() {
		if s, ok := ev.(*types.ConverseStreamOutputMemberContentBlockStart); ok {
			if tu, ok := s.Value.Start.(*types.ContentBlockStartMemberToolUse); ok {
				id = aws.ToString(tu.Value.ToolUseId)
			}
		}
	}
	if !strings.HasPrefix(id, "tooluse_") {
		t.Errorf("ConverseStream tool use id %q, want tooluse_", id)
	}
}

func TestConverseReturnsTheStopSequenceAtThePathAsked(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	client := runtimeClient(srv, testKeyID, testSecret)
	out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String(sonnet45), Messages: userText("Quote ZEBRA please"),
		InferenceConfig:                   &types.InferenceConfiguration{StopSequences: []string{"ZEBRA"}},
		AdditionalModelResponseFieldPaths: []string{"/stop_sequence"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.StopReason, types.StopReasonStopSequence; got != want {
		t.Fatalf("stop reason %s, want %s", got, want)
	}
	var fields struct {
		StopSequence string `document:"stop_sequence"`
	}
	if out.AdditionalModelResponseFields == nil || out.AdditionalModelResponseFields.UnmarshalSmithyDocument(&fields) != nil {
		t.Fatalf("additionalModelResponseFields %v", out.AdditionalModelResponseFields)
	}
	if got, want := fields.StopSequence, "ZEBRA"; got != want {
		t.Errorf("stop_sequence %q, want %q", got, want)
	}

	st, err := client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(sonnet45), Messages: userText("Quote ZEBRA please"),
		InferenceConfig:                   &types.InferenceConfiguration{StopSequences: []string{"ZEBRA"}},
		AdditionalModelResponseFieldPaths: []string{"/delta/stop_sequence"},
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := st.GetStream()
	defer stream.Close()
	var delta struct {
		Delta struct {
			StopSequence string `document:"stop_sequence"`
		} `document:"delta"`
	}
	for ev := range stream.Events() {
		if s, ok := ev.(*types.ConverseStreamOutputMemberMessageStop); ok && s.Value.AdditionalModelResponseFields != nil {
			if err := s.Value.AdditionalModelResponseFields.UnmarshalSmithyDocument(&delta); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := delta.Delta.StopSequence, "ZEBRA"; got != want {
		t.Errorf("stream delta.stop_sequence %q, want %q", got, want)
	}
}
