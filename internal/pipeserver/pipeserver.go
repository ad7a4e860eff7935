// Package pipeserver serves an http.Handler over a net.Pipe, for tests
// inside testing/synctest: a pipe's deadlines run on the bubble's clock, a
// TCP connection's do not, so a server's read and write deadlines are
// tested without waiting for them.
package pipeserver

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// Serve starts an http.Server with h on a listener that hands out the
// server end of one net.Pipe, and returns the client end. When the test
// ends the connection and the server are closed and the bubble's clock
// moves on 2 s: the server lingers half a second over a connection it
// closes with a body unread, and a client's writer may be between two
// writes. Call it inside synctest.Test only; elsewhere that is a real
// sleep.
func Serve(t testing.TB, h http.Handler) net.Conn {
	l := listener{conns: make(chan net.Conn)}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	client, server := net.Pipe()
	l.conns <- server
	t.Cleanup(func() {
		client.Close()
		close(l.conns)
		srv.Close()
		time.Sleep(2 * time.Second)
	})
	return client
}

// listener hands out the connections sent on conns; closed, it accepts no
// more.
type listener struct{ conns chan net.Conn }

func (l listener) Accept() (net.Conn, error) {
	c, ok := <-l.conns
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (l listener) Close() error   { return nil }
func (l listener) Addr() net.Addr { return &net.TCPAddr{} }
