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
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server answers the HTTP/1.1 requests that Lean picks on the goroutine
// that read them, and gives every other connection to Fallback.
//
// net/http's server starts a goroutine per request to notice a client that
// goes away, and stops it again when the handler returns: two hand-offs
// that cost a hop of a few hundred microseconds a fifth of its time. This
// server watches the connection only once a request has run for
// WatchAfter, which no slow upstream call escapes and every fast one does.
//
// Everything it does not do itself (other methods and paths, HTTP/1.0,
// HTTP/2, upgrades, a request head not yet read whole, a malformed one)
// goes to Fallback with the bytes already read, so such a connection is
// served exactly as net/http serves it, from its first request on.
type Server struct {
	Handler http.Handler
	// Lean says which requests this server answers itself.
	Lean func(method, path string) bool
	// Fallback serves the other connections. Its Handler, timeouts and
	// ErrorLog apply to them; its ErrorLog also gets this server's panics.
	Fallback *http.Server
	// IdleTimeout closes a connection idle for longer. Default 5 min.
	IdleTimeout time.Duration
	// WatchAfter is how long a request runs before the connection is
	// watched for the client going away. Default 10 ms.
	WatchAfter time.Duration
	// BusyPoll is how long a connection whose client sends its next
	// request promptly is polled for it before its goroutine parks (see
	// poll.go). Zero: never.
	BusyPoll time.Duration

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*serverConn]struct{}
	handoff   *handoffListener
	shutting  bool
	closing   atomic.Bool   // shutting, read without mu on every request
	done      chan struct{} // closed by Shutdown: the sweep ends

	epoch    time.Time
	sleeping atomic.Bool   // the sweep waits for a request to watch
	wake     chan struct{} // wakes the sweep
}

// ErrClientGone is the cause of a request context cancelled because the
// client closed its connection.
var ErrClientGone = errors.New("h1: client closed the connection")

// Serve accepts connections on ln until it is closed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutting {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[*serverConn]struct{}{}
	}
	s.listeners[ln] = struct{}{}
	if s.handoff == nil {
		s.handoff = newHandoffListener(ln.Addr())
		go s.Fallback.Serve(s.handoff)
		s.epoch = time.Now()
		s.done = make(chan struct{})
		s.wake = make(chan struct{}, 1)
		go s.sweep()
	}
	s.mu.Unlock()

	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			shutting := s.shutting
			s.mu.Unlock()
			if shutting {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		sc := s.newConn(c)
		if sc == nil {
			c.Close()
			return http.ErrServerClosed
		}
		go sc.serve()
	}
}

// Shutdown stops accepting, closes idle connections, lets requests in
// flight finish, and shuts Fallback down, all within ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.shutting && s.done != nil {
		close(s.done)
	}
	s.shutting = true
	s.closing.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	for sc := range s.conns {
		if sc.idle {
			sc.c.Close()
		}
	}
	s.mu.Unlock()
	fallback := make(chan error, 1)
	go func() { fallback <- s.Fallback.Shutdown(ctx) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		left := len(s.conns)
		s.mu.Unlock()
		if left == 0 {
			return <-fallback
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (s *Server) newConn(c net.Conn) *serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting {
		return nil
	}
	ctx := context.WithValue(context.Background(), http.ServerContextKey, s.Fallback)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, c.LocalAddr())
	sc := &serverConn{
		s:          s,
		c:          c,
		ctx:        ctx,
		remoteAddr: c.RemoteAddr().String(),
		br:         bufio.NewReaderSize(c, 4<<10),
		poll:       poller{window: s.BusyPoll},
		idle:       true,
	}
	s.conns[sc] = struct{}{}
	return sc
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return 5 * time.Minute
}

func (s *Server) watchAfter() time.Duration {
	if s.WatchAfter > 0 {
		return s.WatchAfter
	}
	return 10 * time.Millisecond
}

