package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// leanServer serves h on a loopback listener, POSTs under /lean/ lean.
func leanServer(t *testing.T, h http.Handler, tune func(*Server)) (*Server, string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := new(atomic.Int32)
	s := &Server{
		Handler:  h,
		Fallback: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)},
		Lean: func(method, path string) bool {
			return method == http.MethodPost && strings.HasPrefix(path, "/lean/")
		},
	}
	if tune != nil {
		tune(s)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(countingListener{ln, accepted}) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return s, ln.Addr().String(), accepted
}

type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// whoServed answers which server took the request: "lean" or net/http's
// "HTTP/1.1" / "HTTP/2.0", with the body it read.
func whoServed(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	who := r.Proto
	if _, ok := w.(http.Hijacker); !ok && r.ProtoMajor == 1 {
		who = "lean"
	}
	fmt.Fprintf(w, "%s %s %s %s", who, r.Method, r.URL.Path, body)
}

// dial opens a client connection that the test closes, with a deadline.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// exchange writes raw bytes on a new connection and reads n responses.
func exchange(t *testing.T, addr, raw string, n int) ([]*http.Response, []string) {
	t.Helper()
	c := dial(t, addr)
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var resps []*http.Response
	var bodies []string
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", len(resps)+1, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("body %d: %v", len(resps)+1, err)
		}
		resps = append(resps, resp)
		bodies = append(bodies, string(b))
	}
	return resps, bodies
}

func rawPost(path, body string, headers ...string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n%s", path, len(body), strings.Join(headers, ""), body)
}

func TestLeanAndFallbackOnOneConnection(t *testing.T) {
	_, addr, _ := leanServer(t, http.HandlerFunc(whoServed), nil)
	// Pipelined: a lean request, then one net/http must serve; the second
	// is handed over with the bytes already read.
	raw := rawPost("/lean/a", "one") + rawPost("/lean/b?x=1", "two") + "GET /other HTTP/1.1\r\nHost: x\r\n\r\n" + rawPost("/lean/c", "three")
	resps, bodies := exchange(t, addr, raw, 4)
	want := []string{"lean POST /lean/a one", "lean POST /lean/b two", "HTTP/1.1 GET /other ", "HTTP/1.1 POST /lean/c three"}
	for i := range want {
		if bodies[i] != want[i] {
			t.Errorf("response %d: %q, want %q", i+1, bodies[i], want[i])
		}
	}
	if resps[0].ContentLength != int64(len(want[0])) || resps[0].Header.Get("Date") == "" ||
		resps[0].Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("lean head: length %d, header %v", resps[0].ContentLength, resps[0].Header)
	}
}

func TestKeepAliveAndChunkedRequestBody(t *testing.T) {
	_, addr, accepted := leanServer(t, http.HandlerFunc(whoServed), nil)
	client := &http.Client{Transport: &http.Transport{}}
	for i := range 5 {
		// A reader of unknown length is sent chunked.
		body := io.MultiReader(strings.NewReader("part "), strings.NewReader(fmt.Sprint(i)))
		resp, err := client.Post("http://"+addr+"/lean/k", "text/plain", body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("lean POST /lean/k part %d", i); string(b) != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("%d connections for 5 requests, want 1", n)
	}
}

func TestStreamIsFlushedAndChunked(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: one\n\n")
		http.NewResponseController(w).Flush()
		<-release
		io.WriteString(w, "event: two\n\n")
	})
	_, addr, _ := leanServer(t, h, nil)
	resp, err := http.Post("http://"+addr+"/lean/s", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("transfer encoding %v, want chunked", resp.TransferEncoding)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "event: one\n" {
		t.Fatalf("first event before the handler ends: %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\nevent: two\n\n" {
		t.Errorf("rest %q", rest)
	}
}

func TestWritesBetweenFlushesMakeOneChunk(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, ev := range []string{"event: a\n\n", "event: b\n\n", "event: c\n\n"} {
			io.WriteString(w, ev)
		}
		http.NewResponseController(w).Flush()
		io.WriteString(w, "event: d\n\n")
		io.WriteString(w, strings.Repeat("x", 5000)) // over a chunk's bound: its own chunk
	})
	_, addr, _ := leanServer(t, h, nil)
	c := dial(t, addr)
	io.WriteString(c, rawPost("/lean/s", "", "Connection: close\r\n"))
	raw, _ := io.ReadAll(c)
	_, body, _ := strings.Cut(string(raw), "\r\n\r\n")
	want := "1e\r\nevent: a\n\nevent: b\n\nevent: c\n\n\r\n" + "a\r\nevent: d\n\n\r\n" + "1388\r\n" + strings.Repeat("x", 5000) + "\r\n0\r\n\r\n"
	if body != want {
		t.Fatalf("chunked body\n%.120q\nwant\n%.120q", body, want)
	}
}

