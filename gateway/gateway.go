// Package gateway is the Anthropic Messages API as an http.Handler: client
// auth, CORS, validation, routing to an Upstream and the stream copy.
package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/batches"
	"github.com/claudebridge/claudebridge/internal/httpbody"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/metrics"
	"github.com/claudebridge/claudebridge/pool"
)

// Gateway serves /v1/messages, /v1/messages/count_tokens, /v1/models,
// /healthz and /readyz from one Upstream, and hands the Message Batches
// API to Batches. The zero value of each optional field is a working
// default.
type Gateway struct {
	// Upstream serves every call. Required.
	Upstream claudebridge.Upstream
	// Keys are the client keys; with none the gateway is open.
	Keys *claudebridge.ClientKeys
	// Keyring, when set, replaces Keys: static and virtual keys, the
	// latter with their limits. Upstream must then be wrapped in a
	// limits.Upstream, for calls to count the tokens they really used.
	Keyring *limits.Keyring
	// CORS answers browsers from the allowed origins; nil allows none.
	CORS *CORS
	// PingInterval is the silence after which a stream gets a ping event,
	// before the upstream's first byte too. Default 15 s.
	PingInterval time.Duration
	// ReadTimeout is the longest silence allowed between two upstream
	// events of a stream. Zero means no limit.
	ReadTimeout time.Duration
	// RequestTimeout bounds a whole call, stream included. Zero: no bound.
	RequestTimeout time.Duration
	// Ready reports whether the upstream can take calls (GET /readyz).
	// Nil: the Upstream's own Ready when it is a claudebridge.Readier,
	// else always ready.
	Ready func(context.Context) error
	// Members, when set, lists the members of the upstream pool
	// (UPSTREAMS) with their breaker states, which a ready /readyz names
	// ("upstreams"); a pool that is not ready names them in its error.
	Members func() []pool.MemberState
	// Logger gets one line per call. Nil: slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes is the largest request body taken; a larger one is
	// refused with 413 request_too_large while it is read, before it is
	// held whole. Zero: the Anthropic API's, anthropic.MaxBodyBytes. Over
	// Bedrock it is Bedrock's smaller limit, bedrock.MaxBodyBytes.
	MaxBodyBytes int64
	// Metrics records every Messages and count_tokens call. Nil: none.
	Metrics *metrics.Metrics
	// LogBodies logs each request body at debug level. Default false:
	// no log line holds a prompt.
	LogBodies bool
	// Batches serves the Message Batches API, /v1/messages/batches and
	// the paths under it, once the client key and anthropic-version are
	// checked. Nil: those paths are not found.
	Batches http.Handler

	streams, calls atomic.Int64 // in flight, for InFlight
}

// InFlight returns how many calls are being answered now: streams, and
// the others (non-streaming messages, count_tokens).
//
// A call ends early only when its request's context does: a cause that is
// a *claudebridge.Error (such as EOVERLOADED when the server shuts down)
// is what the client is told, as an error event on a stream that has
// begun, else as the error response.
func (g *Gateway) InFlight() (streams, others int) {
	return int(g.streams.Load()), int(g.calls.Load())
}

// ServeHTTP routes a request. Every response carries a request-id header.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	w.Header().Set("request-id", id)
	if g.CORS != nil && g.CORS.handle(w, r) {
		return
	}
	switch r.URL.Path {
	case "/healthz":
		writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
		return
	case "/readyz":
		g.serveReady(w, r, id)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		anthropic.WriteError(w, claudebridge.Errorf(claudebridge.ENOTFOUND, "Not found: %s %s", r.Method, r.URL.Path), id)
		return
	}
	route := r.Method + " " + r.URL.Path
	key, err := g.checkKey(r)
	if err != nil {
		anthropic.WriteError(w, err, id)
		status := g.log(r, id, metrics.KeyNone, "", http.StatusUnauthorized, time.Now(), err)
		if door, ok := doors[route]; ok {
			g.Metrics.Observe(metrics.Call{Door: door, Status: status, Key: metrics.KeyNone})
		}
		return
	}
	if key != nil && r.Method == http.MethodGet {
		key.State().SetHeaders(w.Header()) // a listing counts against no limit
	}
	if g.Batches != nil && isBatches(r.URL.Path) {
		if err := checkVersion(r.Header); err != nil {
			anthropic.WriteError(w, err, id)
			g.log(r, id, g.keyLabel(key), "", http.StatusBadRequest, time.Now(), err)
			return
		}
		// A batch belongs to the virtual key that made it.
		var owner string
		if key != nil {
			owner = key.Key.Name
		}
		g.Batches.ServeHTTP(w, r.WithContext(batches.WithOwner(r.Context(), owner)))
		return
	}
	if route == "POST /v1/messages" || route == "POST /v1/messages/count_tokens" {
		ctx, dropped := claudebridge.WithDropped(r.Context())
		ctx, _ = claudebridge.WithServedBy(ctx) // the pool names the member that served the call
		r = r.WithContext(ctx)
		w = dropped.Writer(w)
	}
	switch {
	case route == "POST /v1/messages":
		g.serveMessages(w, r, id, key)
	case route == "POST /v1/messages/count_tokens":
		g.serveCountTokens(w, r, id, key)
	case route == "GET /v1/models":
		g.serveModels(w, r, id, key)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/models/"):
		g.serveModel(w, r, id, key, strings.TrimPrefix(r.URL.Path, "/v1/models/"))
	default:
		anthropic.WriteError(w, claudebridge.Errorf(claudebridge.ENOTFOUND, "Not found: %s %s", r.Method, r.URL.Path), id)
	}
}

