package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

func TestText(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		prompt := "Say hello to the tester " + nonce(t)
		msg, err := client.Messages.New(ctxFor(t), userText(gw.model, prompt))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(textOf(msg), prompt) {
			t.Errorf("the answer does not quote the question: %q", textOf(msg))
		}
		checkModel(t, gw, string(msg.Model))
		if msg.StopReason != anthropic.StopReasonEndTurn || msg.Role != "assistant" || !strings.HasPrefix(msg.ID, "msg_") {
			t.Errorf("stop_reason %q, role %q, id %q", msg.StopReason, msg.Role, msg.ID)
		}
		if msg.Usage.InputTokens <= 0 || msg.Usage.OutputTokens <= 0 {
			t.Errorf("usage %+v", msg.Usage)
		}
	})
}

func TestStreamEventOrder(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		prompt := "Tell me about streams " + nonce(t)
		stream := client.Messages.NewStreaming(ctxFor(t), userText(gw.model, prompt))
		var acc anthropic.Message
		var seen []string
		var deltas strings.Builder
		for stream.Next() {
			ev := stream.Current()
			seen = append(seen, string(ev.Type))
			if err := acc.Accumulate(ev); err != nil {
				t.Fatalf("accumulate %s: %v", ev.Type, err)
			}
			if d, ok := ev.AsAny().(anthropic.ContentBlockDeltaEvent); ok {
				deltas.WriteString(d.Delta.Text)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream: %v (events %v)", err, seen)
		}
		checkEventOrder(t, slices.DeleteFunc(seen, func(s string) bool { return s == "ping" }))
		if got := textOf(&acc); got != deltas.String() || !strings.Contains(got, prompt) {
			t.Errorf("accumulated %q, deltas %q; want the deltas, quoting %q", got, deltas.String(), prompt)
		}
		if acc.StopReason != anthropic.StopReasonEndTurn || acc.Usage.OutputTokens <= 0 {
			t.Errorf("stop_reason %q, usage %s", acc.StopReason, acc.Usage.RawJSON())
		}
		checkModel(t, gw, string(acc.Model))
	})
}

// checkModel checks the model id of an answer. Through Bedrock the client
// sees the id it asked for (the rule); the Anthropic API names the
// dated model of an alias, and the gateway passes that through.
func checkModel(t *testing.T, gw gateway, got string) {
	t.Helper()
	if got != gw.model && (gw.name == "bedrock" || !strings.HasPrefix(got, gw.model)) {
		t.Errorf("model %q, want %q", got, gw.model)
	}
}

// checkEventOrder checks the Messages stream grammar: message_start, then
// blocks (start, deltas, stop), then message_delta and message_stop.
func checkEventOrder(t *testing.T, seen []string) {
	t.Helper()
	if len(seen) < 5 || seen[0] != "message_start" || seen[len(seen)-1] != "message_stop" || seen[len(seen)-2] != "message_delta" {
		t.Fatalf("event order %v", seen)
	}
	open := false
	for _, s := range seen[1 : len(seen)-2] {
		switch s {
		case "content_block_start":
			if open {
				t.Fatalf("block started inside a block: %v", seen)
			}
			open = true
		case "content_block_delta":
			if !open {
				t.Fatalf("delta outside a block: %v", seen)
			}
		case "content_block_stop":
			if !open {
				t.Fatalf("stop outside a block: %v", seen)
			}
			open = false
		default:
			t.Fatalf("unexpected %s among the blocks: %v", s, seen)
		}
	}
	if open {
		t.Fatalf("a block was never stopped: %v", seen)
	}
}

func weatherTool() anthropic.ToolUnionParam {
	return anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{
		Name:        "get_weather",
		Description: anthropic.String("Current weather of a city"),
		InputSchema: anthropic.ToolInputSchemaParam{
			Properties: map[string]any{"location": map[string]any{"type": "string"}},
			Required:   []string{"location"},
		},
	}}
}

