package httpbody

import (
	"io"
	"net"
	"net/http"
	"testing"

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

func TestAPacedBodyCutsATrickle(t *testing.T) { cutsATrickle(t, servePaced) }

func TestAPacedBodyAtAModestRateGetsThrough(t *testing.T) { takesAModestRate(t, servePaced) }
