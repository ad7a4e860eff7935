package httpbody

import (
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
		go sendMB(c, 100)
		if got, want := statusOf(t, c), http.StatusBadRequest; got != want {
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
		go sendMB(c, 64<<10)
		if got, want := statusOf(t, c), http.StatusOK; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
	})
}
