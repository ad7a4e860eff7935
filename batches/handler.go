// Package batches is the Message Batches API on serve: the HTTP handler of
// /v1/messages/batches (create, retrieve, list, cancel, delete, results)
// and the Scheduler that runs the batches in the background with the batch
// command's runner (package batch), through serve's upstream. Batches,
// their requests and their results live in a claudebridge.BatchService, so
// that they survive a restart.
//
// Objects are the API's: message_batch (request_counts other than
// processing stay 0 until the batch ends, as the API documents),
// message_batch_deleted, a page of batches ({data, has_more, first_id,
// last_id}, newest first) and the results as JSONL (application/x-jsonl),
// kept 29 days as in the API (Scheduler.KeepResults), then archived.
// As in the API, a request's params are checked when it runs, not when the
// batch is made: params that are no Messages body become errored results.
package batches

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/batch"
	"github.com/claudebridge/claudebridge/internal/httpbody"
)

// The API's limits on one batch.
const (
	MaxRequests  = 100_000
	MaxBodyBytes = 256 << 20
)

// Prefix is the path of the API; a batch's is Prefix + "/" + its id.
const Prefix = "/v1/messages/batches"

// Handler serves the Message Batches API under Prefix. It does not check
// client keys or anthropic-version: the gateway does, before it hands a
// request here, saying which virtual key made it (WithOwner). A batch
// belongs to the key that made it: the others are not told it exists
// (not found), and a static key or none sees only the batches made
// without a virtual key.
type Handler struct {
	// Store holds the batches. Required.
	Store claudebridge.BatchService
	// Scheduler runs them; told of each new and canceled batch. Required.
	Scheduler *Scheduler
	// Logger gets one line per call. Nil: slog.Default().
	Logger *slog.Logger
	// Now is the clock, for tests. Nil: time.Now.
	Now func() time.Time
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// ServeHTTP routes a request under Prefix. The error responses carry the
// request-id header the gateway set, if any.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	var err error
	switch id, action, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/"); {
	case !ok || (rest != "" && !strings.HasPrefix(rest, "/")):
		err = notFound(r)
	case rest == "" && r.Method == http.MethodPost:
		err = h.create(w, r)
	case rest == "" && r.Method == http.MethodGet:
		err = h.list(w, r)
	case id == "" || strings.Contains(action, "/"):
		err = notFound(r)
	case action == "" && r.Method == http.MethodGet:
		err = h.retrieve(w, r, id)
	case action == "" && r.Method == http.MethodDelete:
		err = h.delete(w, r, id)
	case action == "cancel" && r.Method == http.MethodPost:
		err = h.cancel(w, r, id)
	case action == "results" && r.Method == http.MethodGet:
		err = h.results(w, r, id)
	default:
		err = notFound(r)
	}
	if err != nil && err != errWritten {
		anthropic.WriteError(w, err, w.Header().Get("request-id"))
	}
	h.log(r, w.Header().Get("request-id"), start, err)
}

type ownerKey struct{}

// WithOwner returns ctx saying that the call is made with the virtual key
// named keyName; "" for a static key or none, as without WithOwner.
func WithOwner(ctx context.Context, keyName string) context.Context {
	return context.WithValue(ctx, ownerKey{}, keyName)
}

// Owner is the key name WithOwner put in ctx; "" without one.
func Owner(ctx context.Context) string {
	name, _ := ctx.Value(ownerKey{}).(string)
	return name
}

func owner(r *http.Request) string { return Owner(r.Context()) }

// batch returns the batch id of r's key; ENOTFOUND also when another key
// made it, as the API answers for another workspace's batch.
func (h *Handler) batch(r *http.Request, id string) (*claudebridge.Batch, error) {
	b, err := h.Store.Batch(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if b.KeyName != owner(r) {
		return nil, claudebridge.Errorf(claudebridge.ENOTFOUND, "message batch %s: not found", id)
	}
	return b, nil
}

// errWritten says the answer was begun, so an error cannot be sent.
var errWritten = fmt.Errorf("batches: the answer was begun")

func notFound(r *http.Request) error {
	return claudebridge.Errorf(claudebridge.ENOTFOUND, "Not found: %s %s", r.Method, r.URL.Path)
}

func (h *Handler) log(r *http.Request, id string, start time.Time, err error) {
	status, level := http.StatusOK, slog.LevelInfo
	attrs := []slog.Attr{slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path)}
	if name := owner(r); name != "" {
		attrs = append(attrs, slog.String("key", name))
	}
	if err != nil && err != errWritten {
		status, _ = anthropic.Status(claudebridge.ErrorCode(err))
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", claudebridge.ErrorMessage(err)))
	}
	attrs = append(attrs, slog.Int("status", status), slog.Duration("duration", time.Since(start)))
	h.logger().LogAttrs(r.Context(), level, "request", attrs...)
}

