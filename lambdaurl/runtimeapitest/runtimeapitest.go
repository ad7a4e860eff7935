// Package runtimeapitest is a stand-in of the Lambda Runtime API for
// tests: it hands a function the invocations a test gives it (GET
// /2018-06-01/runtime/invocation/next) and forwards each chunk of a
// streamed answer (POST .../response) to the test as it arrives, with the
// time it arrived, the HTTP integration's prelude (JSON, then 8 NUL bytes)
// parsed apart.
package runtimeapitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// API is the stand-in. Create it with Start.
type API struct {
	// Addr is HOST:PORT, for AWS_LAMBDA_RUNTIME_API.
	Addr string

	srv     *http.Server
	pending chan *invocation

	mu      sync.Mutex
	waiting map[string]*invocation
	n       int
	// InitErrors are the bodies of the init errors posted.
	initErrors [][]byte
}

type invocation struct {
	id     string
	event  []byte
	answer chan *Answer
}

// Answer is one invocation's answer as it streams in.
type Answer struct {
	// Mode is the Lambda-Runtime-Function-Response-Mode header ("" for
	// none), ContentType the POST's content type.
	Mode, ContentType string
	// Status, Header and Cookies are the prelude's, for an HTTP
	// integration answer.
	Status  int
	Header  map[string]string
	Cookies []string
	// Chunks gives each piece of the body as it is read from the
	// connection, then is closed when the body ends.
	Chunks <-chan Chunk
	// Failed is the invocation error posted instead of an answer, if any.
	Failed []byte
	// Trailer holds the POST's trailers once Chunks is closed.
	Trailer http.Header

	hangUp func()
}

// HangUp stops reading the answer and drops its connection, as the
// Runtime API does when the function URL's client has gone away.
func (a *Answer) HangUp() {
	if a.hangUp != nil {
		a.hangUp()
	}
}

// Chunk is a piece of an answer's body and when it arrived.
type Chunk struct {
	Data []byte
	At   time.Time
}

// Start serves the stand-in on a loopback port until Close.
func Start() (*API, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &API{Addr: ln.Addr().String(), pending: make(chan *invocation, 16), waiting: map[string]*invocation{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", a.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", a.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", a.invocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", a.initError)
	a.srv = &http.Server{Handler: mux}
	go a.srv.Serve(ln)
	return a, nil
}

// Close stops the stand-in.
func (a *API) Close() { a.srv.Close() }

// InitErrors are the init errors the function posted.
func (a *API) InitErrors() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.initErrors
}

// Invoke gives the function event and returns its answer once the
// prelude has arrived (or its error), or ctx's error.
func (a *API) Invoke(ctx context.Context, event []byte) (*Answer, error) {
	a.mu.Lock()
	a.n++
	inv := &invocation{id: "req-" + strconv.Itoa(a.n), event: event, answer: make(chan *Answer, 1)}
	a.waiting[inv.id] = inv
	a.mu.Unlock()
	a.pending <- inv
	select {
	case ans := <-inv.answer:
		return ans, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (a *API) next(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-a.pending:
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:claudebridge")
		w.Header().Set("Content-Type", "application/json")
		w.Write(inv.event)
	case <-r.Context().Done():
	}
}

func (a *API) take(id string) *invocation {
	a.mu.Lock()
	defer a.mu.Unlock()
	inv := a.waiting[id]
	delete(a.waiting, id)
	return inv
}

func (a *API) response(w http.ResponseWriter, r *http.Request) {
	inv := a.take(r.PathValue("id"))
	if inv == nil {
		http.Error(w, "no such invocation", http.StatusBadRequest)
		return
	}
	chunks := make(chan Chunk, 1024)
	ans := &Answer{Mode: r.Header.Get("Lambda-Runtime-Function-Response-Mode"), ContentType: r.Header.Get("Content-Type"), Chunks: chunks}
	rc := http.NewResponseController(w)
	ans.hangUp = func() { rc.SetReadDeadline(time.Now()) }
	body := bufio.NewReader(r.Body)
	if ans.ContentType == "application/vnd.awslambda.http-integration-response" {
		if err := readPrelude(body, ans); err != nil {
			ans.Status = -1
			close(chunks)
			inv.answer <- ans
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	inv.answer <- ans
	defer close(chunks)
	buf := make([]byte, 64<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			chunks <- Chunk{Data: bytes.Clone(buf[:n]), At: time.Now()}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			panic(http.ErrAbortHandler) // hung up: the connection is dropped
		}
		if err != nil {
			break
		}
	}
	ans.Trailer = r.Trailer
	w.WriteHeader(http.StatusAccepted)
}

// readPrelude reads the JSON prelude and the 8 NUL bytes after it.
func readPrelude(r *bufio.Reader, ans *Answer) error {
	var prelude []byte
	nuls := 0
	for nuls < 8 {
		c, err := r.ReadByte()
		if err != nil {
			return fmt.Errorf("the prelude: %v", err)
		}
		if c == 0 {
			nuls++
			continue
		}
		if nuls > 0 {
			return fmt.Errorf("the prelude: %d NUL bytes, then more JSON", nuls)
		}
		prelude = append(prelude, c)
	}
	var p struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Cookies    []string          `json:"cookies"`
	}
	if err := json.Unmarshal(prelude, &p); err != nil {
		return fmt.Errorf("the prelude %q: %v", prelude, err)
	}
	ans.Status, ans.Header, ans.Cookies = p.StatusCode, p.Headers, p.Cookies
	return nil
}

func (a *API) invocationError(w http.ResponseWriter, r *http.Request) {
	inv := a.take(r.PathValue("id"))
	body, _ := io.ReadAll(r.Body)
	if inv != nil {
		chunks := make(chan Chunk)
		close(chunks)
		inv.answer <- &Answer{Failed: body, Chunks: chunks}
	}
	w.WriteHeader(http.StatusAccepted)
}

func (a *API) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.initErrors = append(a.initErrors, body)
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}
