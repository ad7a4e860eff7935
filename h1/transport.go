// Package h1 is an HTTP/1.1 client transport that does a call's whole
// exchange in the caller's goroutine over pooled keep-alive connections.
//
// net/http's Transport hands every request to a writer goroutine and every
// response to a reader goroutine per connection; on a gateway whose hop to
// the upstream is a few hundred microseconds, those hand-offs are a large
// part of the time it adds. This transport writes the request, reads the
// response and hands the connection back when the body is done, all on the
// goroutine that called RoundTrip. It speaks HTTP/1.1 only, over TCP or TLS,
// and leaves to net/http what it does not do: proxies.
package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Transport is an http.RoundTripper. The zero value is not usable: use New.
type Transport struct {
	dialer      *net.Dialer
	tlsConfig   *tls.Config
	maxIdle     int
	idleTimeout time.Duration
	fallback    http.RoundTripper // for requests that go through a proxy
	busyPoll    time.Duration

	mu   sync.Mutex
	idle map[string][]*conn // by scheme://host:port, most recent last
}

// Options configure a Transport.
type Options struct {
	// ConnectTimeout bounds dialing and the TLS handshake. Default 10 s.
	ConnectTimeout time.Duration
	// MaxIdlePerHost is how many idle connections are kept per upstream.
	// Default 256.
	MaxIdlePerHost int
	// IdleTimeout closes connections idle for longer. Default 90 s.
	IdleTimeout time.Duration
	// TLSConfig is cloned for https upstreams; nil means the defaults.
	TLSConfig *tls.Config
	// Fallback serves requests that the environment routes through a proxy
	// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY). Nil: http.DefaultTransport.
	Fallback http.RoundTripper
	// BusyPoll is how long a plain TCP connection whose upstream answers
	// promptly is polled for the answer before the goroutine parks (see
	// poll.go). Zero: never.
	BusyPoll time.Duration
}

// New returns a Transport.
func New(o Options) *Transport {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.MaxIdlePerHost <= 0 {
		o.MaxIdlePerHost = 256
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 90 * time.Second
	}
	tc := &tls.Config{}
	if o.TLSConfig != nil {
		tc = o.TLSConfig.Clone()
	}
	tc.NextProtos = []string{"http/1.1"}
	if o.Fallback == nil {
		o.Fallback = http.DefaultTransport
	}
	return &Transport{
		dialer:      &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second},
		tlsConfig:   tc,
		maxIdle:     o.MaxIdlePerHost,
		idleTimeout: o.IdleTimeout,
		fallback:    o.Fallback,
		busyPoll:    o.BusyPoll,
		idle:        map[string][]*conn{},
	}
}

type conn struct {
	net.Conn
	key    string
	br     *bufio.Reader
	bw     *bufio.Writer
	poll   poller
	idleAt time.Time
	read   int64 // bytes read from the network; reset per exchange
}

// countingReader counts what a connection's bufio.Reader takes from it, so
// that an exchange can tell "the upstream answered nothing" for certain.
// It polls the connection before each read that would wait (poll.go).
type countingReader struct{ c *conn }

func (r countingReader) Read(p []byte) (int, error) {
	start := time.Now()
	r.c.poll.wait(r.c.Conn, 1) // the request this call serves, if any, is busy
	n, err := r.c.Conn.Read(p)
	r.c.poll.waited(time.Since(start))
	r.c.read += int64(n)
	return n, err
}

// RoundTrip sends req and returns its response. The response body must be
// read to its end or closed; a body read to its end gives the connection
// back to the pool. Cancelling req's context closes the connection, which
// ends a pending read or write at once.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, errors.New("h1: unsupported scheme " + req.URL.Scheme)
	}
	if p, err := http.ProxyFromEnvironment(req); err != nil || p != nil {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	c, reused, err := t.get(ctx, req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.exchange(ctx, c, req)
	if err != nil && reused && req.GetBody != nil && ctx.Err() == nil && errors.Is(err, errStale) {
		// The upstream closed the idle connection before reading anything
		// of ours: the request never arrived. Send it once more, fresh.
		if req.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
		if c, err = t.dial(ctx, req); err != nil {
			return nil, err
		}
		resp, err = t.exchange(ctx, c, req)
	}
	return resp, err
}

// errStale marks a reused connection found closed when the request went out.
var errStale = errors.New("h1: idle connection closed by the upstream")

func (t *Transport) exchange(ctx context.Context, c *conn, req *http.Request) (*http.Response, error) {
	c.read = 0
	stop := context.AfterFunc(ctx, func() { c.Conn.Close() })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.Conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := writeRequest(c.bw, req); err != nil {
		return fail(err)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(err)
	}
	resp, err := readResponse(c.br, req)
	if err != nil {
		// Nothing at all came back: the upstream closed the connection
		// without reading the request, so sending it again is safe.
		if c.read == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)) {
			err = errors.Join(errStale, err)
		}
		return fail(err)
	}
	reuse := !resp.Close && !req.Close
	resp.Body = &body{ReadCloser: resp.Body, t: t, c: c, stop: stop, reuse: reuse}
	return resp, nil
}

// get returns an idle connection to req's upstream, or a new one.
func (t *Transport) get(ctx context.Context, req *http.Request) (*conn, bool, error) {
	key := req.URL.Scheme + "://" + hostPort(req)
	now := time.Now()
	t.mu.Lock()
	for list := t.idle[key]; len(list) > 0; list = t.idle[key] {
		c := list[len(list)-1]
		t.idle[key] = list[:len(list)-1]
		if now.Sub(c.idleAt) > t.idleTimeout {
			t.mu.Unlock()
			c.Conn.Close()
			t.mu.Lock()
			continue
		}
		t.mu.Unlock()
		return c, true, nil
	}
	t.mu.Unlock()
	c, err := t.dial(ctx, req)
	return c, false, err
}

func (t *Transport) dial(ctx context.Context, req *http.Request) (*conn, error) {
	addr := hostPort(req)
	nc, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if req.URL.Scheme == "https" {
		tc := t.tlsConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = req.URL.Hostname()
		}
		tlsConn := tls.Client(nc, tc)
		hctx, cancel := context.WithTimeout(ctx, t.dialer.Timeout)
		defer cancel()
		if err := tlsConn.HandshakeContext(hctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tlsConn
	}
	c := &conn{Conn: nc, key: req.URL.Scheme + "://" + addr, bw: bufio.NewWriterSize(nc, 8<<10), poll: poller{window: t.busyPoll}}
	c.br = bufio.NewReaderSize(countingReader{c}, 16<<10)
	return c, nil
}

// put gives a connection whose exchange is complete back to the pool.
func (t *Transport) put(c *conn) {
	c.idleAt = time.Now()
	t.mu.Lock()
	if list := t.idle[c.key]; len(list) < t.maxIdle {
		t.idle[c.key] = append(list, c)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	c.Conn.Close()
}

// CloseIdleConnections closes the pooled connections.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*conn{}
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.Conn.Close()
		}
	}
}

// body hands the connection back once the response body has been read to
// its end, and closes it when the body is abandoned half-read.
type body struct {
	io.ReadCloser
	t     *Transport
	c     *conn
	stop  func() bool
	reuse bool
	done  bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		if b.stop() && b.reuse {
			b.t.put(b.c)
		} else {
			b.c.Conn.Close()
		}
	}
	return n, err
}

func (b *body) Close() error {
	if !b.done {
		b.done = true
		b.stop()
		b.c.Conn.Close()
	}
	return nil
}

func hostPort(req *http.Request) string {
	host, port := req.URL.Hostname(), req.URL.Port()
	if port == "" {
		port = "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
