package bedrockemu

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/emulator/sim"

	"github.com/claudebridge/claudebridge"
)

// Error messages Bedrock sends, as reported by its users (see the lead's
// report for where each was found).
const (
	msgInvalidModel      = "The provided model identifier is invalid."
	msgCannotCount       = "The provided model doesn't support counting tokens."
	msgInvalidBeta       = "invalid beta flag"
	msgSamplingExclusive = "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
	msgBadAPIKey         = "Authentication failed: Please make sure your API Key is valid."
	msgInputTooLong      = "Input is too long for requested model."
	msgModelTimeout      = "Model has timed out in processing the request. Try your request again."
)

// onDemandUnsupported is Bedrock's refusal to invoke a base model id that is
// served only through inference profiles. The apostrophe is the typographic
// one Bedrock sends.
func onDemandUnsupported(modelID string) *bedrockwire.Error {
	return bedrockwire.ValidationError("Invocation of model ID " + modelID + " with on-demand throughput isn\u2019t supported. Retry your request with the ID or ARN of an inference profile that contains this model.")
}

// faultError is the error a fault directive asks for, or nil for faults
// that are not a plain error response (reset, cut, stream-error).
func faultError(d sim.Directives) *bedrockwire.Error {
	var e *bedrockwire.Error
	switch d.Fault {
	case "throttle":
		e = &bedrockwire.Error{Type: "ThrottlingException", Status: http.StatusTooManyRequests, Message: "Too many requests, please wait before trying again."}
	case "quota":
		e = &bedrockwire.Error{Type: "ServiceQuotaExceededException", Status: http.StatusBadRequest, Message: "Too many tokens, please wait before trying again."}
	case "overloaded":
		e = &bedrockwire.Error{Type: "ServiceUnavailableException", Status: http.StatusServiceUnavailable, Message: "Bedrock is unable to process your request."}
	case "error":
		e = &bedrockwire.Error{Type: "InternalServerException", Status: http.StatusInternalServerError, Message: "The system encountered an unexpected error during processing. Try your request again."}
	case "not-ready":
		e = &bedrockwire.Error{Type: "ModelNotReadyException", Status: http.StatusTooManyRequests, Message: "Model is not ready to serve inference requests. Try your request again."}
	case "model-timeout":
		e = &bedrockwire.Error{Type: "ModelTimeoutException", Status: http.StatusRequestTimeout, Message: msgModelTimeout}
	case "denied":
		e = &bedrockwire.Error{Type: "AccessDeniedException", Status: http.StatusForbidden, Message: "You don't have access to the model with the specified model ID."}
	case "too-long":
		e = bedrockwire.ValidationError(msgInputTooLong)
	default:
		return nil
	}
	e.RetryAfter = d.RetryAfter
	return e
}

// beforeStreamEvent plays, before event i of a Bedrock stream (InvokeModel
// or Converse), the fault the request asked for at cutAt, or the pause
// between events; false ends the stream.
func beforeStreamEvent(ctx context.Context, fw *bedrockwire.EventWriter, d sim.Directives, i, cutAt int) bool {
	if i == cutAt {
		if d.Fault == "cut" {
			panic(http.ErrAbortHandler)
		}
		fw.Exception(streamExceptionType(d.Fault))
		return false
	}
	return i == 0 || sim.Pause(ctx, d.Delay)
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
	case "model-timeout", "stream-timeout":
		return "modelTimeoutException", msgModelTimeout
	}
	return "modelStreamErrorException", "The model encountered an error while streaming the response."
}

// answerError turns an error of Answer into the ValidationException Bedrock
// sends for a body the model rejects.
func answerError(err error) *bedrockwire.Error {
	var e *claudebridge.Error
	if errors.As(err, &e) && e.Code == claudebridge.EINVALID {
		return bedrockwire.ValidationError(e.Message)
	}
	return &bedrockwire.Error{Type: "InternalServerException", Status: http.StatusInternalServerError, Message: "The system encountered an unexpected error during processing. Try your request again."}
}

// writeJSON11Error writes e as the AWS JSON 1.1 protocol does (Secrets
// Manager): the type in "__type" of the body.
func writeJSON11Error(w http.ResponseWriter, requestID string, e *bedrockwire.Error) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-RequestId", requestID)
	body, _ := json.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	w.WriteHeader(e.Status)
	w.Write(body)
}
