package lambdaurl

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// errClientGone ends the writes of a handler whose answer the Runtime API
// no longer reads (the client went away, or the invocation ended).
var errClientGone = errors.New("lambdaurl: the function URL's client is gone")

// writer is the http.ResponseWriter of one invocation. Its status and
// headers are taken as net/http takes them (at WriteHeader, else at the
// first Write), and sent when the handler first writes or flushes, or
// returns; then each Write is handed, whole, to the one reader of the
// answer's body (the POST to the Runtime API), which sends it as one chunk
// before the Write returns. A Flush has nothing left to push.
type writer struct {
	header http.Header

	mu          sync.Mutex
	wroteHeader bool
	status      int
	sent        http.Header // header as it was at WriteHeader
	deadline    time.Time

	committed  chan struct{} // closed once status and headers are final
	commitOnce sync.Once

	writes chan []byte   // a Write's bytes, to the reader
	reads  chan int      // how many of them the reader took
	gone   chan struct{} // closed when the reader stops reading
	goneMu sync.Once     //
	done   chan struct{} // closed when the handler has returned
	failed error         // set before done: the handler panicked
}

func newWriter() *writer {
	return &writer{
		header:    http.Header{},
		committed: make(chan struct{}),
		writes:    make(chan []byte),
		reads:     make(chan int),
		gone:      make(chan struct{}),
		done:      make(chan struct{}),
	}
}

func (w *writer) Header() http.Header { return w.header }

// WriteHeader records the status and a copy of the headers, as net/http
// does; 1xx statuses are not sent (a function URL has no interim answers).
func (w *writer) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wroteHeader || code < 200 {
		return
	}
	w.wroteHeader = true
	w.status = code
	w.sent = w.header.Clone()
}

// commit makes status and headers final, sniffing the content type from
// first as net/http would when the handler set none.
func (w *writer) commit(first []byte) {
	w.commitOnce.Do(func() {
		w.mu.Lock()
		if !w.wroteHeader {
			w.wroteHeader = true
			w.status = http.StatusOK
			w.sent = w.header.Clone()
		}
		if _, set := w.sent["Content-Type"]; !set && len(first) > 0 {
			w.sent.Set("Content-Type", http.DetectContentType(first))
		}
		w.mu.Unlock()
		close(w.committed)
	})
}

// Write hands p to the reader and returns once it has taken all of it, or
// the reader is gone, or the write deadline passes.
func (w *writer) Write(p []byte) (int, error) {
	w.commit(p)
	if len(p) == 0 {
		return 0, nil
	}
	var expired <-chan time.Time
	w.mu.Lock()
	deadline := w.deadline
	w.mu.Unlock()
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	n := 0
	for len(p) > 0 {
		select {
		case w.writes <- p:
			took := <-w.reads
			p = p[took:]
			n += took
		case <-w.gone:
			return n, errClientGone
		case <-expired:
			return n, os.ErrDeadlineExceeded
		}
	}
	return n, nil
}

// Flush sends the status and headers if they were not yet; what was
// written is already on its way.
func (w *writer) Flush() { w.commit(nil) }

// SetWriteDeadline bounds how long a Write may wait for the reader, as a
// connection's write deadline does (http.ResponseController).
func (w *writer) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	w.deadline = t
	w.mu.Unlock()
	return nil
}

// finish ends the answer once the handler has returned; failed, when not
// nil, is the panic that ended it.
func (w *writer) finish(failed error) {
	w.failed = failed
	w.commit(nil)
	close(w.done)
}

// read is the body's Read: the next Write's bytes, then io.EOF once the
// handler has returned (or its panic).
func (w *writer) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	select {
	case b := <-w.writes:
		n := copy(p, b)
		w.reads <- n
		return n, nil
	case <-w.done:
		if w.failed != nil {
			return 0, w.failed
		}
		return 0, io.EOF
	case <-w.gone:
		return 0, io.ErrClosedPipe
	}
}

// stopReading makes the handler's writes fail from now on.
func (w *writer) stopReading() { w.goneMu.Do(func() { close(w.gone) }) }

// headers are the committed headers as a function URL takes them: one
// value per name (several joined by commas, as HTTP allows), cookies
// apart. The framing headers are the function URL's own to set.
func (w *writer) headers() (map[string]string, []string) {
	out := make(map[string]string, len(w.sent))
	var cookies []string
	for name, values := range w.sent {
		switch name {
		case "Set-Cookie":
			cookies = append(cookies, values...)
		case "Content-Length", "Transfer-Encoding", "Connection", "Trailer":
		default:
			if len(values) > 0 {
				out[name] = strings.Join(values, ", ")
			}
		}
	}
	return out, cookies
}
