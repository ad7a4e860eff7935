package lambdaurl

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/claudebridge/claudebridge/lambdaurl/runtimeapitest"
)

var quiet = slog.New(slog.DiscardHandler)

func event(method, path, query, body string) *events.LambdaFunctionURLRequest {
	ev := &events.LambdaFunctionURLRequest{Version: "2.0", RawPath: path, RawQueryString: query, Body: body,
		Headers: map[string]string{"host": "abc.lambda-url.us-east-1.on.aws", "content-type": "application/json"}}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.HTTP.SourceIP = "203.0.113.7"
	ev.RequestContext.DomainName = "abc.lambda-url.us-east-1.on.aws"
	return ev
}

func TestAFunctionURLEventBecomesTheRequestItDescribes(t *testing.T) {
	ev := event("POST", "/v1/messages", "beta=true", base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)))
	ev.IsBase64Encoded = true
	ev.Headers["x-api-key"] = "k"
	ev.Cookies = []string{"a=1", "b=2"}
	r, err := newRequest(ev)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	for _, c := range []struct{ name, got, want string }{
		{"method", r.Method, "POST"},
		{"path", r.URL.Path, "/v1/messages"},
		{"query", r.URL.Query().Get("beta"), "true"},
		{"request URI", r.RequestURI, "/v1/messages?beta=true"},
		{"host", r.Host, "abc.lambda-url.us-east-1.on.aws"},
		{"host header", r.Header.Get("Host"), ""},
		{"api key", r.Header.Get("X-Api-Key"), "k"},
		{"cookie", r.Header.Get("Cookie"), "a=1; b=2"},
		{"remote address", r.RemoteAddr, "203.0.113.7:0"},
		{"body", string(body), `{"a":1}`},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if got, want := r.ContentLength, int64(7); got != want {
		t.Errorf("content length: got %d, want %d", got, want)
	}
}

func TestAnEscapedPathStaysEscaped(t *testing.T) {
	r, err := newRequest(event("POST", "/model/us.anthropic.claude%3A0/invoke", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.URL.EscapedPath(), "/model/us.anthropic.claude%3A0/invoke"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestABodyThatIsNotBase64IsABadRequest(t *testing.T) {
	ev := event("POST", "/v1/messages", "", "not base64!")
	ev.IsBase64Encoded = true
	ans := Invoke(context.Background(), http.NotFoundHandler(), ev, quiet)
	defer ans.Close()
	if got, want := ans.StatusCode, http.StatusBadRequest; got != want {
		t.Errorf("got %d, want %d", got, want)
	}
}

func TestHeadersAreTakenAtTheFirstFlushAndEachWriteIsOneRead(t *testing.T) {
	second := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Anthropic-Ratelimit-Requests-Limit", "50")
		w.Header().Add("Set-Cookie", "s=1")
		w.WriteHeader(http.StatusCreated)
		w.Header().Set("X-Too-Late", "1") // after WriteHeader: not sent, as with net/http
		w.(http.Flusher).Flush()
		w.Write([]byte("event: one\n\n"))
		<-second
		w.Write([]byte("event: two\n\n"))
	})
	ans := Invoke(context.Background(), h, event("POST", "/v1/messages", "", ""), quiet)
	defer ans.Close()
	if got, want := ans.StatusCode, http.StatusCreated; got != want {
		t.Errorf("status: got %d, want %d", got, want)
	}
	if got, want := ans.Headers["Content-Type"], "text/event-stream"; got != want {
		t.Errorf("content type: got %q, want %q", got, want)
	}
	if got, want := ans.Headers["Anthropic-Ratelimit-Requests-Limit"], "50"; got != want {
		t.Errorf("anthropic header: got %q, want %q", got, want)
	}
	if got, want := ans.Headers["X-Too-Late"], ""; got != want {
		t.Errorf("header set after WriteHeader: got %q, want %q", got, want)
	}
	if got, want := strings.Join(ans.Cookies, ","), "s=1"; got != want {
		t.Errorf("cookies: got %q, want %q", got, want)
	}
	buf := make([]byte, 1024)
	n, err := ans.Body.Read(buf)
	if got, want := string(buf[:n]), "event: one\n\n"; got != want || err != nil {
		t.Errorf("first read: got %q (%v), want %q", got, err, want)
	}
	close(second) // the second event is written only now: the first was read alone
	n, err = ans.Body.Read(buf)
	if got, want := string(buf[:n]), "event: two\n\n"; got != want || err != nil {
		t.Errorf("second read: got %q (%v), want %q", got, err, want)
	}
	if _, err := ans.Body.Read(buf); err != io.EOF {
		t.Errorf("after the handler returned: got %v, want io.EOF", err)
	}
}

func TestAnAnswerWithNoContentTypeIsSniffedAsNetHTTPDoes(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>hi</html>")) })
	ans := Invoke(context.Background(), h, event("GET", "/", "", ""), quiet)
	defer ans.Close()
	if got, want := ans.Headers["Content-Type"], "text/html; charset=utf-8"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := ans.StatusCode, 200; got != want {
		t.Errorf("status: got %d, want %d", got, want)
	}
}

func TestClosingTheAnswerCancelsTheRequestAndWaitsForTheHandler(t *testing.T) {
	returned := make(chan struct{})
	var cause error
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		cause = context.Cause(r.Context())
		if _, err := w.Write([]byte("late")); !errors.Is(err, errClientGone) {
			t.Errorf("write after the client left: got %v, want errClientGone", err)
		}
	})
	ans := Invoke(context.Background(), h, event("GET", "/", "", ""), quiet)
	ans.Close()
	select {
	case <-returned:
	default:
		t.Fatal("Close returned before the handler did")
	}
	if !errors.Is(cause, errClientGone) {
		t.Errorf("the request's context ended by %v, want errClientGone", cause)
	}
}

func TestAWriteNobodyReadsFailsAtItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		result := make(chan error, 1)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.NewResponseController(w).SetWriteDeadline(time.Now().Add(10 * time.Second))
			_, err := w.Write([]byte("never read"))
			result <- err
		})
		ans := Invoke(context.Background(), h, event("GET", "/", "", ""), quiet)
		defer ans.Close()
		if err := <-result; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("got %v, want os.ErrDeadlineExceeded", err)
		}
	})
}

func TestAPanickingHandlerEndsItsAnswerWithAnError(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("part"))
		panic(http.ErrAbortHandler)
	})
	ans := Invoke(context.Background(), h, event("GET", "/", "", ""), quiet)
	defer ans.Close()
	b, err := io.ReadAll(ans.Body)
	if got, want := string(b), "part"; got != want {
		t.Errorf("body: got %q, want %q", got, want)
	}
	if err == nil {
		t.Error("the body ended without an error")
	}
}

func TestServePostsAStreamedAnswerAsTheRuntimeAPIDocumentsIt(t *testing.T) {
	api, err := runtimeapitest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	next := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("event: one\n\n"))
		<-next
		w.Write([]byte("event: two\n\n"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, api.Addr, h, nil, quiet) }()
	defer func() { cancel(); <-served }()

	ev, _ := json.Marshal(event("POST", "/v1/messages", "", "{}"))
	ans, err := api.Invoke(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ans.Mode, "streaming"; got != want {
		t.Errorf("response mode: got %q, want %q", got, want)
	}
	if got, want := ans.ContentType, "application/vnd.awslambda.http-integration-response"; got != want {
		t.Errorf("content type: got %q, want %q", got, want)
	}
	if got, want := ans.Status, 200; got != want {
		t.Errorf("status: got %d, want %d", got, want)
	}
	if got, want := ans.Header["Content-Type"], "text/event-stream"; got != want {
		t.Errorf("answer's content type: got %q, want %q", got, want)
	}
	first := <-ans.Chunks // arrives while the handler waits: streamed, not buffered
	if got, want := string(first.Data), "event: one\n\n"; got != want {
		t.Errorf("first chunk: got %q, want %q", got, want)
	}
	close(next)
	var rest strings.Builder
	for c := range ans.Chunks {
		rest.Write(c.Data)
	}
	if got, want := rest.String(), "event: two\n\n"; got != want {
		t.Errorf("rest: got %q, want %q", got, want)
	}
	if got, want := ans.Trailer.Get("Lambda-Runtime-Function-Error-Type"), ""; got != want {
		t.Errorf("error trailer: got %q, want %q", got, want)
	}
}