func (s *Server) logf(format string, args ...any) {
	if s.Fallback.ErrorLog != nil {
		s.Fallback.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// serverConn is one client connection served lean.
type serverConn struct {
	s          *Server
	c          net.Conn
	ctx        context.Context
	remoteAddr string
	br         *bufio.Reader
	bw         *bufio.Writer
	poll       poller
	head       []byte    // the current request's head, kept to hand it over
	deadline   time.Time // the idle deadline last set on c

	idle bool // guarded by s.mu: waiting for a request, closed by Shutdown

	// When the current request's body was read whole (since the server's
	// epoch), 0 if it was not or its watch started.
	armedAt atomic.Int64

	// The watch of the current request, guarded by mu.
	mu       sync.Mutex
	finished bool // the request is done: no watch may start
	aborting bool
	watching chan struct{}
	cancel   context.CancelCauseFunc
	gone     atomic.Bool // the client went away during a request
}

// aLongTimeAgo is a deadline in the past: it ends a pending read at once.
var aLongTimeAgo = time.Unix(1, 0)

func (sc *serverConn) serve() {
	handedOff := false
	defer func() {
		if !handedOff {
			sc.c.Close()
		}
		sc.s.mu.Lock()
		delete(sc.s.conns, sc)
		sc.s.mu.Unlock()
	}()
	for {
		sc.refreshDeadline()
		if sc.br.Buffered() == 0 {
			start := time.Now()
			sc.poll.wait(sc.c, 0)
			if _, err := sc.br.Peek(1); err != nil {
				return
			}
			sc.poll.waited(time.Since(start))
		}
		sc.s.mu.Lock()
		shutting := sc.s.shutting
		sc.idle = false
		sc.s.mu.Unlock()
		if shutting {
			return
		}
		req, ok := sc.readRequest()
		if !ok {
			sc.c.SetReadDeadline(time.Time{}) // net/http sets its own
			// What was read is given again, then the connection itself: the
			// buffers go (a WebSocket of the chat lives long).
			rest, _ := sc.br.Peek(sc.br.Buffered())
			read := append(sc.head[:len(sc.head):len(sc.head)], rest...)
			handedOff = sc.s.handoff.give(&handoffConn{Conn: sc.c, r: io.MultiReader(bytes.NewReader(read), sc.c)})
			return
		}
		if sc.bw == nil {
			sc.bw = bufio.NewWriterSize(sc.c, 4<<10)
		}
		serving.Add(1)
		keep := sc.serveRequest(req)
		serving.Add(-1)
		if !keep {
			return
		}
		sc.s.mu.Lock()
		shutting = sc.s.shutting
		sc.idle = true
		sc.s.mu.Unlock()
		if shutting {
			return
		}
	}
}

// refreshDeadline keeps the idle deadline ahead of now without setting it
// on every request: it is moved only once a tenth of it has passed.
func (sc *serverConn) refreshDeadline() {
	idle := sc.s.idleTimeout()
	now := time.Now()
	if sc.deadline.Sub(now) < idle-idle/10 {
		sc.deadline = now.Add(idle)
		sc.c.SetReadDeadline(sc.deadline)
	}
}

// readRequest reads the next request's head if the whole of it has
// arrived and it is one this server answers; otherwise it reports false
// with the bytes it took in sc.head, to be handed over.
func (sc *serverConn) readRequest() (*http.Request, bool) {
	sc.head = sc.head[:0]
	buf, _ := sc.br.Peek(sc.br.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, false // a head still arriving, or too large: net/http's ReadHeaderTimeout applies
	}
	line := buf[:bytes.IndexByte(buf, '\n')+1]
	method, rest, _ := bytes.Cut(line, []byte(" "))
	target, _, _ := bytes.Cut(rest, []byte(" "))
	path, _, _ := bytes.Cut(target, []byte("?"))
	if !sc.s.Lean(string(method), string(path)) {
		return nil, false
	}
	sc.head = append(sc.head, buf[:end+4]...)
	req, ok := parseHead(sc.head, sc.br)
	var err error
	if ok {
		sc.br.Discard(len(sc.head))
	} else {
		before := sc.br.Buffered()
		req, err = http.ReadRequest(sc.br)
		// The head is buffered whole, so ReadRequest took only from the
		// buffer: what it took is what a hand-over must give again.
		sc.head = sc.head[:before-sc.br.Buffered()]
	}
	if err != nil || req.ProtoMajor != 1 || req.ProtoMinor != 1 || req.Host == "" ||
		req.Header.Get("Upgrade") != "" || (len(req.Header.Values("Expect")) > 0 && !expectsContinue(req)) ||
		!sc.s.Lean(req.Method, req.URL.Path) {
		return nil, false // ReadRequest reads no body: sc.br is at the body's start
	}
	return req, true
}

func expectsContinue(r *http.Request) bool {
	v := r.Header.Values("Expect")
	return len(v) == 1 && strings.EqualFold(v[0], "100-continue")
}

// serveRequest runs the handler and finishes the response. It reports
// whether the connection can take another request.
func (sc *serverConn) serveRequest(req *http.Request) (keep bool) {
	ctx, cancel := context.WithCancelCause(sc.ctx)
	defer cancel(context.Canceled)
	sc.mu.Lock()
	sc.finished = false
	sc.cancel = cancel
	sc.mu.Unlock()

	req = req.WithContext(ctx)
	req.RemoteAddr = sc.remoteAddr
	b := &requestBody{sc: sc, src: req.Body, expect: expectsContinue(req)}
	req.Body = b
	w := &response{sc: sc, req: req, header: http.Header{}, contentLength: -1}
	b.w = w

	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				sc.s.logf("h1: panic serving %v: %v\n%s", sc.remoteAddr, v, buf)
			}
			sc.stopWatch()
			keep = false
		}
	}()
	sc.s.Handler.ServeHTTP(w, req)

	if !b.eof {
		// A body left unread is skipped if it is small, as net/http does;
		// a larger one, or one the client waits to be asked for, ends the
		// connection after this response.
		if b.expect && !b.continued {
			w.closeAfter = true
		} else if _, err := io.CopyN(io.Discard, b.src, 256<<10); err != io.EOF {
			w.closeAfter = true
		}
	}
	if sc.s.closing.Load() {
		w.closeAfter = true
	}
	w.finish()
	sc.stopWatch()
	return w.err == nil && !w.closeAfter && !sc.gone.Load()
}