// isBatches reports whether path is the Message Batches API's.
func isBatches(path string) bool {
	const prefix = "/v1/messages/batches"
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// doors are the routes whose calls are recorded in Metrics.
var doors = map[string]metrics.Door{"POST /v1/messages": metrics.Messages, "POST /v1/messages/count_tokens": metrics.CountTokens}

// readRequest reads and validates a Messages body, within MaxBodyBytes.
func (g *Gateway) readRequest(w http.ResponseWriter, r *http.Request, id string, countTokens bool) (*claudebridge.Request, error) {
	if err := checkHeaders(r.Header); err != nil {
		return nil, err
	}
	limit := g.MaxBodyBytes
	if limit <= 0 {
		limit = anthropic.MaxBodyBytes
	}
	body, err := httpbody.ReadRequest(w, r, limit)
	if err != nil {
		if err == httpbody.ErrTooLarge {
			return nil, claudebridge.Errorf(claudebridge.ETOOLARGE, "Request exceeds the maximum allowed number of bytes (%d)", limit)
		}
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "The request body could not be read")
	}
	if g.LogBodies {
		g.logger().LogAttrs(r.Context(), slog.LevelDebug, "request body", slog.String("request_id", id), slog.String("body", string(body)))
	}
	req, err := anthropic.ParseRequest(body, r.Header, countTokens)
	if err != nil {
		return nil, err
	}
	return req, nil
}

func (g *Gateway) serveMessages(w http.ResponseWriter, r *http.Request, id string, key *limits.Entry) {
	start := time.Now()
	req, err := g.readRequest(w, r, id, false)
	if err != nil {
		anthropic.WriteError(w, err, id)
		g.end(r, id, key, metrics.Call{Door: metrics.Messages}, start, err)
		return
	}
	ticket, err := admit(r.Context(), w, key, req)
	if err != nil {
		anthropic.WriteError(w, err, id)
		g.end(r, id, key, metrics.Call{Door: metrics.Messages, Model: req.Model}, start, err)
		return
	}
	defer ticket.Release()
	ctx, cancel := g.callContext(r.Context())
	defer cancel()
	if ticket != nil {
		ctx = limits.WithTicket(ctx, ticket)
	}
	if req.Stream {
		g.streams.Add(1)
		defer g.streams.Add(-1)
		g.Metrics.StreamOpened(metrics.Messages)
		defer g.Metrics.StreamClosed(metrics.Messages)
		var tally *metrics.Tally
		if g.Metrics != nil {
			tally = &metrics.Tally{Start: start}
		}
		err = g.stream(ctx, w, req, id, tally)
		c := metrics.Call{Door: metrics.Messages, Model: req.Model}
		if tally != nil {
			c.FirstToken, c.Usage = tally.FirstToken, tally.Usage
		}
		g.end(r, id, key, c, start, err)
		return
	}
	g.calls.Add(1)
	defer g.calls.Add(-1)
	resp, err := g.Upstream.Messages(ctx, req)
	if err != nil {
		err = g.callError(ctx, err)
		anthropic.WriteError(w, err, id)
		g.end(r, id, key, metrics.Call{Door: metrics.Messages, Model: req.Model}, start, err)
		return
	}
	writeJSON(w, http.StatusOK, resp.Body)
	g.end(r, id, key, metrics.Call{Door: metrics.Messages, Model: req.Model, Usage: resp.Usage}, start, nil)
}

