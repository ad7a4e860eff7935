package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
)

// converseGateways are the gateway and model pairs served through Bedrock's
// Converse API: a Claude model on the gateway with BEDROCK_API=converse,
// and models of other providers, which go through Converse on either
// Bedrock gateway.
func converseGateways() []gateway {
	return []gateway{
		{name: "converse/claude", url: converseGatewayURL, model: "claude-sonnet-4-5"},
		{name: "converse/nova", url: converseGatewayURL, model: "amazon.nova-pro-v1:0"},
		{name: "invoke/nova-lite-profile", url: bedrockGatewayURL, model: "us.amazon.nova-lite-v1:0"},
		{name: "invoke/llama", url: bedrockGatewayURL, model: "meta.llama3-3-70b-instruct-v1:0"},
	}
}

func eachConverseGateway(t *testing.T, f func(t *testing.T, gw gateway)) {
	for _, gw := range converseGateways() {
		t.Run(gw.name, func(t *testing.T) {
			t.Parallel()
			f(t, gw)
		})
	}
}

func TestConverseText(t *testing.T) {
	eachConverseGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		prompt := "Say hello through Converse " + nonce(t)
		params := userText(gw.model, prompt)
		params.System = []anthropic.TextBlockParam{{Text: "You answer briefly."}}
		msg, err := client.Messages.New(ctxFor(t), params)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(textOf(msg), prompt) {
			t.Errorf("the answer does not quote the question: %q", textOf(msg))
		}
		if string(msg.Model) != gw.model || msg.StopReason != anthropic.StopReasonEndTurn || !strings.HasPrefix(msg.ID, "msg_") {
			t.Errorf("model %q, stop_reason %q, id %q", msg.Model, msg.StopReason, msg.ID)
		}
		if msg.Usage.InputTokens <= 0 || msg.Usage.OutputTokens <= 0 {
			t.Errorf("usage %s", msg.Usage.RawJSON())
		}
	})
}

func TestConverseStream(t *testing.T) {
	eachConverseGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		prompt := "Tell me about Converse streams " + nonce(t)
		stream := client.Messages.NewStreaming(ctxFor(t), userText(gw.model, prompt))
		var acc anthropic.Message
		var seen []string
		var deltas strings.Builder
		var startUsage string
		for stream.Next() {
			ev := stream.Current()
			seen = append(seen, string(ev.Type))
			if err := acc.Accumulate(ev); err != nil {
				t.Fatalf("accumulate %s: %v", ev.Type, err)
			}
			switch e := ev.AsAny().(type) {
			case anthropic.MessageStartEvent:
				startUsage = e.Message.Usage.RawJSON()
			case anthropic.ContentBlockDeltaEvent:
				if e.Index != 0 {
					t.Errorf("delta at index %d of a one-block answer", e.Index)
				}
				deltas.WriteString(e.Delta.Text)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream: %v (events %v)", err, seen)
		}
		checkEventOrder(t, slices.DeleteFunc(seen, func(s string) bool { return s == "ping" }))
		if got := textOf(&acc); got != deltas.String() || !strings.Contains(got, prompt) {
			t.Errorf("accumulated %q, deltas %q; want the deltas, quoting %q", got, deltas.String(), prompt)
		}
		if acc.StopReason != anthropic.StopReasonEndTurn || acc.Usage.OutputTokens <= 0 || acc.Usage.InputTokens <= 0 {
			t.Errorf("stop_reason %q, usage %s", acc.StopReason, acc.Usage.RawJSON())
		}
		for _, f := range []string{"cache_creation_input_tokens", "cache_read_input_tokens"} {
			if !strings.Contains(startUsage, f) {
				t.Errorf("message_start usage %s lacks %s", startUsage, f)
			}
		}
		if string(acc.Model) != gw.model {
			t.Errorf("model %q, want %q", acc.Model, gw.model)
		}
	})
}

func TestConverseToolsRoundTrip(t *testing.T) {
	eachConverseGateway(t, func(t *testing.T, gw gateway) {
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
		if use.Name != "get_weather" || use.ID == "" || json.Unmarshal(use.Input, &input) != nil || input.Location == "" {
			t.Fatalf("tool_use %q %q with input %s", use.Name, use.ID, use.Input)
		}
		params.Messages = append(params.Messages, first.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "18 degrees and sunny", false)))

		// The second turn streams, so that a tool_result goes through
		// ConverseStream too.
		stream := client.Messages.NewStreaming(ctxFor(t), params)
		var second anthropic.Message
		for stream.Next() {
			if err := second.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if second.StopReason != anthropic.StopReasonEndTurn || !strings.Contains(textOf(&second), "18 degrees and sunny") {
			t.Errorf("answer to the tool result: %s %q", second.StopReason, textOf(&second))
		}
	})
}

func TestConverseErrors(t *testing.T) {
	eachConverseGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		_, err := client.Messages.New(ctxFor(t), userText(gw.model, "Hi [[throttle]] "+nonce(t)))
		wantAPIError(t, err, 429, "rate_limit_error")

		stream := client.Messages.NewStreaming(ctxFor(t), userText(gw.model, "Hello [[stream-error=3]] "+nonce(t)))
		var seen []string
		for stream.Next() {
			seen = append(seen, string(stream.Current().Type))
		}
		if stream.Err() == nil || slices.Contains(seen, "message_stop") {
			t.Errorf("mid-stream exception: err %v after %v", stream.Err(), seen)
		}
		if len(seen) == 0 || seen[0] != "message_start" {
			t.Errorf("events before the failure: %v", seen)
		}
	})
}

func TestConverseStopSequence(t *testing.T) {
	eachConverseGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		params := userText(gw.model, "Quote ZEBRA please "+nonce(t))
		params.StopSequences = []string{"ZEBRA"}
		msg, err := client.Messages.New(ctxFor(t), params)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := msg.StopReason, anthropic.StopReasonStopSequence; got != want {
			t.Errorf("stop_reason %q, want %q", got, want)
		}
		if got, want := msg.StopSequence, "ZEBRA"; got != want {
			t.Errorf("stop_sequence %q, want %q", got, want)
		}

		stream := client.Messages.NewStreaming(ctxFor(t), params)
		var seq string
		for stream.Next() {
			if e, ok := stream.Current().AsAny().(anthropic.MessageDeltaEvent); ok {
				seq = e.Delta.StopSequence
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if got, want := seq, "ZEBRA"; got != want {
			t.Errorf("streamed stop_sequence %q, want %q", got, want)
		}
	})
}

func TestConverseOneHourCacheWrites(t *testing.T) {
	gw := converseGateways()[0]
	client := newClient(gw)
	params := userText(gw.model, "Hi")
	params.System = []anthropic.TextBlockParam{{
		Text:         strings.Repeat("A long and stable system prompt, cached for an hour "+nonce(t)+". ", 300),
		CacheControl: anthropic.CacheControlEphemeralParam{TTL: anthropic.CacheControlEphemeralTTLTTL1h},
	}}
	msg, err := client.Messages.New(ctxFor(t), params)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Usage.CacheCreationInputTokens == 0 {
		t.Fatalf("no cache writes: %s", msg.Usage.RawJSON())
	}
	if got, want := msg.Usage.CacheCreation.Ephemeral1hInputTokens, msg.Usage.CacheCreationInputTokens; got != want {
		t.Errorf("1h cache writes %d, want %d (%s)", got, want, msg.Usage.RawJSON())
	}
}
