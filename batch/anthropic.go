package batch

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// Anthropic is the Message Batches format: input lines are the requests of
// a batch, {"custom_id","params"} with params a Messages body; output lines
// are the lines of the batch's results file,
// {"custom_id","result":{"type":"succeeded","message":{...}}} or
// {"custom_id","result":{"type":"errored","error":{"type":"error","error":{"type","message"}}}}
// (result.error is the API's error shape, as the SDKs' ErrorResponse
// reads it). Results carry no request_id: no upstream request made them
// when the record was refused, and the upstream's is not kept otherwise.
//
// As the Batches API does, params may not ask for a stream ("stream": true)
// nor for fast mode ("speed"): such a record is errored with an
// invalid_request_error, without a call.
type Anthropic struct{}

// customID is the API's rule for custom_id.
var customID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func (Anthropic) Name() string { return "anthropic" }

func (Anthropic) Record(line []byte, n int) (*Record, error) {
	var in struct {
		CustomID *string         `json:"custom_id"`
		Params   json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(line, &in); err != nil {
		return nil, fmt.Errorf("line %d: not a JSON object: %v", n, err)
	}
	if in.CustomID == nil {
		return nil, fmt.Errorf("line %d: custom_id: Field required", n)
	}
	if err := CheckCustomID(*in.CustomID); err != nil {
		return nil, fmt.Errorf("line %d: %v", n, err)
	}
	if len(in.Params) == 0 || in.Params[0] != '{' {
		return nil, fmt.Errorf("line %d: params: Input should be a valid object", n)
	}
	rec := AnthropicRecord(*in.CustomID, in.Params)
	rec.Line = n
	return rec, nil
}

// CheckCustomID returns an error unless id is a custom_id the Message
// Batches API takes.
func CheckCustomID(id string) error {
	if !customID.MatchString(id) {
		return fmt.Errorf("custom_id %q: 1 to 64 letters, digits, - and _ (^[a-zA-Z0-9_-]{1,64}$)", id)
	}
	return nil
}

// AnthropicRecord is the record of one request of a Message Batch whose
// custom_id is checked (CheckCustomID) and whose params are a JSON object:
// its Request, or why it is Refused. The Message Batches API of serve
// makes its records with it, as Record does for a file's lines.
func AnthropicRecord(id string, params json.RawMessage) *Record {
	rec := &Record{ID: id, Input: params}
	rec.Request, rec.Refused = messagesParams(params)
	return rec
}

// messagesParams is the Messages request of a record's params, checked as
// the Messages API checks a body, and then as the Batches API checks it.
func messagesParams(params []byte) (*claudebridge.Request, error) {
	req, err := anthropic.ParseRequest(params, http.Header{}, false)
	if err != nil {
		return nil, err
	}
	if req.Stream {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "stream: streaming is not supported in batch requests")
	}
	if raw, ok := req.Fields["speed"]; ok && string(raw) != "null" {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "speed: fast mode is not supported in batch requests")
	}
	return req, nil
}

func (Anthropic) Line(r Result) []byte {
	type result struct {
		Type    string          `json:"type"`
		Message json.RawMessage `json:"message,omitempty"`
		Error   json.RawMessage `json:"error,omitempty"`
	}
	out := struct {
		CustomID string `json:"custom_id"`
		Result   result `json:"result"`
	}{CustomID: r.Record.ID}
	if r.Err != nil {
		out.Result = result{Type: "errored", Error: anthropic.ErrorJSON(r.Err, "")}
	} else {
		out.Result = result{Type: "succeeded", Message: r.Response.Body}
	}
	return marshalLine(out)
}

func (Anthropic) ResultID(line []byte) (string, error) {
	var out struct {
		CustomID *string `json:"custom_id"`
		Result   *struct {
			Type string `json:"type"`
		} `json:"result"`
	}
	if err := json.Unmarshal(line, &out); err != nil {
		return "", err
	}
	if out.CustomID == nil || out.Result == nil || out.Result.Type == "" {
		return "", fmt.Errorf("not a Message Batches result: custom_id or result.type missing")
	}
	return *out.CustomID, nil
}
