package bedrockapi

import (
	"encoding/json"

	"github.com/claudebridge/claudebridge"
)

// countInput is the body of CountTokens: exactly one of an InvokeModel body
// (a blob, base64 on the wire) or a Converse request.
type countInput struct {
	Input struct {
		InvokeModel *struct {
			Body []byte `json:"body"`
		} `json:"invokeModel"`
		Converse json.RawMessage `json:"converse"`
	} `json:"input"`
}

const msgInputNull = "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must not be null"

// countTokens serves CountTokens through the upstream's count_tokens.
func (h *Handler) countTokens(c *call) error {
	var in countInput
	if err := json.Unmarshal(c.body, &in); err != nil {
		return c.fail(claudebridge.Errorf(claudebridge.EINVALID, msgInputNull))
	}
	var fields map[string]json.RawMessage
	var err error
	switch {
	case in.Input.InvokeModel != nil:
		fields, err = invokeFields(in.Input.InvokeModel.Body)
	case len(in.Input.Converse) > 0 && string(in.Input.Converse) != "null":
		fields, err = converseFields(in.Input.Converse, true)
	default:
		err = claudebridge.Errorf(claudebridge.EINVALID, msgInputNull)
	}
	if err != nil {
		return c.fail(err)
	}
	req, err := h.messagesRequest(c.model, fields, c.r.Header, false, true)
	if err != nil {
		return c.fail(err)
	}
	n, err := h.opts.Upstream.CountTokens(c.ctx, req)
	if err != nil {
		return c.fail(err)
	}
	body, _ := json.Marshal(map[string]int{"inputTokens": n.InputTokens})
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Write(body)
	return nil
}
