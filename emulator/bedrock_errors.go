package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/claudebridge/claudebridge"
)

// awsError is an error as an AWS JSON service sends it: an HTTP status, an
// error type the SDKs turn into a typed exception, and a message.
type awsError struct {
	Type    string
	Status  int
	Message string
	// Namespace is the coral namespace of X-Amzn-ErrorType; empty means
	// Bedrock's own (com.amazon.bedrock). Authentication errors come from
	// the AWS front end (com.amazon.coral.service).
	Namespace string
	// UpperMessage writes the message as "Message" rather than "message",
	// as the Bedrock API-key front end does.
	UpperMessage bool
	// RetryAfter, when positive, is sent as Retry-After in seconds.
	RetryAfter int
}

func (e *awsError) Error() string { return e.Type + ": " + e.Message }

const (
	bedrockNamespace = "http://internal.amazon.com/coral/com.amazon.bedrock/"
	coralNamespace   = "http://internal.amazon.com/coral/com.amazon.coral.service/"
)

// Error messages Bedrock sends, as reported by its users (see the lead's
// report for where each was found).
const (
	msgInvalidModel      = "The provided model identifier is invalid."
	msgCannotCount       = "The provided model doesn't support counting tokens."
	msgInvalidBeta       = "invalid beta flag"
	msgSamplingExclusive = "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
	msgBadAPIKey         = "Authentication failed: Please make sure your API Key is valid."
)

func validationError(msg string) *awsError {
	return &awsError{Type: "ValidationException", Status: http.StatusBadRequest, Message: msg}
}

// malformedInput wraps JSON-schema complaints the way Bedrock's request
// validator words them.
func malformedInput(problems string) *awsError {
	return validationError("Malformed input request: " + problems + ", please reformat your input and try again.")
}

// onDemandUnsupported is Bedrock's refusal to invoke a base model id that is
// served only through inference profiles. The apostrophe is the typographic
// one Bedrock sends.
func onDemandUnsupported(modelID string) *awsError {
	return validationError("Invocation of model ID " + modelID + " with on-demand throughput isn\u2019t supported. Retry your request with the ID or ARN of an inference profile that contains this model.")
}

// faultError is the error a fault directive asks for, or nil for faults
// that are not a plain error response (reset, cut, stream-error).
func faultError(d Directives) *awsError {
	var e *awsError
	switch d.Fault {
	case "throttle":
		e = &awsError{Type: "ThrottlingException", Status: http.StatusTooManyRequests, Message: "Too many requests, please wait before trying again."}
	case "quota":
		e = &awsError{Type: "ServiceQuotaExceededException", Status: http.StatusBadRequest, Message: "Too many tokens, please wait before trying again."}
	case "overloaded":
		e = &awsError{Type: "ServiceUnavailableException", Status: http.StatusServiceUnavailable, Message: "Bedrock is unable to process your request."}
	case "error":
		e = &awsError{Type: "InternalServerException", Status: http.StatusInternalServerError, Message: "The system encountered an unexpected error during processing. Try your request again."}
	case "not-ready":
		e = &awsError{Type: "ModelNotReadyException", Status: http.StatusTooManyRequests, Message: "Model is not ready to serve inference requests. Try your request again."}
	case "model-timeout":
		e = &awsError{Type: "ModelTimeoutException", Status: http.StatusRequestTimeout, Message: "Model has timed out in processing the request. Try your request again."}
	case "denied":
		e = &awsError{Type: "AccessDeniedException", Status: http.StatusForbidden, Message: "You don't have access to the model with the specified model ID."}
	default:
		return nil
	}
	e.RetryAfter = d.RetryAfter
	return e
}

// streamExceptionType is the exception frame a fault becomes once a stream
// has started; the names are the members of the ResponseStream union.
func streamExceptionType(fault string) (exceptionType, message string) {
	switch fault {
	case "throttle":
		return "throttlingException", "Too many requests, please wait before trying again."
	case "overloaded":
		return "serviceUnavailableException", "Bedrock is unable to process your request."
	case "error":
		return "internalServerException", "The system encountered an unexpected error during processing. Try your request again."
	case "model-timeout":
		return "modelTimeoutException", "Model has timed out in processing the request. Try your request again."
	}
	return "modelStreamErrorException", "The model encountered an error while streaming the response."
}

// answerError turns an error of Answer into the ValidationException Bedrock
// sends for a body the model rejects.
func answerError(err error) *awsError {
	var e *claudebridge.Error
	if errors.As(err, &e) && e.Code == claudebridge.EINVALID {
		return validationError(e.Message)
	}
	return &awsError{Type: "InternalServerException", Status: http.StatusInternalServerError, Message: "The system encountered an unexpected error during processing. Try your request again."}
}

// writeAWSError writes e as a REST-JSON error: X-Amzn-ErrorType naming the
// type, x-amzn-RequestId, and {"message": ...}.
func writeAWSError(w http.ResponseWriter, requestID string, e *awsError) {
	ns := e.Namespace
	if ns == "" {
		ns = bedrockNamespace
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", e.Type+":"+ns)
	h.Set("X-Amzn-RequestId", requestID)
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

// writeJSON11Error writes e as the AWS JSON 1.1 protocol does (Secrets
// Manager): the type in "__type" of the body.
func writeJSON11Error(w http.ResponseWriter, requestID string, e *awsError) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-RequestId", requestID)
	body, _ := json.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	w.WriteHeader(e.Status)
	w.Write(body)
}