func (g *Gateway) serveCountTokens(w http.ResponseWriter, r *http.Request, id string, key *limits.Entry) {
	start := time.Now()
	req, err := g.readRequest(w, r, id, true)
	if err == nil {
		err = checkModel(w, key, req.Model)
	}
	if err == nil {
		ctx, cancel := g.callContext(r.Context())
		defer cancel()
		g.calls.Add(1)
		defer g.calls.Add(-1)
		var n *claudebridge.TokenCount
		if n, err = g.Upstream.CountTokens(ctx, req); err == nil {
			if n.Estimated {
				// Marked twice: a header for proxies, a field for code that
				// reads the body; SDKs ignore fields they do not know.
				w.Header().Set("claudebridge-token-count", "estimated")
				writeJSON(w, http.StatusOK, marshal(map[string]any{"input_tokens": n.InputTokens, "estimated": true}))
			} else {
				writeJSON(w, http.StatusOK, marshal(map[string]any{"input_tokens": n.InputTokens}))
			}
			g.end(r, id, key, metrics.Call{Door: metrics.CountTokens, Model: req.Model}, start, nil)
			return
		}
		err = g.callError(ctx, err)
	}
	anthropic.WriteError(w, err, id)
	c := metrics.Call{Door: metrics.CountTokens}
	if req != nil {
		c.Model = req.Model
	}
	g.end(r, id, key, c, start, err)
}

func (g *Gateway) serveReady(w http.ResponseWriter, r *http.Request, id string) {
	ready := g.Ready
	if rd, ok := g.Upstream.(claudebridge.Readier); ok && ready == nil {
		ready = rd.Ready
	}
	if ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			anthropic.WriteError(w, claudebridge.Errorf(claudebridge.EOVERLOADED, "not ready: %s", claudebridge.ErrorMessage(err)), id)
			return
		}
	}
	if g.Members != nil {
		writeJSON(w, http.StatusOK, marshal(map[string]any{"status": "ready", "upstreams": g.Members()}))
		return
	}
	writeJSON(w, http.StatusOK, []byte(`{"status":"ready"}`))
}

func (g *Gateway) callContext(parent context.Context) (context.Context, context.CancelFunc) {
	if g.RequestTimeout > 0 {
		return context.WithTimeout(parent, g.RequestTimeout)
	}
	return context.WithCancel(parent)
}

// end logs a call of the route's door and records it: a 200 without
// err, else err's status; with the client key and the member that served
// it.
func (g *Gateway) end(r *http.Request, id string, key *limits.Entry, c metrics.Call, start time.Time, err error) {
	c.Key = g.keyLabel(key)
	c.Status = g.log(r, id, c.Key, c.Model, http.StatusOK, start, err)
	c.Duration = time.Since(start)
	c.Member = claudebridge.ServedByFrom(r.Context()).Member()
	c.RequestID, c.Caller = id, claudebridge.CallerFrom(r.Context())
	if c.Caller.Key == "" && key != nil {
		c.Caller.Key = key.Key.Name // the ledger's key: a virtual key's name
	}
	g.Metrics.Observe(c)
}

// keyLabel names the client key of a call in logs and metrics, never by
// its secret: the virtual key's name, else "static" when the gateway asks
// for keys, else "none" (metrics.KeyLabel).
func (g *Gateway) keyLabel(key *limits.Entry) string {
	if key != nil {
		return metrics.KeyLabel(key.Key.Name, true)
	}
	keyed := g.Keys != nil
	if g.Keyring != nil {
		keyed = !g.Keyring.Open()
	}
	return metrics.KeyLabel("", keyed)
}

func (g *Gateway) logger() *slog.Logger {
	if g.Logger != nil {
		return g.Logger
	}
	return slog.Default()
}

// log writes a call's line and returns its status: status without err,
// else err's. The line names the client key by its label (keyLabel) and,
// when a pool member served the call, that member.
func (g *Gateway) log(r *http.Request, id, key, model string, status int, start time.Time, err error) int {
	l := g.logger()
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		status, _ = anthropic.Status(claudebridge.ErrorCode(err))
	}
	if !l.Enabled(r.Context(), level) {
		return status
	}
	attrs := []slog.Attr{slog.String("request_id", id), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.String("model", model), slog.Int("status", status),
		slog.Duration("duration", time.Since(start)), slog.String("key", key)}
	if member := claudebridge.ServedByFrom(r.Context()).Member(); member != "" {
		attrs = append(attrs, slog.String("member", member))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", claudebridge.ErrorMessage(err)))
	}
	if d := claudebridge.DroppedFrom(r.Context()).String(); d != "" {
		attrs = append(attrs, slog.String("dropped", d))
	}
	l.LogAttrs(r.Context(), level, "request", attrs...)
	return status
}

// writeJSON sends a complete JSON response and flushes it at once, so that
// the client has it before the access log line is written, within
// clientWriteTimeout.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(clientWriteTimeout))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
	rc.Flush()
}

func marshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