func invalid(format string, args ...any) error {
	return claudebridge.Errorf(claudebridge.EINVALID, format, args...)
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) error {
	body, err := httpbody.ReadRequest(w, r, MaxBodyBytes)
	if err == httpbody.ErrTooLarge {
		return claudebridge.Errorf(claudebridge.ETOOLARGE, "Request exceeds the maximum allowed number of bytes (%d): a Message Batch is at most 256 MB", MaxBodyBytes)
	}
	if err != nil {
		return invalid("The request body could not be read")
	}
	requests, err := parseCreate(body)
	if err != nil {
		return err
	}
	b := &claudebridge.Batch{Betas: anthropic.Betas(r.Header), KeyName: owner(r)}
	if err := h.Store.CreateBatch(r.Context(), b, requests); err != nil {
		return err
	}
	h.Scheduler.Wake()
	writeJSON(w, marshal(h.wire(r, b)))
	return nil
}

// parseCreate reads the body of a create call: {"requests":[{"custom_id",
// "params"}, ...]}, 1 to MaxRequests of them, each custom_id unique and as
// the API allows, each params an object (checked as a Messages body only
// when it runs).
func parseCreate(body []byte) ([]claudebridge.BatchRequest, error) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, invalid("The request body is not valid JSON: %v", err)
	}
	for k := range in {
		if k != "requests" {
			return nil, invalid("%s: Extra inputs are not permitted", k)
		}
	}
	raw, ok := in["requests"]
	if !ok {
		return nil, invalid("requests: Field required")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, invalid("requests: Input should be a valid list")
	}
	switch {
	case len(list) == 0:
		return nil, invalid("requests: List should have at least 1 item after validation, not 0")
	case len(list) > MaxRequests:
		return nil, invalid("requests: a Message Batch holds at most %d requests, not %d", MaxRequests, len(list))
	}
	requests := make([]claudebridge.BatchRequest, len(list))
	first := make(map[string]int, len(list))
	for i, item := range list {
		var req struct {
			CustomID *string         `json:"custom_id"`
			Params   json.RawMessage `json:"params"`
		}
		if err := json.Unmarshal(item, &req); err != nil {
			return nil, invalid("requests.%d: Input should be an object with custom_id (a string) and params", i)
		}
		if req.CustomID == nil {
			return nil, invalid("requests.%d.custom_id: Field required", i)
		}
		if err := batch.CheckCustomID(*req.CustomID); err != nil {
			return nil, invalid("requests.%d.%v", i, err)
		}
		if j, dup := first[*req.CustomID]; dup {
			return nil, invalid("requests.%d.custom_id: %q is also the custom_id of requests.%d: each must be unique within a batch", i, *req.CustomID, j)
		}
		first[*req.CustomID] = i
		params := bytes.TrimSpace(req.Params)
		if len(params) == 0 || params[0] != '{' {
			return nil, invalid("requests.%d.params: Input should be a valid object", i)
		}
		requests[i] = claudebridge.BatchRequest{CustomID: *req.CustomID, Params: params}
	}
	return requests, nil
}

func (h *Handler) retrieve(w http.ResponseWriter, r *http.Request, id string) error {
	b, err := h.batch(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, marshal(h.wire(r, b)))
	return nil
}

// list answers a page of batches, newest first: limit (1 to 1000, default
// 20) after after_id or before before_id, as the API pages.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := 20
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return invalid("limit: Input should be an integer from 1 to 1000")
		}
		limit = n
	}
	before, after := q.Get("before_id"), q.Get("after_id")
	if before != "" && after != "" {
		return invalid("before_id and after_id: give at most one of them")
	}
	list, more, err := h.Store.Batches(r.Context(), owner(r), before, after, limit)
	if err != nil {
		return err
	}
	page := struct {
		Data    []wireBatch `json:"data"`
		HasMore bool        `json:"has_more"`
		FirstID *string     `json:"first_id"`
		LastID  *string     `json:"last_id"`
	}{Data: make([]wireBatch, len(list)), HasMore: more}
	for i := range list {
		page.Data[i] = h.wire(r, &list[i])
	}
	if len(list) > 0 {
		page.FirstID, page.LastID = &list[0].ID, &list[len(list)-1].ID
	}
	writeJSON(w, marshal(page))
	return nil
}

