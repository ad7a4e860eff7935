package claudebridge

import (
	"errors"
	"fmt"
	"time"
)

// Error codes: the one vocabulary used inside claudebridge. Each edge (the
// Anthropic wire, the Bedrock wire) maps them to its own statuses in one place.
const (
	EINVALID = "invalid" // the request is malformed or asks for something impossible
	EAUTH    = "auth"    // no credentials, or wrong ones
	// EUPSTREAMAUTH: the upstream refused claudebridge's own credentials
	// (its AWS credentials, its Anthropic key). Not the client's fault, so
	// never told to the client as an authentication error of its own.
	EUPSTREAMAUTH = "upstream_auth"
	EPERMISSION   = "permission" // credentials are fine but may not do this
	ENOTFOUND     = "not_found"  // no such model, resource or route
	ETOOLARGE     = "too_large"  // the request body is over the limit
	ERATELIMIT    = "rate_limit" // throttled; retry later
	EOVERLOADED   = "overloaded" // the upstream is temporarily unable to serve
	ETIMEOUT      = "timeout"    // the upstream or the model took too long
	EINTERNAL     = "internal"   // anything else: a bug or an upstream 5xx
	EBILLING      = "billing"    // the upstream account cannot pay for this
	ECANCELED     = "canceled"   // the client went away
)

// Error is a failure with a code from the vocabulary above and a message that
// is safe to show to the client. It never carries secrets.
type Error struct {
	Code    string
	Message string

	// RetryAfter is the delay the upstream asked for, if it asked.
	RetryAfter time.Duration
	// Status is the upstream's HTTP status when the error came from one;
	// zero otherwise. The edge may use it to keep 502 apart from 500.
	Status int
}

func (e *Error) Error() string {
	return e.Code + ": " + e.Message
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not an
// *Error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the client-safe message of err. Errors that are not an
// *Error are internal and their text is not shown.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "Internal server error"
	}
}

// Retryable reports whether a call that failed with err may be sent again:
// throttling, overload, timeouts and internal upstream failures.
func Retryable(err error) bool {
	switch ErrorCode(err) {
	case ERATELIMIT, EOVERLOADED, ETIMEOUT, EINTERNAL:
		return true
	}
	return false
}
