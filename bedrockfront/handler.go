// Package bedrockfront is the Bedrock front door: the Bedrock runtime API
// (/model/*) as an http.Handler, served
// by any claudebridge.Upstream: code written for boto3 or an AWS SDK sets
// its endpoint to claudebridge and reaches the Anthropic API (or Bedrock, or
// the emulator) unchanged.
//
// Operations: POST /model/{modelId}/invoke (InvokeModel),
// /invoke-with-response-stream, /converse, /converse-stream and
// /count-tokens, with Bedrock's wire: Anthropic Messages bodies with
// anthropic_version "bedrock-2023-05-31" for InvokeModel, the Converse JSON
// for Converse (translated by package converse), AWS event-stream framing
// for streams, and errors as X-Amzn-ErrorType with {"message": ...}.
package bedrockfront

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/internal/httpbody"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/metrics"
)

// Options configure the handler. The zero value of each optional field is
// a working default.
type Options struct {
	// Upstream serves every call. Required.
	Upstream claudebridge.Upstream
	// Keys are the client keys accepted as Bedrock API keys
	// ("Authorization: Bearer <key>", what the AWS SDKs send for
	// AWS_BEARER_TOKEN_BEDROCK).
	Keys *claudebridge.ClientKeys
	// AccessKeys maps AWS access key ids to secret access keys: SigV4
	// signatures (service "bedrock", any region) are verified against them.
	// With neither Keys nor AccessKeys the front door is open and any
	// request, signed or not, is served.
	AccessKeys map[string]string
	// Keyring, when set, replaces Keys: static and virtual keys, the
	// latter with their model lists and limits (AccessDeniedException,
	// ThrottlingException). Upstream must then be a limits.Upstream, for
	// calls to count the tokens they really used.
	Keyring *limits.Keyring
	// RequestTimeout bounds a whole call, stream included. Zero: no bound.
	RequestTimeout time.Duration
	// Logger gets one line per call. Nil: slog.Default().
	Logger *slog.Logger
	// Now is the clock SigV4 signatures are checked against; nil is time.Now.
	Now func() time.Time
	// AllowUnsignedPayload accepts SigV4 requests whose signature does not
	// cover the body (x-amz-content-sha256: UNSIGNED-PAYLOAD). Default
	// false: the AWS SDKs sign the body's hash.
	AllowUnsignedPayload bool
	// Metrics records every call of an operation. Nil: none.
	Metrics *metrics.Metrics
	// LogBodies logs each request body at debug level. Default false: no
	// log line holds a prompt.
	LogBodies bool
}

// Handler serves the Bedrock runtime operations. Create it with New.
type Handler struct {
	opts Options
	auth auth
	log  *slog.Logger
}

// New returns the handler for opts.
func New(opts Options) *Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Handler{opts: opts, auth: newAuth(opts.Keys, opts.Keyring, opts.AccessKeys, opts.Now, opts.AllowUnsignedPayload), log: log}
}

// maxBody is the largest request body accepted, the Messages API's limit.
const maxBody = anthropic.MaxBodyBytes

// call is one request being served.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	ctx       context.Context
	requestID string
	// modelID is the id from the path; model the Anthropic id it maps to.
	modelID, model string
	body           []byte
	start          time.Time
	// dropped is what the upstream left out of the request.
	dropped *claudebridge.Dropped
	// tally has the stream's first token and usage, or the answer's usage.
	tally metrics.Tally
}

// ServeHTTP authenticates the request and routes it by operation. Every
// response carries X-Amzn-RequestId.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, requestID: newRequestID(), start: time.Now()}
	c.tally.Start = c.start
	w.Header().Set("X-Amzn-RequestId", c.requestID)
	modelID, operation, ok := route(r)
	door, recorded := doors[operation]
	// The client is checked before its body is read, as far as the head
	// allows; a signature over the body is finished once it is read.
	sig, key, e := h.auth.checkHead(r)
	if e != nil {
		h.refused(c, e)
		if ok && recorded {
			h.opts.Metrics.Observe(metrics.Call{Door: door, Status: e.Status, Duration: time.Since(c.start)})
		}
		return
	}
	body, err := httpbody.ReadRequest(w, r, maxBody)
	if err != nil {
		c.fail(claudebridge.Errorf(claudebridge.ETOOLARGE, "Input is too long for requested model."))
		return
	}
	c.body = body
	if h.opts.LogBodies {
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "bedrock front door: request body", slog.String("request_id", c.requestID), slog.String("body", string(body)))
	}
	if e := h.auth.checkBody(sig, body); e != nil {
		h.refused(c, e)
		if ok && recorded {
			h.opts.Metrics.Observe(metrics.Call{Door: door, Status: e.Status, Duration: time.Since(c.start)})
		}
		return
	}
	if !ok || r.Method != http.MethodPost {
		(&bedrockwire.Error{Type: "UnknownOperationException", Status: http.StatusNotFound, Message: "Unknown operation"}).Write(w, "")
		return
	}
	c.modelID, c.model = modelID, anthropicModelID(modelID)
	// What the upstream leaves out of the request is told to the client and
	// the log, as on /v1.
	ctx, dropped := claudebridge.WithDropped(r.Context())
	c.dropped = dropped
	c.w = dropped.Writer(w)
	ticket, err := admit(r.Context(), key, operation, c.model, body)
	if err != nil {
		err = c.fail(err)
		h.logCall(c, operation, err)
		h.opts.Metrics.Observe(metrics.Call{Door: door, Model: c.model, Status: statusOf(err), Duration: time.Since(c.start), Key: h.keyLabel(key),
			RequestID: c.requestID, Caller: callerOf(r.Context(), key)})
		return
	}
	defer ticket.Release()
	ctx, cancel := h.callContext(ctx)
	defer cancel()
	if ticket != nil {
		ctx = limits.WithTicket(ctx, ticket)
	}
	ctx, served := claudebridge.WithServedBy(ctx) // the pool names the member that served the call
	c.ctx = ctx
	var callErr error
	switch operation {
	case "invoke":
		callErr = h.invoke(c, false)
	case "invoke-with-response-stream":
		callErr = h.invoke(c, true)
	case "converse":
		callErr = h.converse(c, false)
	case "converse-stream":
		callErr = h.converse(c, true)
	case "count-tokens":
		callErr = h.countTokens(c)
	default:
		(&bedrockwire.Error{Type: "UnknownOperationException", Status: http.StatusNotFound, Message: "Unknown operation"}).Write(c.w, "")
		return
	}
	h.logCall(c, operation, callErr)
	h.opts.Metrics.Observe(metrics.Call{Door: door, Model: c.model, Status: statusOf(callErr), Duration: time.Since(c.start),
		FirstToken: c.tally.FirstToken, Usage: c.tally.Usage, Key: h.keyLabel(key), Member: served.Member(),
		RequestID: c.requestID, Caller: callerOf(r.Context(), key)})
}