func TestLargeBodyIsChunkedAndShortBodyClosesTheConnection(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		if r.URL.Path == "/lean/short" {
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "12345")
			return
		}
		io.WriteString(w, strings.Repeat("x", 3*holdMax))
	})
	_, addr, _ := leanServer(t, h, nil)
	resps, bodies := exchange(t, addr, rawPost("/lean/large", ""), 1)
	if resps[0].ContentLength != -1 || len(bodies[0]) != 3*holdMax {
		t.Errorf("large body: length %d, %d bytes", resps[0].ContentLength, len(bodies[0]))
	}
	c := dial(t, addr)
	io.WriteString(c, rawPost("/lean/short", ""))
	got, _ := io.ReadAll(c) // ends only because the server closes
	if !bytes.HasSuffix(got, []byte("\r\n\r\n12345")) {
		t.Errorf("short body: %q", got)
	}
}

func TestExpectContinue(t *testing.T) {
	_, addr, _ := leanServer(t, http.HandlerFunc(whoServed), nil)
	c := dial(t, addr)
	io.WriteString(c, "POST /lean/e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("before the body: %q, %v", line, err)
	}
	br.ReadString('\n')
	io.WriteString(c, "body")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "lean POST /lean/e body" {
		t.Errorf("got %q", b)
	}
}

func TestUnusualRequestsGoToNetHTTP(t *testing.T) {
	_, addr, _ := leanServer(t, http.HandlerFunc(whoServed), nil)
	cases := map[string]struct{ raw, want string }{
		"HTTP/1.0":     {"POST /lean/a HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi", "HTTP/1.0 POST /lean/a hi"},
		"upgrade":      {rawPost("/lean/a", "hi", "Upgrade: websocket\r\n"), "HTTP/1.1 POST /lean/a hi"},
		"LF only":      {"POST /lean/a HTTP/1.1\nHost: x\nContent-Length: 2\n\nhi", "HTTP/1.1 POST /lean/a hi"},
		"other method": {"PUT /lean/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", "HTTP/1.1 PUT /lean/a hi"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, bodies := exchange(t, addr, c.raw, 1)
			if bodies[0] != c.want {
				t.Errorf("got %q, want %q", bodies[0], c.want)
			}
		})
	}
	t.Run("no Host", func(t *testing.T) {
		resps, _ := exchange(t, addr, "POST /lean/a HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 1)
		if resps[0].StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want net/http's 400", resps[0].StatusCode)
		}
	})
}

func TestHeadArrivingInPiecesGoesToNetHTTP(t *testing.T) {
	_, addr, _ := leanServer(t, http.HandlerFunc(whoServed), nil)
	c := dial(t, addr)
	io.WriteString(c, "POST /lean/p HTTP/1.1\r\nHost: x\r\n")
	time.Sleep(50 * time.Millisecond)
	io.WriteString(c, "Content-Length: 2\r\n\r\nhi")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "HTTP/1.1 POST /lean/p hi" {
		t.Errorf("got %q", b)
	}
}

func TestHTTP2PriorKnowledgeGoesToNetHTTP(t *testing.T) {
	h := http.HandlerFunc(whoServed)
	_, addr, _ := leanServer(t, h, func(s *Server) {
		p := new(http.Protocols)
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		s.Fallback.Protocols = p
	})
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: p}}
	resp, err := client.Post("http://"+addr+"/lean/h2", "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "HTTP/2.0 POST /lean/h2 hi" {
		t.Errorf("got %q", b)
	}
}

func TestClientGoingAwayCancelsTheRequest(t *testing.T) {
	cause := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
			cause <- context.Cause(r.Context())
		case <-time.After(5 * time.Second):
			cause <- nil
		}
	})
	_, addr, _ := leanServer(t, h, func(s *Server) { s.WatchAfter = 5 * time.Millisecond })
	c := dial(t, addr)
	io.WriteString(c, rawPost("/lean/slow", "{}"))
	time.Sleep(50 * time.Millisecond) // past WatchAfter: the watch runs
	c.Close()
	start := time.Now()
	if err := <-cause; !errors.Is(err, ErrClientGone) {
		t.Fatalf("cause %v, want ErrClientGone", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancelled after %v", d)
	}
}

