// Package anthropicapi is the claudebridge.Upstream for the Anthropic API
// itself: request bodies go out as the client sent them, streams come back
// byte for byte.
package anthropicapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/internal/httpbody"
	"github.com/claudebridge/claudebridge/internal/redact"
)

// DefaultBaseURL is the public Anthropic API.
const DefaultBaseURL = "https://api.anthropic.com"

// DefaultVersion is the anthropic-version sent when the client sent none.
const DefaultVersion = "2023-06-01"

// Options configure an Upstream.
type Options struct {
	// BaseURL is the API's address without /v1 (ANTHROPIC_BASE_URL);
	// default DefaultBaseURL. A trailing slash is ignored.
	BaseURL string
	// Key gives the x-api-key; required.
	Key KeySource
	// Transport makes the calls; serve passes its one tuned upstream
	// transport. Nil means http.DefaultTransport's settings with room for
	// 256 idle connections to the API (its own keeps 2: concurrent streams
	// over HTTP/1.1 would each dial anew). There is no overall timeout
	// (streams are long; the caller's context bounds a call) and no
	// redirect: the API sends none, so calls skip http.Client, which copies
	// every header for redirects.
	Transport http.RoundTripper
	// Logger gets upstream failures, with request ids and causes but never
	// the key. Nil means slog.Default().
	Logger *slog.Logger
}

// Upstream serves Messages calls from the Anthropic API. It adds the key and
// the version and beta headers, and retries nothing but a call refused with
// 401 after the key was fetched anew: retries are the caller's.
type Upstream struct {
	base   string
	keys   KeySource
	client http.RoundTripper
	log    *slog.Logger

	modelsPage int // models asked for per page of GET /v1/models
}

var _ claudebridge.Upstream = (*Upstream)(nil)

// New returns an Upstream with opts.
func New(opts Options) *Upstream {
	u := &Upstream{
		base:   strings.TrimSuffix(opts.BaseURL, "/"),
		keys:   opts.Key,
		client: opts.Transport,
		log:    opts.Logger,

		modelsPage: modelsPageSize,
	}
	if u.base == "" {
		u.base = DefaultBaseURL
	}
	if u.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 256
		u.client = t
	}
	if u.log == nil {
		u.log = slog.Default()
	}
	return u
}

// Messages sends r to POST /v1/messages as a non-streaming call (a request
// marked Stream goes with "stream": false). The response body is the API's,
// unchanged.
func (u *Upstream) Messages(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
	if r.Stream {
		r = r.Clone()
		r.SetField("stream", json.RawMessage("false"))
	}
	resp, err := u.call(ctx, http.MethodPost, "/v1/messages", r)
	if err != nil {
		return nil, err
	}
	body, err := httpbody.Read(resp.Body, resp.ContentLength, httpbody.MaxUpstreamBytes)
	resp.Body.Close()
	if err == httpbody.ErrTooLarge {
		u.log.Warn("anthropic api: answer too large", "request_id", resp.Header.Get("Request-Id"), "content_length", resp.ContentLength)
		return nil, &claudebridge.Error{Code: claudebridge.EINTERNAL, Status: http.StatusBadGateway,
			Message: fmt.Sprintf("The Anthropic API's answer is larger than the %d MB accepted", httpbody.MaxUpstreamBytes>>20)}
	}
	if err != nil {
		u.log.Warn("anthropic api: reading response", "err", err)
		return nil, transportError(ctx, err)
	}
	usage, ok := anthropic.CheckedUsageOf(body)
	if !ok {
		u.log.Warn("anthropic api: response is not JSON", "request_id", resp.Header.Get("Request-Id"))
		return nil, claudebridge.Errorf(claudebridge.EINTERNAL, "The Anthropic API sent a response that is not JSON")
	}
	return &claudebridge.Response{Body: body, Usage: usage}, nil
}