func (h *Handler) cancel(w http.ResponseWriter, r *http.Request, id string) error {
	if _, err := h.batch(r, id); err != nil {
		return err
	}
	b, err := h.Store.CancelBatch(r.Context(), id, h.now())
	if err != nil {
		return err
	}
	if b.Status == claudebridge.BatchCanceling {
		h.Scheduler.Cancel(id)
	}
	writeJSON(w, marshal(h.wire(r, b)))
	return nil
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, id string) error {
	if _, err := h.batch(r, id); err != nil {
		return err
	}
	if err := h.Store.DeleteBatch(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, marshal(map[string]string{"id": id, "type": "message_batch_deleted"}))
	return nil
}

// results streams the results of an ended batch as JSONL, one result a
// line, in the order of the requests.
func (h *Handler) results(w http.ResponseWriter, r *http.Request, id string) error {
	b, err := h.batch(r, id)
	if err != nil {
		return err
	}
	if b.Status != claudebridge.BatchEnded {
		return invalid("Message Batch %s has not ended (processing_status %s): its results are ready once it has", id, b.Status)
	}
	if !b.ArchivedAt.IsZero() {
		return claudebridge.Errorf(claudebridge.ENOTFOUND, "The results of Message Batch %s were removed when it was archived, at %s", id, timestamp(b.ArchivedAt))
	}
	w.Header().Set("Content-Type", "application/x-jsonl")
	rc := http.NewResponseController(w)
	begun := false
	err = h.Store.BatchResults(r.Context(), id, func(line []byte) error {
		rc.SetWriteDeadline(time.Now().Add(time.Minute))
		begun = true
		if _, err := w.Write(line); err != nil {
			return err
		}
		_, err := w.Write([]byte("\n"))
		return err
	})
	if err != nil && begun {
		return errWritten // the client sees a cut answer
	}
	return err
}

// wireBatch is a message_batch object, its fields in the API's order.
type wireBatch struct {
	ID                string     `json:"id"`
	Type              string     `json:"type"`
	ProcessingStatus  string     `json:"processing_status"`
	RequestCounts     wireCounts `json:"request_counts"`
	EndedAt           *string    `json:"ended_at"`
	CreatedAt         string     `json:"created_at"`
	ExpiresAt         string     `json:"expires_at"`
	ArchivedAt        *string    `json:"archived_at"`
	CancelInitiatedAt *string    `json:"cancel_initiated_at"`
	ResultsURL        *string    `json:"results_url"`
}

type wireCounts struct {
	Processing int `json:"processing"`
	Succeeded  int `json:"succeeded"`
	Errored    int `json:"errored"`
	Canceled   int `json:"canceled"`
	Expired    int `json:"expired"`
}

// wire is b as the API shows it. Until b ends every request counts as
// processing, as the API documents; then the results_url is the address
// of its results on the host the client called.
func (h *Handler) wire(r *http.Request, b *claudebridge.Batch) wireBatch {
	out := wireBatch{ID: b.ID, Type: "message_batch", ProcessingStatus: b.Status,
		CreatedAt: timestamp(b.CreatedAt), ExpiresAt: timestamp(b.ExpiresAt)}
	c := b.Counts
	if b.Status == claudebridge.BatchEnded {
		out.RequestCounts = wireCounts{Processing: c.Processing, Succeeded: c.Succeeded, Errored: c.Errored, Canceled: c.Canceled, Expired: c.Expired}
		out.EndedAt = optional(b.EndedAt)
		url := origin(r) + Prefix + "/" + b.ID + "/results"
		out.ResultsURL = &url
	} else {
		out.RequestCounts.Processing = c.Processing + c.Succeeded + c.Errored + c.Canceled + c.Expired
	}
	out.CancelInitiatedAt = optional(b.CancelInitiatedAt)
	out.ArchivedAt = optional(b.ArchivedAt)
	return out
}

// timestamp is t as the API writes times: RFC 3339, UTC, microseconds.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func optional(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timestamp(t)
	return &s
}

// origin is the scheme and host the client called: https behind TLS or a
// proxy that says so (X-Forwarded-Proto), else http.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func marshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// writeJSON sends a complete JSON answer, 200, within a minute.
func writeJSON(w http.ResponseWriter, body []byte) {
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(time.Minute))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
