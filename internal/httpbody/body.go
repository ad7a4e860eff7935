// Package httpbody reads HTTP message bodies whole.
package httpbody

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// MaxUpstreamBytes bounds what an upstream's answer may declare in its
// Content-Length, and the length of an answer read whole: an upstream (or
// whoever answers in its place) cannot make the gateway allocate more. No
// answer of a model comes near it; a stream declares no length.
const MaxUpstreamBytes = 64 << 20

// ErrTooLarge is returned for a body longer than the limit.
var ErrTooLarge = errors.New("body too large")

// Read reads r to its end, refusing more than limit bytes. size is the
// length the message declared, or -1. A declared size is allocated at once:
// io.ReadAll starts at 512 bytes and grows, which copies a 1 KB body twice
// and a 1 MB one a dozen times, and touches memory a hop does not need.
func Read(r io.Reader, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, ErrTooLarge
	}
	capacity := int64(512)
	if size >= 0 {
		capacity = size + 1 // room to see the end without growing
	}
	b := make([]byte, 0, capacity)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, ErrTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// A request body must arrive within bodyGrace plus a second per
// bodyMinRate bytes received (1 MB: 42 s): a client on a slow link gets
// through, one dripping bytes cannot hold its connection for ever.
// http.Server.ReadTimeout cannot do this: it would also end the read that
// watches for the client leaving a long stream.
const (
	bodyGrace   = 10 * time.Second
	bodyMinRate = 32 << 10 // bytes per second: 256 kbit/s
)

// ReadRequest reads r's body as Read does, within a read deadline that
// moves with the bytes received, and clears the deadline before returning.
func ReadRequest(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	rc := http.NewResponseController(w)
	defer rc.SetReadDeadline(time.Time{})
	return Read(&deadlineReader{r: r.Body, rc: rc, start: time.Now()}, r.ContentLength, limit)
}

// deadlineReader moves the read deadline before each read.
type deadlineReader struct {
	r     io.Reader
	rc    *http.ResponseController
	start time.Time
	n     int64
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.rc.SetReadDeadline(d.start.Add(bodyGrace + time.Duration(d.n)*(time.Second/bodyMinRate)))
	n, err := d.r.Read(p)
	d.n += int64(n)
	return n, err
}

// Paced returns r's body read within the deadline ReadRequest keeps, for a
// handler that reads the body itself (a JSON decoder, say). The deadline is
// cleared when the body ends, fails or is closed, so that it cannot cut the
// answer that follows.
func Paced(w http.ResponseWriter, r *http.Request) io.ReadCloser {
	rc := http.NewResponseController(w)
	return &pacedBody{deadlineReader: deadlineReader{r: r.Body, rc: rc, start: time.Now()}, body: r.Body}
}

type pacedBody struct {
	deadlineReader
	body io.Closer
	done bool
}

func (p *pacedBody) Read(b []byte) (int, error) {
	if p.done {
		return p.deadlineReader.r.Read(b)
	}
	n, err := p.deadlineReader.Read(b)
	if err != nil {
		p.clear()
	}
	return n, err
}

func (p *pacedBody) Close() error {
	p.clear()
	return p.body.Close()
}

func (p *pacedBody) clear() {
	if !p.done {
		p.done = true
		p.rc.SetReadDeadline(time.Time{})
	}
}
