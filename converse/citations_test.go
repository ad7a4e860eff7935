package converse

import (
	"encoding/json"
	"testing"

	claudebridge "github.com/claudebridge/claudebridge"
)

// citationPairs are the same citation in both APIs, one per location type.
var citationPairs = []struct {
	name, converse, messages string
}{
	{
		name:     "character location",
		converse: `{"title":"My Doc","sourceContent":[{"text":"the grass is green"}],"location":{"documentChar":{"documentIndex":0,"start":10,"end":28}}}`,
		messages: `{"type":"char_location","cited_text":"the grass is green","document_index":0,"document_title":"My Doc","start_char_index":10,"end_char_index":28}`,
	},
	{
		name:     "page location",
		converse: `{"title":"Report","sourceContent":[{"text":"p. 3"}],"location":{"documentPage":{"documentIndex":1,"start":3,"end":4}}}`,
		messages: `{"type":"page_location","cited_text":"p. 3","document_index":1,"document_title":"Report","start_page_number":3,"end_page_number":4}`,
	},
	{
		name:     "chunk location without a title",
		converse: `{"sourceContent":[{"text":"chunk"}],"location":{"documentChunk":{"documentIndex":2,"start":0,"end":1}}}`,
		messages: `{"type":"content_block_location","cited_text":"chunk","document_index":2,"document_title":null,"start_block_index":0,"end_block_index":1}`,
	},
	{
		name:     "search result location",
		converse: `{"title":"Result","source":"https://example.com/a","sourceContent":[{"text":"found"}],"location":{"searchResultLocation":{"searchResultIndex":0,"start":1,"end":2}}}`,
		messages: `{"type":"search_result_location","cited_text":"found","search_result_index":0,"source":"https://example.com/a","title":"Result","start_block_index":1,"end_block_index":2}`,
	},
}

func TestCitedConverseAnswerBecomesTextWithCitations(t *testing.T) {
	for _, p := range citationPairs {
		t.Run(p.name, func(t *testing.T) {
			body := `{"output":{"message":{"role":"assistant","content":[{"text":"According to the doc, "},
				{"citationsContent":{"content":[{"text":"the grass is "},{"text":"green."}],"citations":[` + p.converse + `]}}]}},
				"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}`
			got, err := ResponseToMessages([]byte(body), "m")
			if err != nil {
				t.Fatal(err)
			}
			var m struct{ Content []json.RawMessage }
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
			if got, want := len(m.Content), 2; got != want {
				t.Fatalf("%d blocks, want %d", got, want)
			}
			jsonEqual(t, m.Content[1], `{"type":"text","text":"the grass is green.","citations":[`+p.messages+`]}`)
		})
	}
}

func TestCitedMessagesAnswerBecomesCitationsContent(t *testing.T) {
	for _, p := range citationPairs {
		t.Run(p.name, func(t *testing.T) {
			msg := `{"content":[{"type":"text","text":"green","citations":[` + p.messages + `]}],"stop_reason":"end_turn","usage":{}}`
			got, err := ResponseFromMessages([]byte(msg), nil)
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				Output struct {
					Message struct{ Content []json.RawMessage }
				}
			}
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, m.Output.Message.Content[0], `{"citationsContent":{"content":[{"text":"green"}],"citations":[`+p.converse+`]}}`)
		})
	}
}

func TestWebSearchCitationKeepsItsURLBothWays(t *testing.T) {
	msg := `{"content":[{"type":"text","text":"x","citations":[{"type":"web_search_result_location","cited_text":"c","url":"https://www.example.org/p","title":"T","encrypted_index":"EoAB"}]}],"stop_reason":"end_turn","usage":{}}`
	conv, err := ResponseFromMessages([]byte(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, conv, `{"output":{"message":{"role":"assistant","content":[{"citationsContent":{"content":[{"text":"x"}],
		"citations":[{"title":"T","sourceContent":[{"text":"c"}],"location":{"web":{"url":"https://www.example.org/p","domain":"example.org"}}}]}}]}},
		"stopReason":"end_turn","usage":{"inputTokens":0,"outputTokens":0,"totalTokens":0,"cacheReadInputTokens":0,"cacheWriteInputTokens":0},"metrics":{"latencyMs":0}}`)
	back, err := ResponseToMessages(conv, "m")
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Content []json.RawMessage }
	_ = json.Unmarshal(back, &m)
	// encrypted_index has no Converse counterpart and comes back empty.
	jsonEqual(t, m.Content[0], `{"type":"text","text":"x","citations":[{"type":"web_search_result_location","cited_text":"c","url":"https://www.example.org/p","title":"T","encrypted_index":""}]}`)
}

func TestCitationOfATypeWithoutCounterpartLeavesPlainText(t *testing.T) {
	msg := `{"content":[{"type":"text","text":"x","citations":[{"type":"some_future_location","cited_text":"c"}]}],"stop_reason":"end_turn","usage":{}}`
	conv, err := ResponseFromMessages([]byte(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Output struct {
			Message struct{ Content []json.RawMessage }
		}
	}
	_ = json.Unmarshal(conv, &m)
	jsonEqual(t, m.Output.Message.Content[0], `{"text":"x"}`)
}

func TestCitedTextInARequestIsSentAsText(t *testing.T) {
	in := `{"messages":[{"role":"assistant","content":[{"type":"text","text":"green","citations":[` + citationPairs[0].messages + `]}]}]}`
	got, err := RequestFromMessages(fieldsOf(t, in))
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, got, `{"messages":[{"role":"assistant","content":[{"text":"green"}]}]}`)
}

func TestConverseCitationDeltaBecomesCitationsDelta(t *testing.T) {
	for _, p := range citationPairs {
		t.Run(p.name, func(t *testing.T) {
			evs := runToMessages(t, []step{
				{"messageStart", `{"role":"assistant"}`},
				{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"citation":` + p.converse + `}}`},
				{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"green"}}`},
				{"contentBlockStop", `{"contentBlockIndex":0}`},
				{"messageStop", `{"stopReason":"end_turn"}`},
			})
			types, data := messagesSteps(evs)
			sameSteps(t, types[1:4], data[1:4], []step{
				{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
				{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":` + p.messages + `}}`},
				{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"green"}}`},
			})
		})
	}
}

func TestMessagesCitationsDeltaBecomesConverseCitation(t *testing.T) {
	for _, p := range citationPairs {
		t.Run(p.name, func(t *testing.T) {
			var s StreamFromMessages
			got, err := s.Event(claudebridge.Event{Type: "content_block_delta",
				Data: []byte(`{"type":"content_block_delta","index":3,"delta":{"type":"citations_delta","citation":` + p.messages + `}}`)})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(got), 1; got != want {
				t.Fatalf("%d events, want %d", got, want)
			}
			if got, want := got[0].Type, "contentBlockDelta"; got != want {
				t.Errorf("event %s, want %s", got, want)
			}
			jsonEqual(t, got[0].Payload, `{"contentBlockIndex":3,"delta":{"citation":`+p.converse+`}}`)
		})
	}
}

func TestCitationsContentInAConverseRequestIsSentAsText(t *testing.T) {
	body := `{"messages":[{"role":"user","content":[{"text":"What colour?"}]},
		{"role":"assistant","content":[{"citationsContent":{"content":[{"text":"green"}],"citations":[` + citationPairs[0].converse + `]}}]},
		{"role":"user","content":[{"text":"Sure?"}]}]}`
	fields, err := RequestToMessages([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []struct{ Content []json.RawMessage }
	if err := json.Unmarshal(fields["messages"], &msgs); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, msgs[1].Content[0], `{"type":"text","text":"green"}`)
}
