// Package anthropicemu is the Anthropic API emulator: /v1/messages (JSON
// and SSE), count_tokens and /v1/models, behind x-api-key or an OAuth
// bearer token, with the API's errors and headers. It answers from sim, the
// simulated Claude.
package anthropicemu

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/emulator/sim"
)

// Options configures the Anthropic API emulator.
type Options struct {
	// APIKeys are the keys accepted in x-api-key or as OAuth bearer tokens.
	// Empty means any non-empty key is accepted.
	APIKeys []string
	// Logger receives one line per request; nil discards. Keys are never
	// logged.
	Logger *slog.Logger
}

// maxAnthropicBody is the API's request size limit, 32 MB.
const maxAnthropicBody = 32 << 20

// anthropicVersions are the anthropic-version values the API accepts.
// The versions current SDKs send: the Go SDK 2023-06-01, the TypeScript SDK
// 1.10 2026-10-21.
var anthropicVersions = map[string]bool{"2023-06-01": true, "2023-01-01": true, "2026-10-21": true}

type anthropicServer struct {
	keys   []string
	log    *slog.Logger
	faults sim.FaultCounter
}

// New returns the Anthropic API emulator: POST /v1/messages (JSON,
// or SSE with stream true, one ping after the first content_block_start as
// the API sends it),
// POST /v1/messages/count_tokens, GET /v1/models (paged with limit,
// after_id, before_id) and GET /v1/models/{id}, for the models of the
// Catalog. It authenticates and reports errors as the API does, every
// response carrying a request-id header, and obeys the Directives of each
// message request: faults with their status and error type, delays that end
// when the client goes away, and cut or failing streams.
func New(opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &anthropicServer{keys: opts.APIKeys, log: log}
}

// anthropicFault is how the Anthropic API reports a fault directive.
type anthropicFault struct {
	status  int
	typ     string
	message string
}

var anthropicFaults = map[string]anthropicFault{
	"throttle":       {http.StatusTooManyRequests, "rate_limit_error", "This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later."},
	"quota":          {http.StatusTooManyRequests, "rate_limit_error", "This request would exceed your organization's rate limit of 400,000 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. Please reduce the prompt length or the maximum tokens requested, or try again later."},
	"overloaded":     {529, "overloaded_error", "Overloaded"},
	"not-ready":      {529, "overloaded_error", "Overloaded"},
	"stream-error":   {529, "overloaded_error", "Overloaded"},
	"error":          {http.StatusInternalServerError, "api_error", "Internal server error"},
	"model-timeout":  {http.StatusGatewayTimeout, "timeout_error", "Request timed out"},
	"stream-timeout": {http.StatusGatewayTimeout, "timeout_error", "Request timed out"},
	"too-long":       {http.StatusBadRequest, "invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"},
	"denied":         {http.StatusForbidden, "permission_error", "Your API key does not have permission to use the specified resource."},
}

// statusOf maps the error vocabulary to the API's status and error type:
// the gateway's mapping, but for timeouts, which the API itself reports as
// its own 504 timeout_error where the gateway says api_error.
func statusOf(code string) (int, string) {
	if code == claudebridge.ETIMEOUT {
		return http.StatusGatewayTimeout, "timeout_error"
	}
	return anthropic.Status(code)
}

// anthropicError is the API's error body.
type anthropicError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

func errorBody(typ, message, requestID string) []byte {
	var e anthropicError
	e.Type = "error"
	e.Error.Type = typ
	e.Error.Message = message
	e.RequestID = requestID
	return sim.MustJSON(e)
}

func writeAnthropicError(w http.ResponseWriter, status int, typ, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorBody(typ, message, w.Header().Get("request-id")))
}

func writeDomainError(w http.ResponseWriter, err error) {
	status, typ := statusOf(claudebridge.ErrorCode(err))
	writeAnthropicError(w, status, typ, claudebridge.ErrorMessage(err))
}

// anthropicRequestID returns a fresh id in the API's style.
func anthropicRequestID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "req_011C" + sim.IDChars(b, "req", 20)
}

// recorder keeps the status for the request log; Unwrap keeps flushing and
// hijacking reachable through http.ResponseController.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *anthropicServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	w = rec
	w.Header().Set("request-id", anthropicRequestID())
	start := time.Now()
	note := s.route(w, r)
	s.log.Info("anthropic emulator", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"request_id", w.Header().Get("request-id"), "note", note, "duration", time.Since(start))
}

