package bedrockfront

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/bedrockwire"
)

// AWSError maps an error of the domain vocabulary to Bedrock's error
// type and status: the one place where codes become Bedrock errors, for
// responses, exception frames and the errors of batch results alike. The
// message is cleaned of what names the deployment (anthropic.CleanMessage),
// as on /v1: an upstream's text may name claudebridge's account, role or
// hosts. The log keeps the original.
func AWSError(err error) *bedrockwire.Error {
	var we *bedrockwire.Error
	if errors.As(err, &we) {
		return we // already Bedrock's own words (the request validator's)
	}
	e := &bedrockwire.Error{Message: anthropic.CleanMessage(claudebridge.ErrorMessage(err))}
	var de *claudebridge.Error
	if errors.As(err, &de) && de.RetryAfter > 0 {
		e.RetryAfter = int((de.RetryAfter + 999_999_999) / 1_000_000_000)
	}
	switch claudebridge.ErrorCode(err) {
	case claudebridge.EINVALID, claudebridge.ETOOLARGE:
		e.Type, e.Status = "ValidationException", http.StatusBadRequest
	case claudebridge.EAUTH:
		e.Type, e.Status = "UnrecognizedClientException", http.StatusForbidden
	case claudebridge.EPERMISSION, claudebridge.EBILLING:
		e.Type, e.Status = "AccessDeniedException", http.StatusForbidden
	case claudebridge.ENOTFOUND:
		e.Type, e.Status = "ResourceNotFoundException", http.StatusNotFound
	case claudebridge.ERATELIMIT:
		e.Type, e.Status = "ThrottlingException", http.StatusTooManyRequests
	case claudebridge.EOVERLOADED:
		e.Type, e.Status = "ServiceUnavailableException", http.StatusServiceUnavailable
	case claudebridge.ETIMEOUT:
		e.Type, e.Status = "ModelTimeoutException", http.StatusRequestTimeout
	default:
		e.Type, e.Status = "InternalServerException", http.StatusInternalServerError
	}
	return e
}

// streamExceptionType is the member of a stream union (ResponseStream for
// InvokeModelWithResponseStream, ConverseStreamOutput for ConverseStream)
// that carries e once a stream has started. Errors with no member of their
// own become internalServerException.
func streamExceptionType(e *bedrockwire.Error, converse bool) string {
	member := strings.ToLower(e.Type[:1]) + e.Type[1:]
	switch member {
	case "internalServerException", "modelStreamErrorException", "validationException",
		"throttlingException", "serviceUnavailableException":
		return member
	case "modelTimeoutException":
		if !converse {
			return member
		}
	}
	return "internalServerException"
}

// fail writes err as the Bedrock error response and returns it.
func (c *call) fail(err error) error {
	err = c.why(err)
	AWSError(err).Write(c.w, "")
	return err
}

// why is err, or the cause the call's context was ended with when that is
// an *Error of its own, such as the server shutting down: the client is
// told that, not the broken read that followed.
func (c *call) why(err error) error {
	var told *claudebridge.Error
	if c.ctx != nil && errors.As(context.Cause(c.ctx), &told) {
		return told
	}
	return err
}
