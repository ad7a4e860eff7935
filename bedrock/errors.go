package bedrock

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/claudebridge/claudebridge"
)

// codes maps Bedrock exception names to the error vocabulary. Names not
// listed (InternalServerException, ModelErrorException,
// ModelStreamErrorException, anything new) are EINTERNAL.
var codes = map[string]string{
	"ValidationException":                 claudebridge.EINVALID,
	"AccessDeniedException":               claudebridge.EPERMISSION,
	"ResourceNotFoundException":           claudebridge.ENOTFOUND,
	"ThrottlingException":                 claudebridge.ERATELIMIT,
	"ServiceQuotaExceededException":       claudebridge.ERATELIMIT,
	"ServiceUnavailableException":         claudebridge.EOVERLOADED,
	"ModelNotReadyException":              claudebridge.EOVERLOADED,
	"ModelTimeoutException":               claudebridge.ETIMEOUT,
	"UnrecognizedClientException":         claudebridge.EUPSTREAMAUTH, // unknown access key or bad bearer token
	"InvalidSignatureException":           claudebridge.EUPSTREAMAUTH,
	"IncompleteSignatureException":        claudebridge.EUPSTREAMAUTH,
	"MissingAuthenticationTokenException": claudebridge.EUPSTREAMAUTH,
	"ExpiredTokenException":               claudebridge.EUPSTREAMAUTH,
}

// statusCodes maps the HTTP status of an error answer that names no
// exception, by the statuses Bedrock gives its exceptions.
var statusCodes = map[int]string{
	http.StatusBadRequest:            claudebridge.EINVALID,
	http.StatusUnauthorized:          claudebridge.EUPSTREAMAUTH,
	http.StatusForbidden:             claudebridge.EPERMISSION,
	http.StatusNotFound:              claudebridge.ENOTFOUND,
	http.StatusRequestTimeout:        claudebridge.ETIMEOUT,
	http.StatusRequestEntityTooLarge: claudebridge.ETOOLARGE,
	http.StatusTooManyRequests:       claudebridge.ERATELIMIT,
	http.StatusServiceUnavailable:    claudebridge.EOVERLOADED,
}

// modelStatusCode maps the originalStatusCode of a ModelStreamErrorException
// or ModelErrorException, the status the model itself answered with: an
// overloaded (529) or throttled (429) model is not an internal failure.
func modelStatusCode(status int) string {
	if status == 529 {
		return claudebridge.EOVERLOADED
	}
	if c, ok := statusCodes[status]; ok {
		return c
	}
	return claudebridge.EINTERNAL
}

// credentialsMessage is shown when the AWS default chain found no credentials.
// It names where the SDK looked and nothing it found.
const credentialsMessage = "no AWS credentials: the AWS default chain (environment, shared config and credentials files and profiles, SSO, " +
	"container and instance roles, AWS_BEARER_TOKEN_BEDROCK) provided none that work"

// msgInvalidModel is Bedrock's ValidationException for an unknown model id.
const msgInvalidModel = "The provided model identifier is invalid"

