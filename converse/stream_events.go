package converse

import (
	"encoding/json"

	claudebridge "github.com/claudebridge/claudebridge"
)

// The Messages stream events this package writes, with their fields in the
// order the Anthropic API sends them.

type messageStartEvent struct {
	Type    string          `json:"type"`
	Message messageStartMsg `json:"message"`
}

type messageStartMsg struct {
	ID           string             `json:"id"`
	Type         string             `json:"type"`
	Role         string             `json:"role"`
	Model        string             `json:"model"`
	Content      []any              `json:"content"`
	StopReason   *string            `json:"stop_reason"`
	StopSequence *string            `json:"stop_sequence"`
	Usage        claudebridge.Usage `json:"usage"`
}

type blockStartEvent struct {
	Type         string `json:"type"`
	Index        int    `json:"index"`
	ContentBlock any    `json:"content_block"`
}

type blockDeltaEvent struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
	Delta any    `json:"delta"`
}

type blockStopEvent struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
}

type messageDeltaEvent struct {
	Type  string `json:"type"`
	Delta struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	} `json:"delta"`
	Usage messagesUsage `json:"usage"`
}

// event makes a claudebridge.Event of one of the values above.
func event(typ string, v any) claudebridge.Event {
	data, err := json.Marshal(v)
	if err != nil {
		// The values are built here from strings and numbers only.
		panic("converse: cannot encode " + typ + ": " + err.Error())
	}
	return claudebridge.Event{Type: typ, Data: data}
}

// streamException maps a ConverseStream exception event to the vocabulary.
var streamException = map[string]string{
	"internalServerException":     claudebridge.EINTERNAL,
	"modelStreamErrorException":   claudebridge.EINTERNAL,
	"validationException":         claudebridge.EINVALID,
	"throttlingException":         claudebridge.ERATELIMIT,
	"serviceUnavailableException": claudebridge.EOVERLOADED,
}

// messagesErrorCodes maps the error types of a Messages "error" event to
// the vocabulary.
var messagesErrorCodes = map[string]string{
	"invalid_request_error": claudebridge.EINVALID,
	"authentication_error":  claudebridge.EAUTH,
	"permission_error":      claudebridge.EPERMISSION,
	"not_found_error":       claudebridge.ENOTFOUND,
	"request_too_large":     claudebridge.ETOOLARGE,
	"rate_limit_error":      claudebridge.ERATELIMIT,
	"overloaded_error":      claudebridge.EOVERLOADED,
	"timeout_error":         claudebridge.ETIMEOUT,
	"billing_error":         claudebridge.EBILLING,
	"api_error":             claudebridge.EINTERNAL,
}