// route dispatches a request and returns a short note for the log.
func (s *anthropicServer) route(w http.ResponseWriter, r *http.Request) string {
	path := strings.TrimSuffix(r.URL.Path, "/")
	var handler func(http.ResponseWriter, *http.Request) string
	method := http.MethodGet
	switch {
	case path == "/v1/messages":
		method, handler = http.MethodPost, s.messages
	case path == "/v1/messages/count_tokens":
		method, handler = http.MethodPost, s.countTokens
	case path == "/v1/models":
		handler = s.listModels
	case strings.HasPrefix(path, "/v1/models/") && !strings.Contains(path[len("/v1/models/"):], "/"):
		handler = s.getModel
	default:
		writeAnthropicError(w, http.StatusNotFound, "not_found_error", "Not Found")
		return "no route"
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeAnthropicError(w, http.StatusMethodNotAllowed, "invalid_request_error", "Method Not Allowed")
		return "method"
	}
	if msg := s.authenticate(r); msg != "" {
		writeAnthropicError(w, http.StatusUnauthorized, "authentication_error", msg)
		return "auth"
	}
	switch v := r.Header.Get("anthropic-version"); {
	case v == "":
		writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return "version"
	case !anthropicVersions[v]:
		writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("anthropic-version: %q is not a valid version", v))
		return "version"
	}
	return handler(w, r)
}

// authenticate returns "" when the request carries an accepted key, and the
// API's message otherwise.
func (s *anthropicServer) authenticate(r *http.Request) string {
	if key := r.Header.Get("x-api-key"); key != "" {
		if !s.accepts(key) {
			return "invalid x-api-key"
		}
		return ""
	}
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && token != "" {
		if !s.accepts(token) {
			return "Invalid bearer token"
		}
		return ""
	}
	return "x-api-key header is required"
}

func (s *anthropicServer) accepts(key string) bool {
	if len(s.keys) == 0 {
		return true
	}
	ok := 0
	for _, k := range s.keys {
		ok |= subtle.ConstantTimeCompare([]byte(k), []byte(key))
	}
	return ok == 1
}

// readBody reads a JSON object body and the catalog model it names; it
// writes the error response itself and returns ok false on failure.
func readBody(w http.ResponseWriter, r *http.Request) (body []byte, fields map[string]json.RawMessage, model sim.CatalogModel, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAnthropicBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeAnthropicError(w, http.StatusRequestEntityTooLarge, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
		} else {
			writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "Could not read the request body")
		}
		return nil, nil, model, false
	}
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "There was an error parsing the body of your request: it must be a JSON object")
		return nil, nil, model, false
	}
	raw, present := fields["model"]
	if !present {
		writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "model: Field required")
		return nil, nil, model, false
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "model: Input should be a valid string")
		return nil, nil, model, false
	}
	model, found := sim.LookupModel(id)
	if !found || strings.HasPrefix(id, "anthropic.") || strings.Contains(id, ".anthropic.") {
		writeAnthropicError(w, http.StatusNotFound, "not_found_error", "model: "+id)
		return nil, nil, model, false
	}
	return body, fields, model, true
}