// startWatch arms the watch of the current request once its body has been
// read whole, so that sc.br is free for it. The sweep starts it if the
// request is still running WatchAfter later.
func (sc *serverConn) startWatch() {
	sc.mu.Lock()
	if !sc.finished {
		sc.armedAt.Store(int64(time.Since(sc.s.epoch)) + 1)
	}
	sc.mu.Unlock()
	if sc.s.sleeping.Load() {
		select {
		case sc.s.wake <- struct{}{}:
		default:
		}
	}
}

// sweep starts the watch of every request armed for WatchAfter. One
// ticker serves all connections: a timer per request would cost a
// scheduler wake-up each, a large part of a fast request's time. The
// ticker stops after a second without requests to watch.
func (s *Server) sweep() {
	every := s.watchAfter()
	tick := time.NewTicker(every)
	defer tick.Stop()
	quiet := 0
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		if s.sweepOnce(every) {
			quiet = 0
			continue
		}
		if quiet++; time.Duration(quiet)*every < time.Second {
			continue
		}
		tick.Stop()
		s.sleeping.Store(true)
		// A request armed before sleeping was set is seen here; one armed
		// after it sends a wake.
		if !s.sweepOnce(every) {
			select {
			case <-s.done:
				return
			case <-s.wake:
			}
		}
		s.sleeping.Store(false)
		quiet = 0
		tick.Reset(every)
	}
}

// sweepOnce starts the watches due, and reports whether any request is
// armed.
func (s *Server) sweepOnce(every time.Duration) bool {
	now := int64(time.Since(s.epoch))
	armed := false
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc := range s.conns {
		at := sc.armedAt.Load()
		if at == 0 {
			continue
		}
		armed = true
		if now-at < int64(every) {
			continue
		}
		sc.mu.Lock()
		if sc.armedAt.Load() != 0 && !sc.finished && sc.watching == nil {
			sc.armedAt.Store(0)
			done := make(chan struct{})
			sc.watching = done
			go sc.watch(done, sc.cancel)
		}
		sc.mu.Unlock()
	}
	return armed
}

// watch reads from the connection while the request runs: an end of the
// connection cancels the request; bytes of a next request stay in sc.br.
func (sc *serverConn) watch(done chan struct{}, cancel context.CancelCauseFunc) {
	defer close(done)
	for {
		_, err := sc.br.Peek(1)
		if err == nil {
			return
		}
		sc.mu.Lock()
		if sc.aborting {
			sc.mu.Unlock()
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The idle deadline, not the client: the request runs long.
			sc.c.SetReadDeadline(time.Time{})
			sc.mu.Unlock()
			continue
		}
		sc.mu.Unlock()
		sc.gone.Store(true)
		cancel(ErrClientGone)
		return
	}
}

// stopWatch ends the current request's watch and waits for it, so that
// sc.br is the serving goroutine's again.
func (sc *serverConn) stopWatch() {
	sc.mu.Lock()
	sc.finished = true
	sc.armedAt.Store(0)
	done := sc.watching
	sc.watching = nil
	if done != nil {
		sc.aborting = true
		sc.c.SetReadDeadline(aLongTimeAgo)
	}
	sc.mu.Unlock()
	if done == nil {
		return
	}
	<-done
	sc.mu.Lock()
	sc.aborting = false
	sc.mu.Unlock()
	sc.deadline = time.Time{} // the next refreshDeadline sets it again
}

// requestBody is a request's body as the handler reads it: it asks for the
// body when the client expects a 100 Continue, and arms the watch once
// the body has been read to its end.
type requestBody struct {
	sc        *serverConn
	w         *response
	src       io.ReadCloser
	expect    bool
	continued bool
	eof       bool
}

func (b *requestBody) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	if b.expect && !b.continued {
		b.continued = true
		if !b.w.committed {
			b.sc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			b.sc.bw.Flush()
		}
	}
	n, err := b.src.Read(p)
	if err == io.EOF {
		b.eof = true
		b.sc.startWatch()
	}
	return n, err
}

func (b *requestBody) Close() error { return nil }

// handoffListener gives net/http the connections the lean server passes on.
type handoffListener struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// give passes c on; it reports false if the listener is closed.
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// handoffConn is a connection whose first bytes were already read.
type handoffConn struct {
	net.Conn
	r io.Reader
}

func (c *handoffConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// String names the connection in panics and logs.
func (c *handoffConn) String() string { return fmt.Sprint(c.Conn.RemoteAddr()) }