// keyLabel names the client key of a call in the metrics, never by its
// secret: the virtual key's name, else "static" (API keys, SigV4
// credentials) when the door asks for one, else "none".
func (h *Handler) keyLabel(key *limits.Entry) string {
	if key != nil {
		return metrics.KeyLabel(key.Key.Name, true)
	}
	return metrics.KeyLabel("", !h.auth.open())
}

// callerOf is who made the call, for the ledger: the context's caller, or
// the virtual key's name.
func callerOf(ctx context.Context, key *limits.Entry) claudebridge.Caller {
	c := claudebridge.CallerFrom(ctx)
	if c.Key == "" && key != nil {
		c.Key = key.Key.Name
	}
	return c
}

// doors are the doors of the operations, as Metrics records them.
var doors = map[string]metrics.Door{
	"invoke": metrics.BedrockInvoke, "invoke-with-response-stream": metrics.BedrockInvoke,
	"converse": metrics.BedrockConverse, "converse-stream": metrics.BedrockConverse,
	"count-tokens": metrics.BedrockCountTokens,
}

// statusOf is the status of a call that ended with err: 200 without, 499
// when the client went away, else the Bedrock error's (a stream's error
// after it began included).
func statusOf(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case isCanceled(err):
		return 499
	}
	return AWSError(err).Status
}

// route splits /model/{modelId}/{operation}. The model id is unescaped
// after the split, so an ARN sent with %2F stays one segment.
func route(r *http.Request) (modelID, operation string, ok bool) {
	parts := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	if len(parts) != 3 || parts[0] != "model" {
		return "", "", false
	}
	id, err := url.PathUnescape(parts[1])
	if err != nil || id == "" {
		return "", "", false
	}
	return id, parts[2], true
}

// anthropicModelID is the model id sent to the upstream for a Bedrock model
// id: a Claude model's Bedrock id, profile id or ARN becomes its Anthropic
// id (by bedrockwire.AnthropicModelID); any other id (an Anthropic id,
// another vendor's model) goes as it is.
func anthropicModelID(modelID string) string {
	if id, ok := bedrockwire.AnthropicModelID(modelID); ok {
		return id
	}
	return modelID
}

func (h *Handler) callContext(parent context.Context) (context.Context, context.CancelFunc) {
	if h.opts.RequestTimeout > 0 {
		return context.WithTimeout(parent, h.opts.RequestTimeout)
	}
	return context.WithCancel(parent)
}

// answerWriteTimeout bounds the write of a whole non-streaming answer: a
// client that stops reading is dropped rather than holding the handler.
const answerWriteTimeout = time.Minute

// writeJSON sends a complete JSON answer within answerWriteTimeout.
func (c *call) writeJSON(body []byte) {
	rc := http.NewResponseController(c.w)
	rc.SetWriteDeadline(time.Now().Add(answerWriteTimeout))
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Write(body)
	rc.Flush()
}

func (h *Handler) refused(c *call, e *bedrockwire.Error) {
	h.log.Info("bedrock front door: refused", "request_id", c.requestID, "path", c.r.URL.Path, "error", e.Type)
	e.Write(c.w, "")
}

func (h *Handler) logCall(c *call, operation string, err error) {
	attrs := []slog.Attr{slog.String("request_id", c.requestID), slog.String("operation", operation),
		slog.String("model", c.modelID), slog.Duration("duration", time.Since(c.start))}
	if d := c.dropped.String(); d != "" {
		attrs = append(attrs, slog.String("dropped", d))
	}
	if err != nil && !isCanceled(err) {
		attrs = append(attrs, slog.String("error", claudebridge.ErrorMessage(err)))
		h.log.LogAttrs(c.r.Context(), slog.LevelWarn, "bedrock front door", attrs...)
		return
	}
	h.log.LogAttrs(c.r.Context(), slog.LevelInfo, "bedrock front door", attrs...)
}

// newRequestID makes an id in the form of AWS request ids (a UUID).
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