func (s *anthropicServer) countTokens(w http.ResponseWriter, r *http.Request) string {
	_, fields, model, ok := readBody(w, r)
	if !ok {
		return "bad body"
	}
	n, err := sim.CountTokens(model.ID, fields)
	if err != nil {
		writeDomainError(w, err)
		return "invalid"
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"input_tokens":%d}`, n)
	return model.ID
}

func (s *anthropicServer) messages(w http.ResponseWriter, r *http.Request) string {
	body, fields, model, ok := readBody(w, r)
	if !ok {
		return "bad body"
	}
	var stream bool
	if raw := fields["stream"]; sim.Given(raw) {
		_ = json.Unmarshal(raw, &stream) // Answer rejects a non-boolean
	}
	reply, err := sim.Answer(model.ID, fields)
	if err != nil {
		writeDomainError(w, err)
		return "invalid"
	}
	reply.Directives = reply.Directives.For("anthropic")
	d := reply.Directives
	fault := ""
	if s.faults.Fire(sim.RequestKey(model.ID, body), d) {
		fault = d.Fault
	}
	ctx := r.Context()
	if !sim.Pause(ctx, d.FirstDelay) {
		return "client gone"
	}
	switch fault {
	case "":
	case "reset":
		abortConnection(w)
		return "reset"
	case "cut":
		if !stream {
			// The body starts and breaks off, as a dropped connection does.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			msg := reply.Message()
			_, _ = w.Write(msg[:len(msg)/2])
			_ = http.NewResponseController(w).Flush()
			abortConnection(w)
			return "cut"
		}
	case "stream-error", "stream-timeout":
		if !stream {
			s.writeFault(w, fault, d)
			return fault
		}
	default:
		s.writeFault(w, fault, d)
		return fault
	}
	if stream {
		s.writeStream(ctx, w, reply, fault)
		return model.ID + " stream " + fault
	}
	if !sim.Pause(ctx, d.Delay*time.Duration(len(reply.Events()))) {
		return "client gone"
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(reply.Message())
	return model.ID
}

func (s *anthropicServer) writeFault(w http.ResponseWriter, fault string, d sim.Directives) {
	f := anthropicFaults[fault]
	retryAfter := d.RetryAfter
	if retryAfter == 0 && f.status == http.StatusTooManyRequests {
		retryAfter = 1
	}
	if retryAfter > 0 {
		w.Header().Set("retry-after", strconv.Itoa(retryAfter))
	}
	if f.status == http.StatusTooManyRequests || f.status >= 500 {
		w.Header().Set("x-should-retry", "true")
	}
	writeAnthropicError(w, f.status, f.typ, f.message)
}

// writeStream sends the reply's events as SSE, flushing each, with a ping
// after the first content_block_start. A "cut" fault closes the connection after d.Cut
// events (never sending message_stop); "stream-error" (overloaded_error)
// and "stream-timeout" (timeout_error) send an error event there and end
// the stream.
func (s *anthropicServer) writeStream(ctx context.Context, w http.ResponseWriter, reply *sim.Reply, fault string) {
	d := reply.Directives
	events := reply.Events()
	cutAt := sim.CutIndex(fault, d.Cut, len(events))
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	pinged := false
	for i, ev := range events {
		if i == cutAt {
			if fault == "cut" {
				abortConnection(w)
				return
			}
			f := anthropicFaults[fault]
			_, _ = fmt.Fprintf(w, "event: error\ndata: %s\n\n", errorBody(f.typ, f.message, h.Get("request-id")))
			_ = rc.Flush()
			return
		}
		if i > 0 && !sim.Pause(ctx, d.Delay) {
			return
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, ev.Data); err != nil {
			return
		}
		// The API pings once the first block has opened (or right after
		// message_start when there is none).
		if !pinged && (ev.Type == "content_block_start" || ev.Type == "message_start" && len(events) > 1 && events[1].Type != "content_block_start") {
			pinged = true
			_, _ = io.WriteString(w, "event: ping\ndata: {\"type\": \"ping\"}\n\n")
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// abortConnection closes the client's connection without finishing the
// response: an HTTP/1 connection is taken over and closed, others are
// reset by aborting the handler.
func abortConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// modelJSON is one model of the models API.
type modelJSON struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

func toModelJSON(m sim.CatalogModel) modelJSON {
	return modelJSON{Type: "model", ID: m.ID, DisplayName: m.DisplayName, CreatedAt: m.CreatedAt.UTC().Format(time.RFC3339)}
}

func (s *anthropicServer) getModel(w http.ResponseWriter, r *http.Request) string {
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/models/"), "/")
	m, ok := sim.LookupModel(id)
	if !ok || m.ID != id && !slices.Contains(m.Aliases, id) {
		writeAnthropicError(w, http.StatusNotFound, "not_found_error", "model: "+id)
		return "unknown model"
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(sim.MustJSON(toModelJSON(m)))
	return m.ID
}

// listModels pages through the Catalog, newest first: limit (1 to 1000,
// default 20) models after after_id or, with before_id, the ones just
// before it.
func (s *anthropicServer) listModels(w http.ResponseWriter, r *http.Request) string {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "limit: Input should be a valid integer")
			return "limit"
		case n < 1:
			writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "limit: Input should be greater than or equal to 1")
			return "limit"
		case n > 1000:
			writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "limit: Input should be less than or equal to 1000")
			return "limit"
		}
		limit = n
	}
	index := func(id string) int {
		for i, m := range sim.Catalog {
			if m.ID == id {
				return i
			}
		}
		return -1
	}
	from, to := 0, len(sim.Catalog)
	if after := q.Get("after_id"); after != "" {
		i := index(after)
		if i < 0 {
			writeAnthropicError(w, http.StatusNotFound, "not_found_error", "model: "+after)
			return "after_id"
		}
		from = i + 1
	}
	if before := q.Get("before_id"); before != "" {
		i := index(before)
		if i < 0 {
			writeAnthropicError(w, http.StatusNotFound, "not_found_error", "model: "+before)
			return "before_id"
		}
		to = i
	}
	hasMore := false
	if from < to && to-from > limit {
		hasMore = true
		if q.Get("before_id") != "" && q.Get("after_id") == "" {
			from = to - limit
		} else {
			to = from + limit
		}
	}
	page := struct {
		Data    []modelJSON `json:"data"`
		HasMore bool        `json:"has_more"`
		FirstID *string     `json:"first_id"`
		LastID  *string     `json:"last_id"`
	}{Data: []modelJSON{}, HasMore: hasMore}
	for i := from; i < to; i++ {
		page.Data = append(page.Data, toModelJSON(sim.Catalog[i]))
	}
	if n := len(page.Data); n > 0 {
		page.FirstID, page.LastID = &page.Data[0].ID, &page.Data[n-1].ID
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(sim.MustJSON(page))
	return "models"
}