func TestToolsRoundTrip(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		params := userText(gw.model, "What is the weather in Paris? Use the get_weather tool. "+nonce(t))
		params.Tools = []anthropic.ToolUnionParam{weatherTool()}
		first, err := client.Messages.New(ctxFor(t), params)
		if err != nil {
			t.Fatal(err)
		}
		if first.StopReason != anthropic.StopReasonToolUse {
			t.Fatalf("stop_reason %q, want tool_use: %+v", first.StopReason, first.Content)
		}
		var use anthropic.ToolUseBlock
		for _, c := range first.Content {
			if u, ok := c.AsAny().(anthropic.ToolUseBlock); ok {
				use = u
			}
		}
		var input struct {
			Location string `json:"location"`
		}
		if use.Name != "get_weather" || json.Unmarshal(use.Input, &input) != nil || input.Location == "" {
			t.Fatalf("tool_use %q with input %s", use.Name, use.Input)
		}
		params.Messages = append(params.Messages, first.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "18 degrees and sunny", false)))
		second, err := client.Messages.New(ctxFor(t), params)
		if err != nil {
			t.Fatal(err)
		}
		if second.StopReason != anthropic.StopReasonEndTurn || !strings.Contains(textOf(second), "18 degrees and sunny") {
			t.Errorf("answer to the tool result: %s %q", second.StopReason, textOf(second))
		}
	})
}

func TestThinkingSignatureRoundTrip(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		params := userText(gw.model, "Think about the number seven "+nonce(t))
		params.MaxTokens = 2048
		params.Thinking = anthropic.ThinkingConfigParamOfEnabled(1024)

		// Streaming: the signature arrives as signature_delta.
		stream := client.Messages.NewStreaming(ctxFor(t), params)
		var acc anthropic.Message
		var signature strings.Builder
		for stream.Next() {
			ev := stream.Current()
			if err := acc.Accumulate(ev); err != nil {
				t.Fatal(err)
			}
			if d, ok := ev.AsAny().(anthropic.ContentBlockDeltaEvent); ok && d.Delta.Type == "signature_delta" {
				signature.WriteString(d.Delta.Signature)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		thinking, ok := acc.Content[0].AsAny().(anthropic.ThinkingBlock)
		if !ok || thinking.Thinking == "" || thinking.Signature == "" || thinking.Signature != signature.String() {
			t.Fatalf("first block %+v, signature_delta %q", acc.Content[0], signature.String())
		}

		// Sent back as received, the thinking block is accepted: the
		// emulator checks that the signature still matches the thinking.
		next := params
		next.Messages = append(slices.Clone(params.Messages), acc.ToParam(),
			anthropic.NewUserMessage(anthropic.NewTextBlock("And now eight? "+nonce(t))))
		if _, err := client.Messages.New(ctxFor(t), next); err != nil {
			t.Fatalf("thinking block sent back unchanged was refused: %v", err)
		}

		// The control: a thinking text changed on the way is refused, so the
		// success above means the bytes arrived as they left.
		tampered := next
		tampered.Messages = slices.Clone(next.Messages)
		tampered.Messages[1] = anthropic.NewAssistantMessage(
			anthropic.NewThinkingBlock(thinking.Signature, thinking.Thinking+" (edited)"),
			anthropic.NewTextBlock(textOf(&acc)))
		_, err := client.Messages.New(ctxFor(t), tampered)
		wantAPIError(t, err, 400, "invalid_request_error")
	})
}

// onePixelPNG is a 1×1 PNG.
const onePixelPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

func TestImage(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		params := anthropic.MessageNewParams{
			Model:     anthropic.Model(gw.model),
			MaxTokens: 256,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(
				anthropic.NewImageBlockBase64("image/png", onePixelPNG),
				anthropic.NewTextBlock("What is in this picture? "+nonce(t)))},
		}
		msg, err := client.Messages.New(ctxFor(t), params)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(textOf(msg), "image") {
			t.Errorf("the answer does not see the image: %q", textOf(msg))
		}
	})
}

