package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer counts the connections its clients open.
func countingServer(t *testing.T, h http.HandlerFunc, tlsOn bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &conns
}

func post(t *testing.T, c *http.Client, url, body string) string {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Write(b)
}

func TestKeepAliveReusesOneConnection(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		srv, conns := countingServer(t, echo, tlsOn)
		tr := New(Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
		c := &http.Client{Transport: tr}
		for i := 0; i < 20; i++ {
			if got := post(t, c, srv.URL, "hello"); got != "hello" {
				t.Fatalf("got %q", got)
			}
		}
		if n := conns.Load(); n != 1 {
			t.Fatalf("tls=%v: %d connections for 20 sequential calls, want 1", tlsOn, n)
		}
	}
}

func TestChunkedAndStreamedBodies(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 5; i++ {
			io.WriteString(w, "event\n")
			w.(http.Flusher).Flush()
		}
	}, false)
	c := &http.Client{Transport: New(Options{})}
	for i := 0; i < 3; i++ {
		if got := post(t, c, srv.URL, "x"); got != strings.Repeat("event\n", 5) {
			t.Fatalf("got %q", got)
		}
	}
	if conns.Load() != 1 {
		t.Fatalf("chunked responses read to the end must keep the connection: %d", conns.Load())
	}
}

func TestAbandonedBodyClosesTheConnection(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100000))
	}, false)
	c := &http.Client{Transport: New(Options{})}
	for i := 0; i < 2; i++ {
		resp, err := c.Post(srv.URL, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Read(make([]byte, 10))
		resp.Body.Close()
	}
	if conns.Load() != 2 {
		t.Fatalf("a half-read body must not hand its connection to the next call: %d connections", conns.Load())
	}
}

func TestStaleIdleConnectionIsReplaced(t *testing.T) {
	srv, conns := countingServer(t, echo, false)
	tr := New(Options{})
	c := &http.Client{Transport: tr}
	post(t, c, srv.URL, "one")
	// The upstream drops its idle keep-alive connections, as servers do.
	srv.CloseClientConnections()
	time.Sleep(20 * time.Millisecond)
	if got := post(t, c, srv.URL, "two"); got != "two" {
		t.Fatalf("got %q", got)
	}
	if conns.Load() != 2 {
		t.Fatalf("connections %d, want 2", conns.Load())
	}
}

func TestCancelEndsAPendingRead(t *testing.T) {
	release := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		<-release
	}, false)
	defer close(release)
	c := &http.Client{Transport: New(Options{})}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, strings.NewReader("x"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); done <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a cancelled read ended without error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cancel did not end the read")
	}
}

func TestConnectionCloseIsHonoured(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}, false)
	c := &http.Client{Transport: New(Options{})}
	for i := 0; i < 3; i++ {
		post(t, c, srv.URL, "x")
	}
	if conns.Load() != 3 {
		t.Fatalf("connections %d, want one per call", conns.Load())
	}
}

// TestAnswerCutShortIsNotSentAgain: an upstream that began to answer has
// read the request; a connection it then drops must fail the call rather
// than send the request a second time (an LLM call is not idempotent).
func TestAnswerCutShortIsNotSentAgain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var requests atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if requests.Add(1) == 1 {
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
						continue
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\n") // and the line drops
					return
				}
			}(c)
		}
	}()
	c := &http.Client{Transport: New(Options{})}
	url := "http://" + ln.Addr().String()
	post(t, c, url, "first")
	if _, err := c.Post(url, "text/plain", strings.NewReader("second")); err == nil {
		t.Fatal("a cut answer was taken for a response")
	}
	if n := requests.Load(); n != 2 {
		t.Fatalf("the upstream got %d requests, want 2: the cut one was sent again", n)
	}
}
