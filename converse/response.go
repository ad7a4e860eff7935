package converse

import (
	"crypto/sha256"
	"encoding/json"

	claudebridge "github.com/claudebridge/claudebridge"
)

// ResponseFromMessages translates a complete Messages response into a
// Converse response. metrics.latencyMs is 0: a Messages response does not
// carry it, and a caller that measured it may set it. fieldPaths are the
// request's additionalModelResponseFieldPaths: the values at those JSON
// pointers in the Messages response ("/stop_sequence") are returned in
// additionalModelResponseFields, as Bedrock returns them from the model's.
func ResponseFromMessages(message []byte, fieldPaths []string) ([]byte, error) {
	var in struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		StopReason string          `json:"stop_reason"`
		Usage      messagesUsage   `json:"usage"`
	}
	if err := json.Unmarshal(message, &in); err != nil {
		return nil, invalid("", "the Messages response is not a message object")
	}
	t := blockTranslator{answer: true}
	content := json.RawMessage("[]")
	if !isNull(in.Content) {
		r := jsonReader{b: in.Content}
		var err error
		if content, _, err = t.content(&r, "content", anyBlocks, nil); err != nil {
			return nil, notJSON("content", err)
		}
	}
	out := struct {
		Output struct {
			Message struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			} `json:"message"`
		} `json:"output"`
		StopReason                    string           `json:"stopReason"`
		Usage                         tokenUsage       `json:"usage"`
		Metrics                       map[string]int64 `json:"metrics"`
		AdditionalModelResponseFields map[string]any   `json:"additionalModelResponseFields,omitempty"`
	}{
		StopReason: stopReasonFromMessages(in.StopReason),
		Usage:      usageFromMessages(in.Usage),
		Metrics:    map[string]int64{"latencyMs": 0},

		AdditionalModelResponseFields: responseFields(fieldPaths, message),
	}
	out.Output.Message.Role, out.Output.Message.Content = "assistant", content
	return json.Marshal(out)
}

// messagesResponse is a Messages response as this package writes it.
type messagesResponse struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Role         string          `json:"role"`
	Model        string          `json:"model"`
	Content      json.RawMessage `json:"content"`
	StopReason   string          `json:"stop_reason"`
	StopSequence *string         `json:"stop_sequence"`
	Usage        messagesUsage   `json:"usage"`
}

// ResponseToMessages translates a Converse response into a Messages
// response naming model. Converse gives no message id, so the id is made
// from a hash of body: the same body always gets the same id. stop_sequence
// is read from additionalModelResponseFields when Bedrock returned it.
func ResponseToMessages(body []byte, model string) ([]byte, error) {
	var in struct {
		Output struct {
			Message struct {
				Content json.RawMessage `json:"content"`
			} `json:"message"`
		} `json:"output"`
		StopReason                    string          `json:"stopReason"`
		Usage                         tokenUsage      `json:"usage"`
		AdditionalModelResponseFields json.RawMessage `json:"additionalModelResponseFields"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, claudebridge.Errorf(claudebridge.EINTERNAL, "the Converse response is not valid JSON")
	}
	content := json.RawMessage("[]")
	if !isNull(in.Output.Message.Content) {
		r := jsonReader{b: in.Output.Message.Content}
		var err error
		if content, err = answerBlocksToMessages(&r, "output.message.content", nil); err != nil {
			return nil, notJSON("output.message.content", err)
		}
	}
	stop, err := stopReasonToMessages(in.StopReason)
	if err != nil {
		return nil, err
	}
	out := messagesResponse{
		ID:         messageID(body),
		Type:       "message",
		Role:       "assistant",
		Model:      model,
		Content:    content,
		StopReason: stop,
		Usage:      usageToMessages(in.Usage),
	}
	if in.StopReason == "stop_sequence" {
		out.StopSequence = stopSequenceOf(in.AdditionalModelResponseFields)
	}
	return json.Marshal(out)
}

// idAlphabet is base58, as in the ids Anthropic and Bedrock give messages.
const idAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// messageID makes a Messages id, "msg_bdrk_01" and 22 base58 characters,
// from a hash of seed.
func messageID(seed []byte) string {
	sum := sha256.Sum256(seed)
	id := []byte("msg_bdrk_01")
	for _, b := range sum[:22] {
		id = append(id, idAlphabet[int(b)%len(idAlphabet)])
	}
	return string(id)
}
