package bedrockfront

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/converse"
)

// converseDefaultMaxTokens is max_tokens when a Converse request sets no
// inferenceConfig.maxTokens. Bedrock then uses the model's own limit; the
// front door asks for less, because the Anthropic API refuses non-streaming
// calls whose max_tokens could take longer than ten minutes.
const converseDefaultMaxTokens = 4096

// invokeFields checks an InvokeModel body as Bedrock's request validator
// does and returns its top-level fields.
func invokeFields(body []byte) (map[string]json.RawMessage, error) {
	fields, _, e := bedrockwire.Envelope(body)
	if e != nil {
		return nil, e
	}
	return fields, nil
}

// messagesRequest makes the Messages request for model from the top-level
// fields of an InvokeModel body or of a translated Converse request:
// anthropic_beta (body) and the anthropic-beta header become Betas,
// anthropic_version is dropped (the upstream speaks its own), model and
// stream are set, and the result is validated as the Messages API would.
// countTokens relaxes the rules count_tokens does not have.
func (h *Handler) messagesRequest(model string, fields map[string]json.RawMessage, header http.Header, stream, countTokens bool) (*claudebridge.Request, error) {
	var betas []string
	if raw, ok := fields["anthropic_beta"]; ok {
		if json.Unmarshal(raw, &betas) != nil {
			return nil, claudebridge.Errorf(claudebridge.EINVALID, "anthropic_beta: Input should be a valid list of strings")
		}
	}
	delete(fields, "anthropic_beta")
	delete(fields, "anthropic_version")
	quoted, _ := json.Marshal(model)
	fields["model"] = quoted
	if stream {
		fields["stream"] = json.RawMessage("true")
	} else {
		delete(fields, "stream")
	}
	body := (&claudebridge.Request{Fields: fields}).JSON()
	req, err := anthropic.ParseRequest(body, http.Header{}, countTokens)
	if err != nil {
		return nil, err
	}
	for _, b := range append(betas, anthropic.Betas(header)...) {
		if b = strings.TrimSpace(b); b != "" && !contains(req.Betas, b) {
			req.Betas = append(req.Betas, b)
		}
	}
	return req, nil
}

// converseFields translates a Converse request (or the converse input of
// CountTokens) into Messages fields, with max_tokens defaulted when the
// request sets no inferenceConfig.maxTokens.
func converseFields(body []byte, countTokens bool) (map[string]json.RawMessage, error) {
	fields, err := converse.RequestToMessages(body)
	if err != nil {
		return nil, err
	}
	if _, ok := fields["max_tokens"]; !ok && !countTokens {
		fields["max_tokens"] = json.RawMessage(strconv.Itoa(converseDefaultMaxTokens))
	}
	return fields, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
