// Package bedrockwire is the server side of the Bedrock runtime's wire, as
// both the Bedrock emulator and the Bedrock front door speak it: errors as
// the SDKs read them, the request validator's checks of an Anthropic
// InvokeModel body, the event-stream frames of the streaming operations,
// the invocation metrics of a stream's last chunk, the input of
// CountTokens, and the Anthropic model id a Bedrock model id names.
package bedrockwire

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Error is an error as an AWS JSON service sends it: an HTTP status, an
// error type the SDKs turn into a typed exception, and a message.
type Error struct {
	Type    string
	Status  int
	Message string
	// Namespace is the coral namespace of X-Amzn-ErrorType; empty means
	// Bedrock's own. Authentication errors come from the AWS front end
	// (CoralNamespace).
	Namespace string
	// UpperMessage writes the message as "Message" rather than "message",
	// as the Bedrock API-key front end does.
	UpperMessage bool
	// RetryAfter, when positive, is sent as Retry-After in seconds.
	RetryAfter int
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// The namespaces of X-Amzn-ErrorType.
const (
	BedrockNamespace = "http://internal.amazon.com/coral/com.amazon.bedrock/"
	CoralNamespace   = "http://internal.amazon.com/coral/com.amazon.coral.service/"
)

// ValidationError is Bedrock's 400 ValidationException.
func ValidationError(msg string) *Error {
	return &Error{Type: "ValidationException", Status: http.StatusBadRequest, Message: msg}
}

// MalformedInput words JSON-schema complaints the way Bedrock's request
// validator does.
func MalformedInput(problems string) *Error {
	return ValidationError("Malformed input request: " + problems + ", please reformat your input and try again.")
}

// Write answers with e as a REST-JSON error: X-Amzn-ErrorType naming the
// type, x-amzn-RequestId when requestID is given, and {"message": ...}.
func (e *Error) Write(w http.ResponseWriter, requestID string) {
	ns := e.Namespace
	if ns == "" {
		ns = BedrockNamespace
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", e.Type+":"+ns)
	if requestID != "" {
		h.Set("X-Amzn-RequestId", requestID)
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	key := "message"
	if e.UpperMessage {
		key = "Message"
	}
	body, _ := json.Marshal(map[string]string{key: e.Message})
	w.WriteHeader(e.Status)
	w.Write(body)
}