// TestUnknownFieldPassesThrough: a top-level field the gateway does not
// know reaches the Anthropic API untouched; the API (here its emulator)
// refuses it by name, and that answer comes back to the client.
func TestUnknownFieldPassesThrough(t *testing.T) {
	gw := gateways()[1]
	client := newClient(gw)
	_, err := client.Messages.New(ctxFor(t), userText(gw.model, "Hello "+nonce(t)),
		option.WithJSONSet("made_up_field_2099", map[string]any{"nested": []int{1, 2, 3}}))
	e := wantAPIError(t, err, 400, "invalid_request_error")
	if !strings.Contains(e.RawJSON(), "made_up_field_2099") {
		t.Errorf("the error does not name the field: %s", e.RawJSON())
	}
}

// TestNewFieldsPassThroughBedrock: request fields newer than the gateway's
// knowledge (output_config, context_management) reach a model that takes
// them, and never fail a request for a model that does not.
func TestNewFieldsPassThroughBedrock(t *testing.T) {
	gw := gateways()[0]
	for _, model := range []string{"claude-opus-4-6", "claude-sonnet-4-5"} {
		t.Run(model, func(t *testing.T) {
			client := newClient(gw)
			msg, err := client.Messages.New(ctxFor(t), userText(model, "Hello "+nonce(t)),
				option.WithJSONSet("output_config", map[string]any{"effort": "high"}),
				option.WithJSONSet("context_management", map[string]any{"edits": []any{}}))
			if err != nil {
				t.Fatal(err)
			}
			if string(msg.Model) != model {
				t.Errorf("model %q, want %q", msg.Model, model)
			}
		})
	}
}

func TestCountTokens(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		count := func(text string) int64 {
			res, err := client.Messages.CountTokens(ctxFor(t), anthropic.MessageCountTokensParams{
				Model:    anthropic.Model(gw.model),
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
			})
			if err != nil {
				t.Fatal(err)
			}
			return res.InputTokens
		}
		short := count("Hello")
		long := count(strings.Repeat("Hello there, how are you today? ", 50))
		if short <= 0 || long <= short {
			t.Errorf("count_tokens: short %d, long %d", short, long)
		}
	})
}

func TestModels(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		page, err := client.Models.List(ctxFor(t), anthropic.ModelListParams{Limit: anthropic.Int(2)})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 2 || !page.HasMore || page.FirstID != page.Data[0].ID || page.LastID != page.Data[1].ID {
			t.Fatalf("first page: %d models, has_more %v, first %q last %q", len(page.Data), page.HasMore, page.FirstID, page.LastID)
		}
		next, err := client.Models.List(ctxFor(t), anthropic.ModelListParams{Limit: anthropic.Int(2), AfterID: anthropic.String(page.LastID)})
		if err != nil {
			t.Fatal(err)
		}
		if len(next.Data) == 0 || next.Data[0].ID == page.Data[0].ID || next.Data[0].ID == page.Data[1].ID {
			t.Fatalf("second page %+v repeats the first", next.Data)
		}
		var all []string
		iter := client.Models.ListAutoPaging(ctxFor(t), anthropic.ModelListParams{Limit: anthropic.Int(3)})
		for iter.Next() {
			m := iter.Current()
			if m.Type != "model" || m.DisplayName == "" || m.CreatedAt.Year() < 2020 {
				t.Errorf("model %s", m.RawJSON())
			}
			all = append(all, m.ID)
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, id := range all {
			if seen[id] {
				t.Errorf("model %s listed twice", id)
			}
			seen[id] = true
		}
		if !seen["claude-sonnet-4-5-20250929"] || !seen[page.Data[0].ID] || !seen[next.Data[0].ID] {
			t.Errorf("paging through all models missed some: %v", all)
		}
		one, err := client.Models.Get(ctxFor(t), "claude-sonnet-4-5-20250929", anthropic.ModelGetParams{})
		if err != nil || one.ID != "claude-sonnet-4-5-20250929" {
			t.Fatalf("get model: %+v, %v", one, err)
		}
		_, err = client.Models.Get(ctxFor(t), "claude-nonexistent-9-9", anthropic.ModelGetParams{})
		wantAPIError(t, err, 404, "not_found_error")
	})
}
