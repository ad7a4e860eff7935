package httpbody

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge/internal/pipeserver"
)

// servePaced is serveBody with a handler that reads through Paced.
func servePaced(t *testing.T) net.Conn {
	return pipeserver.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(Paced(w, r)); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
}

func TestAPacedBodyCutsATrickle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := servePaced(t)
		start := time.Now()
		go func() {
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n")
			for i := 0; i < oneMB/100; i++ {
				if _, err := c.Write(make([]byte, 100)); err != nil {
					return
				}
				time.Sleep(time.Second)
			}
		}()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := resp.StatusCode, http.StatusBadRequest; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
		if took := time.Since(start); took > time.Minute {
			t.Errorf("the trickle held the connection for %v", took)
		}
	})
}

func TestAPacedBodyAtAModestRateGetsThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := servePaced(t)
		go func() {
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n")
			for i := 0; i < 16; i++ {
				if _, err := c.Write(make([]byte, 64<<10)); err != nil {
					return
				}
				time.Sleep(time.Second)
			}
		}()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
	})
}
