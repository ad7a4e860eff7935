package bedrockapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/claudebridge/claudebridge"
)

// awsError is an error as Bedrock sends it: a status, an error type the
// SDKs turn into a typed exception, and a message.
type awsError struct {
	Type    string
	Status  int
	Message string
	// Namespace is the coral namespace of X-Amzn-ErrorType; empty means
	// Bedrock's own. Authentication errors come from the AWS front end.
	Namespace string
	// RetryAfter, when positive, is sent as Retry-After in seconds.
	RetryAfter int
}

const (
	bedrockNamespace = "http://internal.amazon.com/coral/com.amazon.bedrock/"
	coralNamespace   = "http://internal.amazon.com/coral/com.amazon.coral.service/"
)

// toAWSError maps an error of the domain vocabulary to Bedrock's error
// type and status: the one place where codes become Bedrock errors, for
// responses and for exception frames alike.
func toAWSError(err error) *awsError {
	e := &awsError{Message: claudebridge.ErrorMessage(err)}
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
func streamExceptionType(e *awsError, converse bool) string {
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

// writeAWSError writes e as a REST-JSON error: X-Amzn-ErrorType naming the
// type and {"message": ...}. The request id header is already set.
func writeAWSError(w http.ResponseWriter, e *awsError) {
	ns := e.Namespace
	if ns == "" {
		ns = bedrockNamespace
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", e.Type+":"+ns)
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	body, _ := json.Marshal(map[string]string{"message": e.Message})
	w.WriteHeader(e.Status)
	w.Write(body)
}

// fail writes err as the Bedrock error response and returns it.
func (c *call) fail(err error) error {
	writeAWSError(c.w, toAWSError(err))
	return err
}
