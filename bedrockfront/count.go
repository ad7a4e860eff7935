package bedrockfront

import (
	"encoding/json"

	"github.com/claudebridge/claudebridge/bedrockwire"
)

// countTokens serves CountTokens through the upstream's count_tokens.
func (h *Handler) countTokens(c *call) error {
	in, e := bedrockwire.ParseCountInput(c.body)
	if e != nil {
		return c.fail(e)
	}
	var fields map[string]json.RawMessage
	var err error
	if in.InvokeModel != nil {
		fields, err = invokeFields(in.InvokeModel)
	} else {
		fields, err = converseFields(in.Converse, true)
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
	c.writeJSON(body)
	return nil
}
