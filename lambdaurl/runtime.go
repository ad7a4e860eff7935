package lambdaurl

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// The Runtime API's names (docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
const (
	apiVersion         = "2018-06-01"
	headerRequestID    = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline     = "Lambda-Runtime-Deadline-Ms"
	headerResponseMode = "Lambda-Runtime-Function-Response-Mode"
	headerErrorType    = "Lambda-Runtime-Function-Error-Type"
	trailerErrorType   = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody   = "Lambda-Runtime-Function-Error-Body"
)

// EventHandler answers an invocation whose event is not a Function URL
// event (an API Gateway WebSocket event, the function's own asynchronous
// invocation): its answer is posted whole, as JSON, and an error is the
// invocation's error. ctx ends at the invocation's deadline.
type EventHandler func(ctx context.Context, event []byte) ([]byte, error)

// Serve takes invocations from the Runtime API at api (the
// AWS_LAMBDA_RUNTIME_API variable, HOST:PORT), one at a time, and answers
// each Function URL event with h through Invoke, and every other event
// with other (nil: such an event is an invocation error), until ctx ends
// or the API cannot be reached. An answer the API stops reading (the
// client went away) ends that invocation only.
func Serve(ctx context.Context, api string, h http.Handler, other EventHandler, log *slog.Logger) error {
	rt := NewRuntime(api)
	for {
		inv, err := rt.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		// Decoded once: a Function URL event carries the request's body,
		// up to 6 MB. API Gateway's WebSocket events and the function's
		// own jobs have no requestContext.http.
		var ev events.LambdaFunctionURLRequest
		decodeErr := json.Unmarshal(inv.event, &ev)
		if other != nil && decodeErr == nil && ev.RequestContext.HTTP.Method == "" {
			err = rt.answer(ctx, inv, other)
		} else {
			err = rt.serve(ctx, inv, &ev, decodeErr, h, log)
		}
		if err != nil {
			log.Warn("lambda: answer not delivered", "request_id", inv.id, "err", err)
		}
	}
}

// answer answers one invocation with h, buffered: the whole answer in one
// POST, or the invocation's error.
func (rt *Runtime) answer(ctx context.Context, inv *invocation, h EventHandler) error {
	if !inv.deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, inv.deadline)
		defer cancel()
	}
	out, err := h(ctx, inv.event)
	if err != nil {
		return rt.postError(context.WithoutCancel(ctx), rt.base+"invocation/"+inv.id+"/error", "Function.Error", err)
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, rt.base+"invocation/"+inv.id+"/response", bytes.NewReader(out))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := rt.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("the response: status %d", resp.StatusCode)
	}
	return nil
}

// Runtime is a client of the Lambda Runtime API.
type Runtime struct {
	base   string
	client *http.Client
}

// NewRuntime returns a client of the Runtime API at api (HOST:PORT). Its
// calls go straight there, whatever proxy the environment names.
func NewRuntime(api string) *Runtime {
	return &Runtime{
		base:   "http://" + api + "/" + apiVersion + "/runtime/",
		client: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, DialContext: dialWatched}},
	}
}

// InitError tells the Runtime API that the function could not start, with
// err's text; Lambda then reports the failure and ends the environment.
func (rt *Runtime) InitError(ctx context.Context, err error) error {
	return rt.postError(ctx, rt.base+"init/error", "Runtime.InitError", err)
}

type invocation struct {
	id       string
	deadline time.Time
	event    []byte
}

// next waits for the next invocation.
func (rt *Runtime) next(ctx context.Context) (*invocation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rt.base+"invocation/next", nil)
	if err != nil {
		return nil, err
	}
	resp, err := rt.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the next invocation: %w", err)
	}
	defer resp.Body.Close()
	event, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("the next invocation: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the next invocation: status %d", resp.StatusCode)
	}
	inv := &invocation{id: resp.Header.Get(headerRequestID), event: event}
	if ms, err := strconv.ParseInt(resp.Header.Get(headerDeadline), 10, 64); err == nil {
		inv.deadline = time.UnixMilli(ms)
	}
	return inv, nil
}

// serve answers one invocation: a Function URL event streamed back, or,
// for an event that is none, an invocation error.
func (rt *Runtime) serve(ctx context.Context, inv *invocation, ev *events.LambdaFunctionURLRequest, decodeErr error, h http.Handler, log *slog.Logger) error {
	if !inv.deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, inv.deadline)
		defer cancel()
	}
	if decodeErr != nil {
		return rt.postError(ctx, rt.base+"invocation/"+inv.id+"/error", "Runtime.UnmarshalError",
			fmt.Errorf("not a Function URL event: %v", decodeErr))
	}
	answer := Invoke(ctx, h, ev, log)
	defer answer.Close()
	b := &failingBody{r: answer, trailer: http.Header{trailerErrorType: nil, trailerErrorBody: nil}}
	// When the Runtime API drops the connection (the client went away),
	// net/http closes it but waits for the body's Read to return before
	// Do does: the handler's writes are stopped then, and Read returns.
	served := make(chan struct{})
	defer close(served)
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if c, ok := info.Conn.(*watchedConn); ok {
			go func() {
				select {
				case <-c.closed:
					answer.Body.(*body).stop()
				case <-served:
				}
			}()
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, rt.base+"invocation/"+inv.id+"/response", b)
	if err != nil {
		return err
	}
	req.ContentLength = -1 // chunked: each of the handler's writes is one chunk, flushed
	req.Header.Set("Content-Type", answer.ContentType())
	req.Header.Set(headerResponseMode, "streaming")
	req.Trailer = b.trailer
	resp, err := rt.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("the response: status %d", resp.StatusCode)
	}
	return nil
}

// watchedConn is a connection that says when it is closed.
type watchedConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *watchedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func dialWatched(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &watchedConn{Conn: c, closed: make(chan struct{})}, nil
}

// failingBody reads r; an error other than io.EOF ends the body with the
// Runtime API's error trailers, so that the invocation is reported failed
// after the part already streamed.
type failingBody struct {
	r       io.Reader
	trailer http.Header
}

func (b *failingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.trailer.Set(trailerErrorType, "Runtime.StreamError")
		b.trailer.Set(trailerErrorBody, base64.StdEncoding.EncodeToString(errorJSON("Runtime.StreamError", err)))
		return n, io.EOF
	}
	return n, err
}

func errorJSON(typ string, err error) []byte {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{err.Error(), typ})
	return b
}

func (rt *Runtime) postError(ctx context.Context, url, typ string, err error) error {
	req, rerr := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(errorJSON(typ, err)))
	if rerr != nil {
		return rerr
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(headerErrorType, typ)
	resp, rerr := rt.client.Do(req)
	if rerr != nil {
		return rerr
	}
	resp.Body.Close()
	return nil
}
