package h1

import (
	"bufio"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// response is the http.ResponseWriter of a request served lean. Its head
// is written when the handler first flushes, when the body outgrows
// holdMax, or when the handler returns; a body that was never flushed gets
// a Content-Length, a longer one is chunked, as net/http does.
type response struct {
	sc            *serverConn
	req           *http.Request
	header        http.Header
	status        int
	contentLength int64 // declared by the handler, or -1
	// pending is body not yet in sc.bw: all of it until the head is
	// written, then, for a chunked body, what the next chunk will carry.
	pending     []byte
	written     int64
	wroteHeader bool // the status is set
	committed   bool // the head is on its way
	chunked     bool
	closeAfter  bool
	err         error
}

const holdMax = 4 << 10

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader || w.err != nil {
		return
	}
	if code < 100 || code > 999 {
		panic("h1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// An informational answer goes out now; the final one follows.
		w.writeStatusLine(code)
		writeHeader(w.sc.bw, w.header)
		w.sc.bw.WriteString("\r\n")
		w.flushBuffered()
		return
	}
	w.wroteHeader = true
	w.status = code
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		} else {
			w.header.Del("Content-Length")
		}
	}
}

func (w *response) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.committed {
		if w.contentLength < 0 && len(w.pending)+len(p) <= holdMax {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.commit(false)
	}
	w.writeBody(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush sends what is written so far; the body is chunked from then on
// unless its length was declared.
func (w *response) Flush() {
	w.FlushError()
}

// FlushError is Flush that reports a failed write, for
// http.ResponseController.
func (w *response) FlushError() error {
	if w.err != nil {
		return w.err
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false)
	}
	w.endChunk()
	w.flushBuffered()
	return w.err
}

// finish completes the response once the handler has returned.
func (w *response) finish() {
	if w.err != nil {
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true)
	}
	if w.chunked {
		w.endChunk()
		w.sc.bw.WriteString("0\r\n\r\n")
	} else if w.contentLength >= 0 && w.written < w.contentLength && bodyAllowed(w.status) {
		// Shorter than declared: the client can only tell by the end of
		// the connection.
		w.closeAfter = true
	}
	w.flushBuffered()
}

// commit writes the head, and the pending body after it unless that is
// the start of the first chunk. done says the handler has returned, so the
// pending body is the whole body.
func (w *response) commit(done bool) {
	w.committed = true
	h := w.header
	if w.req.Close || h.Get("Connection") == "close" {
		w.closeAfter = true
	}
	h.Del("Connection")
	h.Del("Transfer-Encoding")
	if w.closeAfter {
		h.Set("Connection", "close")
	}
	if _, ok := h["Date"]; !ok { // a nil value suppresses it, as in net/http
		h["Date"] = []string{httpDate(time.Now())}
	}
	if bodyAllowed(w.status) {
		if _, ok := h["Content-Type"]; !ok && len(w.pending) > 0 {
			h.Set("Content-Type", http.DetectContentType(w.pending))
		}
		switch {
		case w.contentLength >= 0:
		case done:
			w.contentLength = int64(len(w.pending))
			h.Set("Content-Length", strconv.Itoa(len(w.pending)))
		default:
			w.chunked = true
			h.Set("Transfer-Encoding", "chunked")
		}
	}
	w.writeStatusLine(w.status)
	writeHeader(w.sc.bw, h)
	w.sc.bw.WriteString("\r\n")
	if !w.chunked && len(w.pending) > 0 {
		_, w.err = w.sc.bw.Write(w.pending)
		w.pending = w.pending[:0]
	}
}

func (w *response) writeStatusLine(code int) {
	bw := w.sc.bw
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(code))
	bw.WriteByte(' ')
	if text := http.StatusText(code); text != "" {
		bw.WriteString(text)
	} else {
		bw.WriteString("status code " + strconv.Itoa(code))
	}
	bw.WriteString("\r\n")
}

func (w *response) writeBody(p []byte) {
	if len(p) == 0 {
		return
	}
	if w.chunked {
		// Writes between two flushes make one chunk, as in net/http: an
		// SSE stream's events do not each cost a chunk's framing.
		if len(w.pending)+len(p) > holdMax {
			w.endChunk()
		}
		if len(p) >= holdMax {
			w.writeChunk(p)
			return
		}
		w.pending = append(w.pending, p...)
		return
	}
	_, w.err = w.sc.bw.Write(p)
}

// endChunk writes the pending chunk, if any.
func (w *response) endChunk() {
	if len(w.pending) > 0 {
		w.writeChunk(w.pending)
		w.pending = w.pending[:0]
	}
}

func (w *response) writeChunk(p []byte) {
	bw := w.sc.bw
	bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
	bw.WriteString("\r\n")
	bw.Write(p)
	if _, err := bw.WriteString("\r\n"); err != nil && w.err == nil {
		w.err = err
	}
}

func (w *response) flushBuffered() {
	if err := w.sc.bw.Flush(); err != nil && w.err == nil {
		w.err = err
	}
}

// bodyAllowed reports whether a status may carry a body (RFC 9110 6.4.1).
func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199) && status != http.StatusNoContent && status != http.StatusNotModified
}

// writeHeader writes h as http.Header.Write does, less the sorting, which
// HTTP does not ask for: names that are not tokens are dropped, line breaks
// in values become spaces and values are trimmed, so that no handler can
// split a response.
func writeHeader(bw *bufio.Writer, h http.Header) {
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vv {
			if !cleanValue(v) {
				v = textproto.TrimString(newlineToSpace.Replace(v))
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
}

var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// httpDate formats t for the Date field, once a second rather than once a
// response.
func httpDate(t time.Time) string {
	sec := t.Unix()
	if d := lastDate.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &date{sec: sec, text: t.UTC().Format(http.TimeFormat)}
	lastDate.Store(d)
	return d.text
}

type date struct {
	sec  int64
	text string
}

var lastDate atomic.Pointer[date]
