package bedrockfront

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/pipeserver"
	"github.com/claudebridge/claudebridge/mock"
)

func TestAClientThatStopsReadingAnAnswerIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		big := append(append([]byte(`{"type":"message","content":[{"type":"text","text":"`), bytes.Repeat([]byte("x"), 4<<20)...), `"}]}`...)
		up := &mock.Upstream{MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
			return &claudebridge.Response{Body: big}, nil
		}}
		done := make(chan struct{})
		h := New(Options{Upstream: up})
		client := pipeserver.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			close(done)
		}))
		body := invokeBody(nil)
		io.WriteString(client, "POST /model/"+sonnetID+"/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "+
			strconv.Itoa(len(body))+"\r\n\r\n")
		client.Write(body)
		// The client reads nothing from here on.
		start := time.Now()
		<-done
		if took := time.Since(start); took > 2*answerWriteTimeout {
			t.Errorf("the handler was held %v by a client that does not read", took)
		}
	})
}
