package bedrockfront

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/claudebridge/claudebridge/bedrockwire"
)

// FuzzRequestParsing feeds arbitrary bodies to the parsing of InvokeModel,
// Converse and CountTokens bodies: it must never panic, and whatever it
// accepts must be a Messages request for the path's model, without the
// Bedrock-only fields, whose body is JSON.
func FuzzRequestParsing(f *testing.F) {
	f.Add(uint8(0), []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"anthropic_beta":["b1"]}`))
	f.Add(uint8(0), []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[],"model":"x","stream":true}`))
	f.Add(uint8(1), []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"system":[{"text":"s"}],"inferenceConfig":{"maxTokens":5},"additionalModelRequestFields":{"anthropic_beta":["b"],"top_k":3}}`))
	f.Add(uint8(2), []byte(`{"input":{"converse":{"messages":[{"role":"user","content":[{"text":"hi"}]}]}}}`))
	f.Add(uint8(2), []byte(`{"input":{"invokeModel":{"body":"e30="}}}`))
	h := New(Options{})
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		var fields map[string]json.RawMessage
		var err error
		countTokens := false
		switch op % 3 {
		case 0:
			fields, err = invokeFields(body)
		case 1:
			fields, err = converseFields(body, false)
		case 2:
			countTokens = true
			in, e := bedrockwire.ParseCountInput(body)
			if e != nil {
				return
			}
			if in.InvokeModel != nil {
				fields, err = invokeFields(in.InvokeModel)
			} else {
				fields, err = converseFields(in.Converse, true)
			}
		}
		if err != nil {
			return
		}
		header := http.Header{"Anthropic-Beta": {"h1"}}
		req, err := h.messagesRequest(sonnetID, fields, header, op%3 == 0, countTokens)
		if err != nil {
			return
		}
		if req.Model != sonnetID {
			t.Errorf("model %q", req.Model)
		}
		for _, k := range []string{"anthropic_version", "anthropic_beta"} {
			if _, ok := req.Fields[k]; ok {
				t.Errorf("%s kept: %s", k, req.JSON())
			}
		}
		if !json.Valid(req.JSON()) {
			t.Errorf("body is not JSON: %s", req.JSON())
		}
		if !contains(req.Betas, "h1") {
			t.Errorf("header beta lost: %v", req.Betas)
		}
	})
}
