package bedrockwire

import "encoding/json"

// CountInput is the input of CountTokens: exactly one of an InvokeModel body
// (a blob, base64 on the wire) or a Converse request.
type CountInput struct {
	InvokeModel []byte          // the InvokeModel body, decoded
	Converse    json.RawMessage // the Converse request
}

const msgInputNull = "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must not be null"

// ParseCountInput reads a CountTokens request body.
func ParseCountInput(body []byte) (*CountInput, *Error) {
	var in struct {
		Input struct {
			InvokeModel *struct {
				Body []byte `json:"body"`
			} `json:"invokeModel"`
			Converse json.RawMessage `json:"converse"`
		} `json:"input"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, ValidationError(msgInputNull)
	}
	switch {
	case in.Input.InvokeModel != nil:
		return &CountInput{InvokeModel: in.Input.InvokeModel.Body}, nil
	case len(in.Input.Converse) > 0 && string(in.Input.Converse) != "null":
		return &CountInput{Converse: in.Input.Converse}, nil
	}
	return nil, ValidationError(msgInputNull)
}