// mapError turns an error of the AWS SDK into a *claudebridge.Error: the
// exception's code mapped, its message kept, Status from the HTTP response
// and RetryAfter from a retry-after header. nil stays nil.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var ce *claudebridge.Error
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, context.Canceled) {
		return &claudebridge.Error{Code: claudebridge.ECANCELED, Message: "the request was canceled"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &claudebridge.Error{Code: claudebridge.ETIMEOUT, Message: "Bedrock did not answer in time"}
	}
	// The SDK resolves credentials before it signs: a failure there is
	// "get identity: ..." (no typed error), or a SigningError.
	var se *v4.SigningError
	if errors.As(err, &se) || strings.Contains(err.Error(), "get identity: ") {
		return &claudebridge.Error{Code: claudebridge.EUPSTREAMAUTH, Message: credentialsMessage}
	}
	e := &claudebridge.Error{Code: claudebridge.EINTERNAL}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		e.Status = re.HTTPStatusCode()
		e.RetryAfter = retryAfter(re.Response.Header.Get("Retry-After"))
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if c, ok := codes[ae.ErrorCode()]; ok {
			e.Code = c
		}
		var mse *rttypes.ModelStreamErrorException
		var me *rttypes.ModelErrorException
		switch {
		case errors.As(err, &mse) && mse.OriginalStatusCode != nil:
			e.Code = modelStatusCode(int(*mse.OriginalStatusCode))
		case errors.As(err, &me) && me.OriginalStatusCode != nil:
			e.Code = modelStatusCode(int(*me.OriginalStatusCode))
		}
		e.Message = ae.ErrorMessage()
		if e.Message == "" {
			e.Message = ae.ErrorCode()
		}
		if e.Code == claudebridge.EINVALID {
			e.Code, e.Message = refusedInput(e.Message)
		}
		if strings.Contains(e.Message, msgInvalidModel) {
			// Bedrock says 400 for a model it does not know; the Anthropic
			// API, whose clients these are, says 404 not_found_error.
			e.Code = claudebridge.ENOTFOUND
		}
		return e
	}
	if e.Status != 0 {
		// An HTTP error the SDK could not decode as an exception: a body
		// that is not JSON (a proxy's page, plain text). The exception
		// header, else the status, still says what it is.
		e.Message = "Bedrock answered " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
		kind := re.Response.Header.Get("X-Amzn-ErrorType")
		if i := strings.IndexByte(kind, ':'); i >= 0 {
			kind = kind[:i] // "ThrottlingException:http://internal.amazon.com/..."
		}
		if c, ok := codes[kind]; ok {
			e.Code = c
		} else if c, ok := statusCodes[e.Status]; ok {
			e.Code = c
		}
		return e
	}
	// Dial errors, resets, broken streams: retryable internal failures. The
	// SDK's text names the operation and the endpoint, never a credential.
	e.Message = "cannot reach Bedrock: " + lastLine(err.Error())
	return e
}

// Bedrock's words for an input over the context window, on InvokeModel,
// Converse, their streams and CountTokens: "Input is too long for requested
// model.", "prompt is too long: 208310 tokens > 200000 maximum" (the
// Anthropic API's own, which Bedrock passes on), each also behind "The
// model returned the following errors: ".
var promptTooLong = regexp.MustCompile(`(?i)prompt is too long: (\d+) tokens? > (\d+) maximum`)

const msgInputTooLong = "input is too long for requested model"

// msgBodyTooLarge is Bedrock's refusal of a body over its 25,000,000 bytes:
// "1 validation error detected: Value at 'body' failed to satisfy
// constraint: Member must have length less than or equal to 25000000".
const msgBodyTooLarge = "Member must have length less than or equal to 25000000"

// refusedInput rewrites a ValidationException about the input's size in
// the Anthropic API's terms: a prompt over the context window is
// invalid_request_error "prompt is too long: N tokens > M maximum" (the
// numbers where Bedrock gives them), the text clients such as Claude Code
// act on by compacting and retrying; a body over Bedrock's limit is
// request_too_large. Other messages are returned as they are.
func refusedInput(msg string) (code, message string) {
	if m := promptTooLong.FindStringSubmatch(msg); m != nil {
		return claudebridge.EINVALID, "prompt is too long: " + m[1] + " tokens > " + m[2] + " maximum"
	}
	if strings.Contains(strings.ToLower(msg), msgInputTooLong) {
		return claudebridge.EINVALID, "prompt is too long: the input is over the model's context window (Bedrock: " + strings.TrimSpace(msg) + ")"
	}
	if strings.Contains(msg, msgBodyTooLarge) {
		return claudebridge.ETOOLARGE, fmt.Sprintf("Request exceeds the maximum allowed number of bytes (%d, Bedrock's limit)", MaxBodyBytes)
	}
	return claudebridge.EINVALID, msg
}

// MaxBodyBytes is the largest body InvokeModel takes (its "body" member is
// at most 25,000,000 bytes); the gateway refuses larger ones while reading.
const MaxBodyBytes = 25_000_000

// lastLine keeps the innermost part of the SDK's layered message.
func lastLine(s string) string {
	if i := strings.LastIndex(s, "request send failed, "); i >= 0 {
		return s[i+len("request send failed, "):]
	}
	return s
}

// retryAfter parses a retry-after value: seconds or an HTTP date; 0 if absent
// or unreadable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
