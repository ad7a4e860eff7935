package gateway_test

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/mock"
)

// arrived is a stream all of whose events came in one read: each but the
// last says the next is buffered.
type arrived struct {
	events []claudebridge.Event
	next   int
}

func (a *arrived) Next() (claudebridge.Event, error) {
	if a.next == len(a.events) {
		return claudebridge.Event{}, io.EOF
	}
	a.next++
	return a.events[a.next-1], nil
}

func (a *arrived) Buffered() bool { return a.next < len(a.events) }
func (a *arrived) Close() error   { return nil }

// flushCounter counts the flushes a handler asks for.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushes int
}

func (f *flushCounter) Flush() {
	f.flushes++
	f.ResponseRecorder.Flush()
}

var burst = []claudebridge.Event{
	{Type: "message_start", Data: []byte(`{"type":"message_start"}`)},
	{Type: "content_block_start", Data: []byte(`{"type":"content_block_start"}`)},
	{Type: "content_block_delta", Data: []byte(`{"type":"content_block_delta"}`)},
	{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)},
}

func serveStream(t *testing.T, s claudebridge.Stream) *flushCounter {
	t.Helper()
	g := streaming(nil)
	g.Upstream = &mock.Upstream{StreamFn: func(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
		return s, nil
	}}
	w := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
	g.ServeHTTP(w, streamRequest())
	if got, want := len(eventNames(w.Body.String())), len(burst); got != want {
		t.Fatalf("%d events reached the client, want %d:\n%s", got, want, w.Body.String())
	}
	return w
}

func TestEventsThatArrivedTogetherAreFlushedTogether(t *testing.T) {
	w := serveStream(t, &arrived{events: burst})
	if got, want := w.flushes, 1; got != want {
		t.Errorf("%d flushes, want %d", got, want)
	}
}

func TestAStreamThatCannotTellIsFlushedAfterEveryEvent(t *testing.T) {
	w := serveStream(t, &mock.Stream{Events: burst})
	if got, want := w.flushes, len(burst); got != want {
		t.Errorf("%d flushes, want %d", got, want)
	}
}

// Once a stream has begun, no retry is left: the gateway lets go of the
// request's body, which would otherwise live as long as the answer.
func TestAStreamThatHasBegunHoldsNoRequestBody(t *testing.T) {
	gate := make(chan struct{}, 1)
	gate <- struct{}{} // the first event, then the model thinks
	var req *claudebridge.Request
	opened := make(chan struct{})
	g := streaming(nil)
	g.Upstream = &mock.Upstream{StreamFn: func(_ context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
		req = r
		close(opened)
		return &mock.Stream{Events: burst, Gate: gate}, nil
	}}
	w := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.ServeHTTP(w, streamRequest())
	}()
	<-opened
	// The second event can pass only once the handler waits for it, after
	// it has written the first: by then the body is let go of.
	gate <- struct{}{}
	gate <- struct{}{}
	if got := len(req.Body) + len(req.Fields); got != 0 {
		t.Errorf("the request still holds %d body bytes and fields while its stream runs", got)
	}
	close(gate)
	<-done
}
