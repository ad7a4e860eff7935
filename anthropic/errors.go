package anthropic

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/claudebridge/claudebridge"
)

// Status returns the HTTP status and the Anthropic error type for a
// claudebridge error code. It is the one place where the vocabulary meets the
// Anthropic wire.
func Status(code string) (status int, errorType string) {
	switch code {
	case claudebridge.EINVALID:
		return http.StatusBadRequest, "invalid_request_error"
	case claudebridge.EAUTH:
		return http.StatusUnauthorized, "authentication_error"
	case claudebridge.EUPSTREAMAUTH:
		return http.StatusBadGateway, "api_error"
	case claudebridge.EBILLING:
		return http.StatusPaymentRequired, "billing_error"
	case claudebridge.EPERMISSION:
		return http.StatusForbidden, "permission_error"
	case claudebridge.ENOTFOUND:
		return http.StatusNotFound, "not_found_error"
	case claudebridge.ETOOLARGE:
		return http.StatusRequestEntityTooLarge, "request_too_large"
	case claudebridge.ERATELIMIT:
		return http.StatusTooManyRequests, "rate_limit_error"
	case claudebridge.EOVERLOADED:
		return 529, "overloaded_error"
	case claudebridge.ETIMEOUT:
		return http.StatusGatewayTimeout, "timeout_error"
	case claudebridge.ECANCELED:
		return 499, "api_error"
	}
	return http.StatusInternalServerError, "api_error"
}

// Code is the inverse of Status: the claudebridge code for an Anthropic error
// type, as upstreams that speak this wire report them.
func Code(errorType string) string {
	switch errorType {
	case "invalid_request_error":
		return claudebridge.EINVALID
	case "authentication_error":
		return claudebridge.EAUTH
	case "billing_error":
		return claudebridge.EBILLING
	case "permission_error":
		return claudebridge.EPERMISSION
	case "not_found_error":
		return claudebridge.ENOTFOUND
	case "request_too_large":
		return claudebridge.ETOOLARGE
	case "rate_limit_error":
		return claudebridge.ERATELIMIT
	case "overloaded_error":
		return claudebridge.EOVERLOADED
	case "timeout_error":
		return claudebridge.ETIMEOUT
	}
	return claudebridge.EINTERNAL
}

type errorBody struct {
	Type      string      `json:"type"`
	Error     errorDetail `json:"error"`
	RequestID string      `json:"request_id,omitempty"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// ErrorJSON returns the Anthropic error body for err:
// {"type":"error","error":{"type":...,"message":...},"request_id":...}.
// It is also the data of an SSE error event. The message is cleaned of
// what names the deployment (CleanMessage): the log keeps the original.
func ErrorJSON(err error, requestID string) []byte {
	_, typ := Status(claudebridge.ErrorCode(err))
	b, _ := json.Marshal(errorBody{
		Type:      "error",
		Error:     errorDetail{Type: typ, Message: CleanMessage(claudebridge.ErrorMessage(err))},
		RequestID: requestID,
	})
	return b
}

// WriteError answers with err in the Anthropic shape and its status. A
// retry-after header is passed on when the upstream asked for one.
func WriteError(w http.ResponseWriter, err error, requestID string) {
	status, _ := Status(claudebridge.ErrorCode(err))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e, ok := err.(*claudebridge.Error); ok && e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+999_999_999)/1e9)))
	}
	w.WriteHeader(status)
	w.Write(ErrorJSON(err, requestID))
}
