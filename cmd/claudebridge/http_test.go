package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/bedrockfront"
	"github.com/claudebridge/claudebridge/gateway"
)

// earlyHintsUpstream answers every request on a keep-alive connection with
// 103 Early Hints and a Link header, then a 200 whose body names the
// request's number on the connection: "answer 1", "answer 2", ...
func earlyHintsUpstream(t *testing.T, body func(n int) string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for n := 1; ; n++ {
					req, err := http.ReadRequest(r)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					b := body(n)
					fmt.Fprintf(c, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"+
						"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(b), b)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestEarlyHintsAreNotTakenForTheAnswer: an upstream's 1xx is skipped, and
// two calls on one connection each get their own final answer and body.
func TestEarlyHintsAreNotTakenForTheAnswer(t *testing.T) {
	addr := earlyHintsUpstream(t, func(n int) string { return fmt.Sprintf("answer %d", n) })
	client := &http.Client{Transport: upstreamTransport(&Config{ConnectTimeout: 5 * time.Second}, nil)}
	for i := 1; i <= 2; i++ {
		resp, err := client.Post("http://"+addr+"/", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("call %d: status %d, want %d", i, got, want)
		}
		if got, want := string(b), fmt.Sprintf("answer %d", i); got != want {
			t.Errorf("call %d: body %q, want %q", i, got, want)
		}
	}
}

// TestEarlyHintsThroughTheAnthropicUpstream: the same through the Anthropic
// API upstream as serve builds it.
func TestEarlyHintsThroughTheAnthropicUpstream(t *testing.T) {
	addr := earlyHintsUpstream(t, func(n int) string {
		return fmt.Sprintf(`{"id":"msg_%d","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"answer %d"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":%d}}`, n, n, n)
	})
	up := anthropicapi.New(anthropicapi.Options{
		BaseURL:   "http://" + addr,
		Key:       anthropicapi.StaticKey("k"),
		Transport: upstreamTransport(&Config{ConnectTimeout: 5 * time.Second}, nil),
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"hello"}]}`)
	for i := 1; i <= 2; i++ {
		resp, err := up.Messages(context.Background(), &claudebridge.Request{Model: "claude-sonnet-4-5", Body: body})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if got, want := resp.Usage.OutputTokens, i; got != want {
			t.Errorf("call %d: output tokens %d, want %d", i, got, want)
		}
		if want := fmt.Sprintf(`"id":"msg_%d"`, i); !strings.Contains(string(resp.Body), want) {
			t.Errorf("call %d: body %s, want %s in it", i, resp.Body, want)
		}
	}
}

// TestUpstreamTransportSpeaksHTTP2OverTLS: HTTP/2 is negotiated with a TLS
// upstream even with a TLS config of our own (the AWS CA bundle's).
func TestUpstreamTransportSpeaksHTTP2OverTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	client := &http.Client{Transport: upstreamTransport(&Config{ConnectTimeout: 5 * time.Second}, &tls.Config{RootCAs: roots})}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got, want := resp.Proto, "HTTP/2.0"; got != want {
		t.Errorf("protocol %s, want %s", got, want)
	}
}

// TestMalformedHostGetsNetHTTPsOwn400: the server serve builds checks a
// request's head before any handler sees it.
func TestMalformedHostGetsNetHTTPsOwn400(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// No call gets as far as an upstream.
	up := anthropicapi.New(anthropicapi.Options{BaseURL: "http://127.0.0.1:1", Key: anthropicapi.StaticKey("k"), Logger: quiet})
	gw := &gateway.Gateway{Upstream: up, Logger: quiet}
	front := bedrockfront.New(bedrockfront.Options{Upstream: gw.Upstream, Logger: quiet})
	var reached atomic.Bool
	chat := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Store(true) })
	srv := newServer(frontDoors(front, gw, http.NotFoundHandler(), chat, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /v1/messages HTTP/1.1\r\nHost: exa mple\r\nContent-Length: 2\r\n\r\n{}")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if got, want := resp.StatusCode, http.StatusBadRequest; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	// net/http's own answer, not one of the gateway's JSON errors.
	if got, want := string(b), "400 Bad Request: malformed Host header"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
	if resp.Header.Get("Request-Id") != "" || reached.Load() {
		t.Errorf("a handler saw the request")
	}
}
