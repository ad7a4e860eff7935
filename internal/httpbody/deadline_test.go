package httpbody

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge/internal/pipeserver"
)

// serveBody serves a handler that reads the body with ReadRequest and
// answers 200 with its length, or 400; it returns a client connection.
func serveBody(t *testing.T) net.Conn {
	return pipeserver.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := ReadRequest(w, r, 2<<20)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		io.WriteString(w, strings.Repeat("x", len(body)%10))
	}))
}

const oneMB = 1 << 20

// sendMB sends a request with a 1 MB body, perSecond bytes a second, and
// stops at the first failed write (the server has closed the connection).
func sendMB(c net.Conn, perSecond int) {
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n")
	for sent := 0; sent < oneMB; sent += perSecond {
		if _, err := c.Write(make([]byte, min(perSecond, oneMB-sent))); err != nil {
			return
		}
		time.Sleep(time.Second)
	}
}

// statusOf reads the answer's status from c.
func statusOf(t *testing.T, c net.Conn) int {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

// cutsATrickle checks that the server serve starts cuts off a client that
// sends the head of a 1 MB request and then a trickle (100 bytes a second:
// three hours), and closes its connection, long before the trickle would
// end.
func cutsATrickle(t *testing.T, serve func(*testing.T) net.Conn) {
	synctest.Test(t, func(t *testing.T) {
		c := serve(t)
		start := time.Now()
		go sendMB(c, 100)
		if got, want := statusOf(t, c), http.StatusBadRequest; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
		if took := time.Since(start); took > time.Minute {
			t.Errorf("the trickle held the connection for %v", took)
		}
	})
}

// takesAModestRate checks that the server serve starts reads 1 MB sent at
// 64 KB/s (16 s, more than the grace alone) whole.
func takesAModestRate(t *testing.T, serve func(*testing.T) net.Conn) {
	synctest.Test(t, func(t *testing.T) {
		c := serve(t)
		go sendMB(c, 64<<10)
		if got, want := statusOf(t, c), http.StatusOK; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
	})
}

func TestSlowBodyDoesNotHoldTheConnection(t *testing.T) { cutsATrickle(t, serveBody) }

func TestBodyAtAModestRateGetsThrough(t *testing.T) { takesAModestRate(t, serveBody) }
