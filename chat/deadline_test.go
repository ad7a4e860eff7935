package chat

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge"
)

// localUsers is a UserService that knows only EnsureUser, all local mode
// asks of it.
type localUsers struct{ claudebridge.UserService }

func (localUsers) EnsureUser(_ context.Context, name string) (*claudebridge.User, error) {
	return &claudebridge.User{ID: 1, Name: name}, nil
}

// pipeListener hands out the server ends of net.Pipe connections, whose
// deadlines run on synctest's clock.
type pipeListener struct{ conns chan net.Conn }

func (l pipeListener) Accept() (net.Conn, error) {
	c, ok := <-l.conns
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (l pipeListener) Close() error   { return nil }
func (l pipeListener) Addr() net.Addr { return &net.TCPAddr{} }

func TestAClientThatStopsReadingARESTAnswerIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Server{opts: Options{Local: true, Users: localUsers{}}, secret: []byte("k")}
		done := make(chan struct{})
		big := strings.Repeat("x", 4<<20) // more than the pipe and buffers take
		h := s.authed(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, big)
			close(done)
		})
		l := pipeListener{conns: make(chan net.Conn)}
		srv := &http.Server{Handler: h}
		go srv.Serve(l)
		client, server := net.Pipe()
		l.conns <- server
		io.WriteString(client, "GET /api/export HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		// The client reads nothing from here on.
		start := time.Now()
		<-done
		if took := time.Since(start); took > 2*answerWriteTimeout {
			t.Errorf("the handler was held %v by a client that does not read", took)
		}
		client.Close()
		close(l.conns)
		srv.Close()
	})
}
