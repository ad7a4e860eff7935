package bedrock

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// closedAfterResponse plays the SDK's request body: WriteTo fails with
// io.EOF once closed, and it is closed as soon as the response is back.
// Once its bytes are sent it waits for that close before answering again,
// which is the worst timing of net/http's post-body probe, made certain.
type closedAfterResponse struct {
	r        *bytes.Reader
	closed   chan struct{}
	closeOne sync.Once
}

func newBody(n int) *closedAfterResponse {
	return &closedAfterResponse{r: bytes.NewReader(bytes.Repeat([]byte("x"), n)), closed: make(chan struct{})}
}

func (b *closedAfterResponse) wait() bool {
	if b.r.Len() > 0 {
		return false
	}
	select {
	case <-b.closed:
	case <-time.After(time.Second):
	}
	return true
}

func (b *closedAfterResponse) Read(p []byte) (int, error) {
	if b.wait() {
		return 0, io.EOF
	}
	return b.r.Read(p)
}

func (b *closedAfterResponse) WriteTo(w io.Writer) (int64, error) {
	if b.wait() {
		return 0, io.EOF // what the SDK's closed body answers
	}
	return b.r.WriteTo(w)
}

func (b *closedAfterResponse) Close() error {
	b.closeOne.Do(func() { close(b.closed) })
	return nil
}

func TestBodyClosedEarlyKeepsTheConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.(http.Flusher).Flush() // the headers: the client's Do returns
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "streamed answer")
	}))
	defer srv.Close()
	c := SDKHTTPClient(srv.Client())
	for i := 0; i < 3; i++ {
		body := newBody(200)
		req, _ := http.NewRequest("POST", srv.URL, body)
		req.ContentLength = 200
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body.Close() // as the SDK does right after Do
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != "streamed answer" {
			t.Fatalf("request %d: %q, %v", i, b, err)
		}
	}
}
