package batch

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/bedrockfront"
	"github.com/claudebridge/claudebridge/bedrockwire"
)

// Bedrock is the format of Bedrock's batch inference jobs on InvokeModel:
// input lines are {"recordId","modelInput"} with modelInput an Anthropic
// InvokeModel body (anthropic_version "bedrock-2023-05-31", no model);
// output lines are {"recordId","modelInput","modelOutput"}, the
// modelOutput being the InvokeModel answer, or, for a record that failed,
// {"recordId","modelInput","error":{"errorCode","errorMessage"}} with the
// HTTP status InvokeModel would have answered as errorCode.
//
// The model of every record is Model, since modelInput names none: a
// Bedrock model id, profile id or ARN of a Claude model (sent as its
// Anthropic id, as the Bedrock front door does), or an Anthropic id.
// A record without a recordId gets its line number, in 11 digits, as
// Bedrock gives such records an id of 11 characters.
type Bedrock struct {
	Model string
}

func (Bedrock) Name() string { return "bedrock" }

func (b Bedrock) Record(line []byte, n int) (*Record, error) {
	var in struct {
		RecordID   *string         `json:"recordId"`
		ModelInput json.RawMessage `json:"modelInput"`
	}
	if err := json.Unmarshal(line, &in); err != nil {
		return nil, fmt.Errorf("line %d: not a JSON object: %v", n, err)
	}
	if len(in.ModelInput) == 0 || in.ModelInput[0] != '{' {
		return nil, fmt.Errorf("line %d: modelInput: a JSON object is required", n)
	}
	id := fmt.Sprintf("%011d", n)
	if in.RecordID != nil {
		id = *in.RecordID
	}
	if id == "" {
		return nil, fmt.Errorf("line %d: recordId is empty", n)
	}
	rec := &Record{ID: id, Line: n, Input: in.ModelInput}
	rec.Request, rec.Refused = b.messagesRequest(in.ModelInput)
	return rec, nil
}

// messagesRequest checks modelInput as Bedrock's request validator does
// and makes the Messages request of it: anthropic_beta becomes the betas,
// anthropic_version is dropped (the upstream speaks its own), the model is
// set.
func (b Bedrock) messagesRequest(modelInput []byte) (*claudebridge.Request, error) {
	fields, betas, e := bedrockwire.Envelope(modelInput)
	if e != nil {
		return nil, e
	}
	delete(fields, "anthropic_beta")
	delete(fields, "anthropic_version")
	model := b.Model
	if id, ok := bedrockwire.AnthropicModelID(model); ok {
		model = id
	}
	fields["model"], _ = json.Marshal(model)
	req, err := anthropic.ParseRequest((&claudebridge.Request{Fields: fields}).JSON(), http.Header{}, false)
	if err != nil {
		return nil, err
	}
	for _, beta := range betas {
		if beta != "" && !slices.Contains(req.Betas, beta) {
			req.Betas = append(req.Betas, beta)
		}
	}
	return req, nil
}

func (Bedrock) Line(r Result) []byte {
	type failure struct {
		ErrorCode    int    `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
	}
	out := struct {
		RecordID    string          `json:"recordId"`
		ModelInput  json.RawMessage `json:"modelInput"`
		ModelOutput json.RawMessage `json:"modelOutput,omitempty"`
		Error       *failure        `json:"error,omitempty"`
	}{RecordID: r.Record.ID, ModelInput: r.Record.Input}
	if r.Err != nil {
		e := bedrockfront.AWSError(r.Err)
		out.Error = &failure{ErrorCode: e.Status, ErrorMessage: e.Message}
	} else {
		out.ModelOutput = r.Response.Body
	}
	return marshalLine(out)
}

func (Bedrock) ResultID(line []byte) (string, error) {
	var out struct {
		RecordID    *string         `json:"recordId"`
		ModelOutput json.RawMessage `json:"modelOutput"`
		Error       json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(line, &out); err != nil {
		return "", err
	}
	if out.RecordID == nil || out.ModelOutput == nil && out.Error == nil {
		return "", fmt.Errorf("not a batch inference result: recordId, or both modelOutput and error, missing")
	}
	return *out.RecordID, nil
}
