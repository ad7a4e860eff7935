package converse

import (
	"encoding/json"
	"testing"

	claudebridge "github.com/claudebridge/claudebridge"
)

func TestAnswerBlockFieldsConverseCannotSayAreDropped(t *testing.T) {
	msg := `{"content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{},"caller":{"type":"direct"},"some_new_field":1}],"stop_reason":"tool_use","usage":{}}`
	got, err := ResponseFromMessages([]byte(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Output struct {
			Message struct{ Content []json.RawMessage }
		}
	}
	_ = json.Unmarshal(got, &m)
	jsonEqual(t, m.Output.Message.Content[0], `{"toolUse":{"toolUseId":"toolu_1","name":"f","input":{}}}`)
}

func TestReplayedAssistantTurnWithNewBlockFieldsIsSent(t *testing.T) {
	in := `{"messages":[{"role":"user","content":"hi"},
		{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{},"caller":{"type":"direct"}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}]}`
	got, err := RequestFromMessages(fieldsOf(t, in))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Messages []struct{ Content []json.RawMessage }
	}
	_ = json.Unmarshal(got, &m)
	jsonEqual(t, m.Messages[1].Content[0], `{"toolUse":{"toolUseId":"toolu_1","name":"f","input":{}}}`)
}

func TestUnknownBlockFieldInAUserTurnStillFails(t *testing.T) {
	in := `{"messages":[{"role":"user","content":[{"type":"text","text":"hi","caller":{}}]}]}`
	_, err := RequestFromMessages(fieldsOf(t, in))
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Errorf("code %s (%v), want %s", got, err, want)
	}
}

func TestStopSequenceIsReturnedAtThePathsAsked(t *testing.T) {
	msg := []byte(`{"content":[],"stop_reason":"stop_sequence","stop_sequence":"END","usage":{}}`)
	got, err := ResponseFromMessages(msg, []string{"/stop_sequence", "/no/such/field"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(got, &m)
	jsonEqual(t, m["additionalModelResponseFields"], `{"stop_sequence":"END"}`)

	got, _ = ResponseFromMessages(msg, nil)
	m = nil
	_ = json.Unmarshal(got, &m)
	if raw, ok := m["additionalModelResponseFields"]; ok {
		t.Errorf("additionalModelResponseFields %s sent without being asked for", raw)
	}
}

func TestStreamStopSequenceIsReturnedUnderDelta(t *testing.T) {
	s := StreamFromMessages{FieldPaths: []string{"/delta/stop_sequence"}}
	for _, e := range []claudebridge.Event{
		{Type: "message_delta", Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"###"},"usage":{"output_tokens":3}}`)},
	} {
		if _, err := s.Event(e); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := s.Event(claudebridge.Event{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, evs[0].Payload, `{"stopReason":"stop_sequence","additionalModelResponseFields":{"delta":{"stop_sequence":"###"}}}`)
}

func TestStopSequenceIsReadAtEitherPath(t *testing.T) {
	for _, fields := range []string{`{"stop_sequence":"END"}`, `{"delta":{"stop_sequence":"END"}}`} {
		got := stopSequenceOf(json.RawMessage(fields))
		if got == nil || *got != "END" {
			t.Errorf("%s gave %v, want END", fields, got)
		}
	}
}

func TestStreamBlocksWithoutMessagesCounterpartAreLeftOut(t *testing.T) {
	evs := runToMessages(t, []step{
		{"messageStart", `{"role":"assistant"}`},
		{"contentBlockStart", `{"contentBlockIndex":0,"start":{"image":{"format":"png"}}}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"image":{"source":{"bytes":"AAAA"}}}}`},
		{"contentBlockStop", `{"contentBlockIndex":0}`},
		{"contentBlockStart", `{"contentBlockIndex":1,"start":{"toolResult":{"toolUseId":"tooluse_1","status":"success"}}}`},
		{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolResult":[{"text":"result"}]}}`},
		{"contentBlockStop", `{"contentBlockIndex":1}`},
		{"contentBlockDelta", `{"contentBlockIndex":2,"delta":{"text":"done"}}`},
		{"contentBlockStop", `{"contentBlockIndex":2}`},
		{"messageStop", `{"stopReason":"end_turn"}`},
	})
	types, data := messagesSteps(evs)
	sameSteps(t, types, data, []step{
		{"message_start", messageStartJSON},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"done"}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":0}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`},
		{"message_stop", `{"type":"message_stop"}`},
	})
}

func TestServerToolUseStartsAServerToolUseBlock(t *testing.T) {
	evs := runToMessages(t, []step{
		{"messageStart", `{"role":"assistant"}`},
		{"contentBlockStart", `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"srvtoolu_1","name":"web_search","type":"server_tool_use"}}}`},
		{"contentBlockStop", `{"contentBlockIndex":0}`},
		{"messageStop", `{"stopReason":"end_turn"}`},
	})
	jsonEqual(t, evs[1].Data, `{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}`)

	var s StreamFromMessages
	out, err := s.Event(claudebridge.Event{Type: "content_block_start", Data: evs[1].Data})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, out[0].Payload, `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"srvtoolu_1","name":"web_search","type":"server_tool_use"}}}`)
}

func TestAnswerBlocksWithoutMessagesCounterpartAreLeftOut(t *testing.T) {
	body := `{"output":{"message":{"role":"assistant","content":[
		{"toolResult":{"toolUseId":"tooluse_1","content":[{"text":"found"}]}},
		{"image":{"format":"png","source":{"bytes":"AAAA"}}},
		{"text":"done"}]}},"stopReason":"end_turn","usage":{}}`
	got, err := ResponseToMessages([]byte(body), "m")
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Content []json.RawMessage }
	_ = json.Unmarshal(got, &m)
	if got, want := len(m.Content), 1; got != want {
		t.Fatalf("%d blocks, want %d", got, want)
	}
	jsonEqual(t, m.Content[0], `{"type":"text","text":"done"}`)
}
