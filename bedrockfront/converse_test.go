package bedrockfront

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/claudebridge/claudebridge"
)

// canned is an Upstream that answers every call with the same Messages
// answer, or the same stream of events.
type canned struct {
	claudebridge.Upstream
	answer string
	events []claudebridge.Event
}

func (c *canned) Messages(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
	return &claudebridge.Response{Body: []byte(c.answer)}, nil
}

func (c *canned) Stream(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
	return &cannedStream{events: c.events}, nil
}

type cannedStream struct{ events []claudebridge.Event }

func (s *cannedStream) Next() (claudebridge.Event, error) {
	if len(s.events) == 0 {
		return claudebridge.Event{}, io.EOF
	}
	ev := s.events[0]
	s.events = s.events[1:]
	return ev, nil
}

func (s *cannedStream) Close() error { return nil }

func cannedFrontDoor(t *testing.T, up *canned) *bedrockruntime.Client {
	t.Helper()
	return served(t, New(Options{Upstream: up, Keys: claudebridge.NewClientKeys(), AccessKeys: map[string]string{testKeyID: testSecret}}))
}

const citedAnswer = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
	"content":[{"type":"text","text":"The grass is green.","citations":[{"type":"char_location","cited_text":"The grass is green.","document_index":0,"document_title":"Facts","start_char_index":0,"end_char_index":19}]},
	{"type":"tool_use","id":"toolu_01A","name":"lookup","input":{"q":"grass"},"caller":{"type":"direct"}}],
	"stop_reason":"stop_sequence","stop_sequence":"END",
	"usage":{"input_tokens":10,"cache_creation_input_tokens":300,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},"output_tokens":20}}`

func TestConverseServesCitationsToolCallersCacheLifetimesAndStopSequence(t *testing.T) {
	client := cannedFrontDoor(t, &canned{answer: citedAnswer})
	out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String(sonnetBR), Messages: []types.Message{userText("What colour is grass?")},
		InferenceConfig:                   &types.InferenceConfiguration{StopSequences: []string{"END"}},
		AdditionalModelResponseFieldPaths: []string{"/stop_sequence"},
	})
	if err != nil {
		t.Fatal(err)
	}
	content := out.Output.(*types.ConverseOutputMemberMessage).Value.Content
	if got, want := len(content), 2; got != want {
		t.Fatalf("%d blocks, want %d", got, want)
	}
	cited, ok := content[0].(*types.ContentBlockMemberCitationsContent)
	if !ok {
		t.Fatalf("first block %#v, want citationsContent", content[0])
	}
	if got, want := len(cited.Value.Citations), 1; got != want {
		t.Fatalf("%d citations, want %d", got, want)
	}
	loc, ok := cited.Value.Citations[0].Location.(*types.CitationLocationMemberDocumentChar)
	if !ok {
		t.Fatalf("location %#v, want documentChar", cited.Value.Citations[0].Location)
	}
	if got, want := aws.ToInt32(loc.Value.End), int32(19); got != want {
		t.Errorf("end %d, want %d", got, want)
	}
	if got, want := aws.ToString(cited.Value.Citations[0].Title), "Facts"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if tu, ok := content[1].(*types.ContentBlockMemberToolUse); !ok || aws.ToString(tu.Value.ToolUseId) != "toolu_01A" {
		t.Errorf("second block %#v, want the tool use", content[1])
	}
	if got, want := len(out.Usage.CacheDetails), 2; got != want {
		t.Fatalf("%d cache details, want %d", got, want)
	}
	if got, want := out.Usage.CacheDetails[0].Ttl, types.CacheTTLOneHour; got != want {
		t.Errorf("first cache detail ttl %s, want %s", got, want)
	}
	if got, want := aws.ToInt32(out.Usage.CacheDetails[0].InputTokens), int32(200); got != want {
		t.Errorf("1h cache writes %d, want %d", got, want)
	}
	var fields struct {
		StopSequence string `document:"stop_sequence"`
	}
	if out.AdditionalModelResponseFields == nil || out.AdditionalModelResponseFields.UnmarshalSmithyDocument(&fields) != nil {
		t.Fatalf("additionalModelResponseFields %v", out.AdditionalModelResponseFields)
	}
	if got, want := fields.StopSequence, "END"; got != want {
		t.Errorf("stop_sequence %q, want %q", got, want)
	}
}

func TestConverseStreamServesCitationDeltasAndTheStopSequenceUnderDelta(t *testing.T) {
	ev := func(typ, data string) claudebridge.Event { return claudebridge.Event{Type: typ, Data: []byte(data)} }
	client := cannedFrontDoor(t, &canned{events: []claudebridge.Event{
		ev("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}`),
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{"type":"page_location","cited_text":"green","document_index":0,"document_title":"Facts","start_page_number":2,"end_page_number":3}}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Green."}}`),
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`),
		ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"END"},"usage":{"output_tokens":5}}`),
		ev("message_stop", `{"type":"message_stop"}`),
	}})
	out, err := client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(sonnetBR), Messages: []types.Message{userText("What colour is grass?")},
		InferenceConfig:                   &types.InferenceConfiguration{StopSequences: []string{"END"}},
		AdditionalModelResponseFieldPaths: []string{"/delta/stop_sequence"},
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var page *types.DocumentPageLocation
	var stop struct {
		Delta struct {
			StopSequence string `document:"stop_sequence"`
		} `document:"delta"`
	}
	for e := range stream.Events() {
		switch v := e.(type) {
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			if c, ok := v.Value.Delta.(*types.ContentBlockDeltaMemberCitation); ok {
				if l, ok := c.Value.Location.(*types.CitationLocationMemberDocumentPage); ok {
					page = &l.Value
				}
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			if v.Value.AdditionalModelResponseFields != nil {
				if err := v.Value.AdditionalModelResponseFields.UnmarshalSmithyDocument(&stop); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if page == nil {
		t.Fatal("no citation delta with a page location")
	}
	if got, want := aws.ToInt32(page.Start), int32(2); got != want {
		t.Errorf("start page %d, want %d", got, want)
	}
	if got, want := stop.Delta.StopSequence, "END"; got != want {
		t.Errorf("delta.stop_sequence %q, want %q", got, want)
	}
}