func TestClientGoingAwayEarlyIsSeenOnceTheWatchStarts(t *testing.T) {
	cause := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		<-r.Context().Done()
		cause <- context.Cause(r.Context())
	})
	_, addr, _ := leanServer(t, h, func(s *Server) { s.WatchAfter = 20 * time.Millisecond })
	c := dial(t, addr)
	io.WriteString(c, rawPost("/lean/slow", "{}"))
	c.Close() // before the watch
	select {
	case err := <-cause:
		if !errors.Is(err, ErrClientGone) {
			t.Fatalf("cause %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("request not cancelled")
	}
}

func TestRequestOutlastingTheIdleTimeoutIsNotCancelled(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusInternalServerError)
		case <-time.After(300 * time.Millisecond):
			io.WriteString(w, "done")
		}
	})
	_, addr, _ := leanServer(t, h, func(s *Server) {
		s.WatchAfter = 5 * time.Millisecond
		s.IdleTimeout = 50 * time.Millisecond
	})
	_, bodies := exchange(t, addr, rawPost("/lean/long", "")+rawPost("/lean/long", ""), 2)
	if bodies[0] != "done" || bodies[1] != "done" {
		t.Errorf("got %q", bodies)
	}
}

func TestRequestsFasterThanTheWatchStartNone(t *testing.T) {
	// Many quick requests on one connection: each arms a watch that the
	// sweep must not start after the request is over (the race detector
	// would see a watch read the connection under the next request).
	_, addr, accepted := leanServer(t, http.HandlerFunc(whoServed), func(s *Server) { s.WatchAfter = time.Millisecond })
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := range 300 {
		io.WriteString(c, rawPost("/lean/q", fmt.Sprint(i)))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if want := fmt.Sprintf("lean POST /lean/q %d", i); string(b) != want {
			t.Fatalf("response %d: %q", i, b)
		}
		if i%50 == 0 {
			time.Sleep(3 * time.Millisecond) // let the sweep find nothing to do
		}
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("%d connections", n)
	}
}

func TestUnreadBodies(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ignored") })
	_, addr, accepted := leanServer(t, h, nil)
	// A small unread body is skipped: the connection serves the next one.
	resps, _ := exchange(t, addr, rawPost("/lean/u", "small")+rawPost("/lean/u", "again"), 2)
	if resps[0].Close || accepted.Load() != 1 {
		t.Errorf("small unread body: close %v, %d connections", resps[0].Close, accepted.Load())
	}
	// A large one ends the connection after the response.
	resps, _ = exchange(t, addr, rawPost("/lean/u", strings.Repeat("x", 300<<10)), 1)
	if !resps[0].Close {
		t.Error("large unread body: connection kept")
	}
}

func TestPanicClosesTheConnectionAndIsLogged(t *testing.T) {
	var logged bytes.Buffer
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/lean/panic" {
			panic("boom")
		}
		whoServed(w, r)
	})
	_, addr, _ := leanServer(t, h, func(s *Server) {
		s.Fallback.ErrorLog = log.New(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logged.Write(p)
		}), "", 0)
	})
	c := dial(t, addr)
	io.WriteString(c, rawPost("/lean/panic", ""))
	if got, _ := io.ReadAll(c); len(got) != 0 {
		t.Errorf("a panic answered %q", got)
	}
	mu.Lock()
	if !strings.Contains(logged.String(), "boom") {
		t.Errorf("log: %q", logged.String())
	}
	mu.Unlock()
	_, bodies := exchange(t, addr, rawPost("/lean/after", "ok"), 1)
	if bodies[0] != "lean POST /lean/after ok" {
		t.Errorf("after a panic: %q", bodies[0])
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestShutdownClosesIdleAndFinishesActive(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		if r.URL.Path == "/lean/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "done")
	})
	s, addr, _ := leanServer(t, h, nil)
	idle := dial(t, addr)
	io.WriteString(idle, rawPost("/lean/fast", ""))
	br := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	} else {
		io.ReadAll(resp.Body)
	}

	active := make(chan string, 1)
	go func() {
		_, bodies := exchange(t, addr, rawPost("/lean/slow", ""), 1)
		active <- bodies[0]
	}()
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection: %v, want closed", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if got := <-active; got != "done" {
		t.Errorf("request in flight answered %q", got)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