func TestAnEventThatIsNotAFunctionURLEventIsAnInvocationError(t *testing.T) {
	api, err := runtimeapitest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, api.Addr, http.NotFoundHandler(), nil, quiet) }()
	defer func() { cancel(); <-served }()
	ans, err := api.Invoke(ctx, []byte(`[1,2]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ans.Failed), "Runtime.UnmarshalError") {
		t.Errorf("got %q, want an UnmarshalError", ans.Failed)
	}
}

func TestARuntimeAPIThatHangsUpEndsTheHandlersRequest(t *testing.T) {
	api, err := runtimeapitest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ended := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("event: one\n\n"))
		<-r.Context().Done() // the upstream call would end here
		ended <- context.Cause(r.Context())
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, api.Addr, h, nil, quiet) }()
	defer func() { cancel(); <-served }()
	ev, _ := json.Marshal(event("POST", "/v1/messages", "", "{}"))
	ans, err := api.Invoke(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	<-ans.Chunks
	ans.HangUp()
	if err := <-ended; !errors.Is(err, errClientGone) {
		t.Errorf("the request ended by %v, want errClientGone", err)
	}
}

func TestAnEventThatIsNotAFunctionURLEventGoesToTheOtherHandlerAndIsAnsweredWhole(t *testing.T) {
	api, err := runtimeapitest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	got := make(chan string, 1)
	other := func(ctx context.Context, event []byte) ([]byte, error) {
		got <- string(event)
		return []byte(`{"statusCode":200}`), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, api.Addr, http.NotFoundHandler(), other, quiet) }()
	defer func() { cancel(); <-served }()
	ws := `{"requestContext":{"routeKey":"$connect","eventType":"CONNECT","connectionId":"abc="}}`
	ans, err := api.Invoke(ctx, []byte(ws))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := <-got, ws; got != want {
		t.Errorf("event handed on: %q, want %q", got, want)
	}
	if got, want := ans.Mode, ""; got != want {
		t.Errorf("response mode %q, want %q (buffered)", got, want)
	}
	var body strings.Builder
	for c := range ans.Chunks {
		body.Write(c.Data)
	}
	if got, want := body.String(), `{"statusCode":200}`; got != want {
		t.Errorf("answer %q, want %q", got, want)
	}
}

func TestAFunctionURLEventStillGoesToTheHTTPHandlerBesideAnOtherHandler(t *testing.T) {
	api, err := runtimeapitest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	other := func(ctx context.Context, event []byte) ([]byte, error) {
		return nil, errors.New("not for me")
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("http")) })
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, api.Addr, h, other, quiet) }()
	defer func() { cancel(); <-served }()
	ev, _ := json.Marshal(event("GET", "/healthz", "", ""))
	ans, err := api.Invoke(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ans.Mode, "streaming"; got != want {
		t.Errorf("response mode %q, want %q", got, want)
	}
}

func TestAnOtherHandlersErrorIsTheInvocationsError(t *testing.T) {
	api, err := runtimeapitest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	other := func(ctx context.Context, event []byte) ([]byte, error) {
		return nil, errors.New("the job could not start")
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, api.Addr, http.NotFoundHandler(), other, quiet) }()
	defer func() { cancel(); <-served }()
	ans, err := api.Invoke(ctx, []byte(`{"job":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ans.Failed), "the job could not start") {
		t.Errorf("invocation error %q, want the handler's", ans.Failed)
	}
}
