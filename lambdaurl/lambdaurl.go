// Package lambdaurl runs an http.Handler as an AWS Lambda function behind
// a Function URL in RESPONSE_STREAM mode: each invocation's Function URL
// event (payload format 2.0) becomes an *http.Request for the handler, and
// what the handler writes streams back through the Lambda Runtime API as
// it is written.
//
// The answer is an events.LambdaFunctionURLStreamingResponse of
// aws-lambda-go: the HTTP integration's prelude (a JSON object with
// statusCode, headers and cookies, then 8 NUL bytes), then the body. It is
// posted with the headers the Runtime API documents for a streamed
// response (Lambda-Runtime-Function-Response-Mode: streaming, chunked),
// each Write of the handler one chunk, sent before the Write returns.
// aws-lambda-go's own loop (lambda.Start, v1.55.1) posts that response
// without the response-mode header, which the Runtime API then takes for a
// buffered answer; hence the loop of this package (Serve). Events of other
// sources (API Gateway's WebSocket routes, the function's own asynchronous
// invocations) go to an EventHandler beside h, answered buffered.
package lambdaurl

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Invoke serves one Function URL event with h and returns its answer as
// soon as the status and headers are final: when h first writes or
// flushes, or returns. The body then streams what h writes, each Write one
// Read. h's request context is ctx's (ended at the invocation's
// deadline), and ends too when the answer's body is closed: the Runtime
// API stopped reading it, the client is gone. Close returns once h has
// returned, so that what h does on its way out (the ledger's row) is done
// before the next invocation, and before Lambda may freeze the process.
func Invoke(ctx context.Context, h http.Handler, ev *events.LambdaFunctionURLRequest, log *slog.Logger) *events.LambdaFunctionURLStreamingResponse {
	req, err := newRequest(ev)
	if err != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, err.Error(), http.StatusBadRequest)
		})
		req, _ = http.NewRequest(http.MethodGet, "/", nil)
	}
	reqCtx, cancel := context.WithCancelCause(ctx)
	w := newWriter()
	go func() {
		var failed error
		defer func() { w.finish(failed) }()
		defer func() {
			// As net/http does: a panic ends this answer, not the process.
			if p := recover(); p != nil {
				failed = fmt.Errorf("handler panicked: %v", p)
				if p != http.ErrAbortHandler {
					log.Error("lambda: handler panicked", "path", req.URL.Path, "panic", p)
				}
			}
		}()
		h.ServeHTTP(w, req.WithContext(reqCtx))
	}()
	<-w.committed
	headers, cookies := w.headers()
	return &events.LambdaFunctionURLStreamingResponse{
		StatusCode: w.status,
		Headers:    headers,
		Cookies:    cookies,
		Body:       &body{w: w, cancel: cancel, ctx: ctx},
	}
}

// body is an answer's body as the Runtime API's POST reads it.
type body struct {
	w      *writer
	cancel context.CancelCauseFunc
	ctx    context.Context
}

func (b *body) Read(p []byte) (int, error) { return b.w.read(p) }

// stop ends the handler's request context and its writes: a Read waiting
// for the next write returns.
func (b *body) stop() {
	b.cancel(errClientGone)
	b.w.stopReading()
}

// Close ends the handler's request context and its writes, and waits for
// it to return (at most until the invocation's deadline).
func (b *body) Close() error {
	b.stop()
	select {
	case <-b.w.done:
	case <-b.ctx.Done():
	}
	return nil
}

// newRequest is the request a Function URL event carries. The function URL
// gives each header once, several values joined by commas, and the
// cookies apart; the client's address is the event's source IP.
func newRequest(ev *events.LambdaFunctionURLRequest) (*http.Request, error) {
	payload := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if payload, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("the function URL's body is not base64: %v", err)
		}
	}
	target := ev.RawPath
	if target == "" {
		target = "/"
	}
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("the function URL's path %q: %v", ev.RawPath, err)
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	header := make(http.Header, len(ev.Headers)+1)
	for name, value := range ev.Headers {
		header.Set(name, value)
	}
	if len(ev.Cookies) > 0 {
		header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	host := header.Get("Host")
	header.Del("Host") // net/http's server keeps it in Request.Host only
	if host == "" {
		host = ev.RequestContext.DomainName
	}
	r := &http.Request{
		Method:        method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Host:          host,
		RequestURI:    target,
		ContentLength: int64(len(payload)),
		Body:          http.NoBody,
	}
	if len(payload) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(payload))
	}
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	return r, nil
}