// CountTokens sends r to POST /v1/messages/count_tokens. The API counts every
// model it serves, so the count is never an estimate. The fields of a
// Messages call that count_tokens refuses ("max_tokens: Extra inputs are not
// permitted") and that do not change the count are left out, so that a
// Messages request can be counted as it is.
func (u *Upstream) CountTokens(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
	cloned := false
	for _, name := range notCounted {
		if _, ok := r.Fields[name]; ok {
			if !cloned {
				r, cloned = r.Clone(), true
			}
			r.SetField(name, nil)
		}
	}
	resp, err := u.call(ctx, http.MethodPost, "/v1/messages/count_tokens", r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var c struct {
		InputTokens *int `json:"input_tokens"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, httpbody.MaxUpstreamBytes)).Decode(&c); err != nil || c.InputTokens == nil {
		u.log.Warn("anthropic api: count_tokens answer unreadable", "request_id", resp.Header.Get("Request-Id"), "err", err)
		return nil, claudebridge.Errorf(claudebridge.EINTERNAL, "The Anthropic API sent an unreadable token count")
	}
	return &claudebridge.TokenCount{InputTokens: *c.InputTokens}, nil
}

// notCounted are the Messages fields that count_tokens does not take.
var notCounted = []string{"max_tokens", "stream"}

// call sends r's body (Request.JSON: the client's bytes unless a field was
// changed) with the headers the API wants, and returns a 2xx response. Any
// other answer becomes an *Error; a 401 is tried once more if the key source
// then gives a different key.
func (u *Upstream) call(ctx context.Context, method, path string, r *claudebridge.Request) (*http.Response, error) {
	var body []byte
	if r != nil {
		body = r.JSON()
	}
	key, err := u.keys.Key(ctx)
	if err != nil {
		return nil, u.keyError(err)
	}
	resp, err := u.send(ctx, method, path, body, r, key)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		refused := responseError(resp)
		fresh, err := u.keys.Refresh(ctx)
		if err != nil {
			u.log.Error("anthropic api: key refused and could not be fetched again", "err", err)
			return nil, refused
		}
		if fresh == key {
			u.logError(resp, refused)
			return nil, refused
		}
		u.log.Info("anthropic api: key refused; trying once more with the key fetched again")
		if resp, err = u.send(ctx, method, path, body, r, fresh); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode/100 != 2 {
		e := responseError(resp)
		u.logError(resp, e)
		return nil, e
	}
	return resp, nil
}

// send makes one HTTP call.
func (u *Upstream) send(ctx context.Context, method, path string, body []byte, r *claudebridge.Request, key string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.base+path, rd)
	if err != nil {
		// The error repeats the URL, which may hold a user and password.
		u.log.Error("anthropic api: bad base URL", "base_url", redact.URL(u.base))
		return nil, claudebridge.Errorf(claudebridge.EINTERNAL, "The Anthropic API address is misconfigured")
	}
	h := req.Header
	h["X-Api-Key"] = []string{key}
	version := DefaultVersion
	if r != nil && r.Version != "" {
		version = r.Version
	}
	h["Anthropic-Version"] = []string{version}
	if r != nil && len(r.Betas) > 0 {
		h["Anthropic-Beta"] = []string{strings.Join(r.Betas, ",")}
	}
	if body != nil {
		h["Content-Type"] = []string{"application/json"}
	}
	resp, err := u.client.RoundTrip(req)
	if err != nil {
		e := transportError(ctx, err)
		if e.Code != claudebridge.ECANCELED {
			u.log.Warn("anthropic api: call failed", "path", path, "err", err)
		}
		return nil, e
	}
	return resp, nil
}

// keyError hides why the key could not be had from the client: the cause
// names secrets and AWS failures, which are the operator's business.
// Ready loads the API key (from Secrets Manager, when it comes from there).
func (u *Upstream) Ready(ctx context.Context) error {
	if _, err := u.keys.Key(ctx); err != nil {
		return u.keyError(err)
	}
	return nil
}

func (u *Upstream) keyError(err error) *claudebridge.Error {
	u.log.Error("anthropic api: no API key", "err", err)
	return claudebridge.Errorf(claudebridge.EINTERNAL, "The gateway could not get its Anthropic API key")
}

func (u *Upstream) logError(resp *http.Response, e *claudebridge.Error) {
	u.log.Info("anthropic api: error answer", "status", e.Status, "code", e.Code,
		"message", e.Message, "request_id", resp.Header.Get("Request-Id"))
}
