package pipeserver_test

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"testing/synctest"

	"github.com/claudebridge/claudebridge/internal/pipeserver"
)

func TestTheClientEndGetsTheHandlersAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := pipeserver.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.URL.Path)
		}))
		io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(body), "/hello"; got != want {
			t.Errorf("body %q, want %q", got, want)
		}
	})
}
