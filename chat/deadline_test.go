package chat

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/pipeserver"
)

// localUsers is a UserService that knows only EnsureUser, all local mode
// asks of it.
type localUsers struct{ claudebridge.UserService }

func (localUsers) EnsureUser(_ context.Context, name string) (*claudebridge.User, error) {
	return &claudebridge.User{ID: 1, Name: name}, nil
}

func TestAClientThatStopsReadingARESTAnswerIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Server{opts: Options{Local: true, Users: localUsers{}}, secret: []byte("k")}
		done := make(chan struct{})
		big := strings.Repeat("x", 4<<20) // more than the pipe and buffers take
		h := s.authed(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, big)
			close(done)
		})
		client := pipeserver.Serve(t, h)
		io.WriteString(client, "GET /api/export HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		// The client reads nothing from here on.
		start := time.Now()
		<-done
		if took := time.Since(start); took > 2*answerWriteTimeout {
			t.Errorf("the handler was held %v by a client that does not read", took)
		}
	})
}
