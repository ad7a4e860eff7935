package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// parseHead reads a request head of the usual shape, as http.ReadRequest
// would read it, and takes its body of declared length from br. head is the
// whole head, its closing blank line included, and is no longer in br. It
// reports false for any other head (an absolute or asterisk target,
// HTTP/1.0, folded or odd header lines, Transfer-Encoding, repeated Host or
// Content-Length, Pragma), which then goes to http.ReadRequest. Why: that
// one builds a textproto reader, a MIME header and a transfer reader per
// request, several microseconds of a hop that should add a hundred or so.
func parseHead(head []byte, br *bufio.Reader) (*http.Request, bool) {
	// One string for the whole head: the target and every value are
	// slices of it, not an allocation each.
	all := string(head)
	line, rest, _ := strings.Cut(all, "\r\n")
	method, line, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(line, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !token(method) || len(target) == 0 || target[0] != '/' {
		return nil, false
	}
	u, err := url.ParseRequestURI(target) // which refuses control bytes
	if err != nil {
		return nil, false
	}
	h, ok := parseFields(rest)
	if !ok {
		return nil, false
	}
	req := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		RequestURI: target,
	}
	if len(h["Host"]) > 1 || len(h["Content-Length"]) > 1 || h["Transfer-Encoding"] != nil || h["Pragma"] != nil {
		return nil, false
	}
	req.Host = h.Get("Host")
	delete(h, "Host") // as http.ReadRequest does
	req.Close = httpguts.HeaderValuesContainsToken(h["Connection"], "close")
	req.Body = http.NoBody
	if cl := h["Content-Length"]; cl != nil {
		if req.ContentLength, req.Body, ok = declaredBody(cl[0], br); !ok {
			return nil, false
		}
	}
	return req, true
}

// parseFields reads the field lines of a head, its closing blank line
// included, as textproto.ReadMIMEHeader would. It reports false for folded
// lines, names that are not tokens and control bytes in values.
func parseFields(lines string) (http.Header, bool) {
	n := strings.Count(lines, "\r\n") - 1
	h := make(http.Header, n)
	values := make([]string, n) // the first value of each name
	var key [64]byte
	for len(lines) > 2 {
		var line string
		line, lines, _ = strings.Cut(lines, "\r\n")
		k, v, ok := strings.Cut(line, ":")
		if !ok || len(k) > len(key) || !token(k) || hasCTL(v) {
			return nil, false
		}
		v = strings.Trim(v, " \t")
		name := headerName(k, key[:0])
		if vv := h[name]; vv != nil {
			h[name] = append(vv, v)
		} else {
			values[0] = v
			h[name], values = values[:1:1], values[1:]
		}
	}
	return h, true
}

// declaredBody reads a Content-Length value and gives the body of that
// length that follows in br.
func declaredBody(length string, br *bufio.Reader) (int64, io.ReadCloser, bool) {
	n, ok := parseLength(length)
	switch {
	case !ok:
		return 0, nil, false
	case n == 0:
		return 0, http.NoBody, true
	}
	return n, &fixedBody{r: br, left: n}, true
}

// fixedBody is a body of declared length, read from the connection.
type fixedBody struct {
	r    *bufio.Reader
	left int64
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	if b.left == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

func (b *fixedBody) Close() error { return nil }

// headerName gives k in canonical form (content-type: Content-Type), as
// textproto does for a valid name: k itself when it is, or one of the
// names clients send most, without an allocation either way.
func headerName(k string, scratch []byte) string {
	upper, canonical := true, true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
			canonical = false
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
			canonical = false
		}
		scratch = append(scratch, c)
		upper = c == '-'
	}
	if canonical {
		return k
	}
	if s, ok := commonNames[string(scratch)]; ok {
		return s
	}
	return string(scratch)
}

var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Connection", "Content-Type",
		"Content-Length", "Authorization", "X-Api-Key", "Anthropic-Version", "Anthropic-Beta",
		"Anthropic-Dangerous-Direct-Browser-Access", "X-Amz-Date", "X-Amz-Security-Token",
		"X-Amz-Content-Sha256", "Amz-Sdk-Invocation-Id", "Amz-Sdk-Request", "X-Amzn-Bedrock-Accept",
		"X-Stainless-Lang", "X-Stainless-Package-Version", "X-Stainless-Os", "X-Stainless-Arch",
		"X-Stainless-Runtime", "X-Stainless-Runtime-Version", "X-Stainless-Retry-Count", "X-Stainless-Timeout",
		"X-App", "Origin", "Referer", "Sec-Fetch-Mode",
	} {
		m[k] = k
	}
	return m
}()

// parseLength reads a Content-Length value: digits only, as net/http takes.
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// readResponse reads the response to req from br. A head of the usual
// shape (HTTP/1.1, a final status, a body of declared length or chunked)
// that has arrived whole is read here, as http.ReadResponse would read it;
// any other goes to http.ReadResponse.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // as http.ReadResponse reports it
		}
		return nil, err
	}
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		return http.ReadResponse(br, req)
	}
	resp, ok := parseResponseHead(buf[:end+4], br, req)
	if !ok {
		return http.ReadResponse(br, req)
	}
	br.Discard(end + 4)
	return resp, nil
}

func parseResponseHead(head []byte, br *bufio.Reader, req *http.Request) (*http.Response, bool) {
	all := string(head)
	line, rest, _ := strings.Cut(all, "\r\n")
	status, ok := strings.CutPrefix(line, "HTTP/1.1 ")
	if !ok || len(status) < 4 || status[3] != ' ' || req.Method == http.MethodHead {
		return nil, false
	}
	code, ok := parseLength(status[:3])
	if !ok || code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return nil, false // informational answers and bodiless ones too
	}
	h, ok := parseFields(rest)
	if !ok || h["Trailer"] != nil {
		return nil, false // a declared trailer is read by http.ReadResponse
	}
	resp := &http.Response{
		Status:     status,
		StatusCode: int(code),
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Body:       http.NoBody,
		Request:    req,
	}
	if httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		resp.Close = true
		delete(h, "Connection") // as http.ReadResponse does
	}
	switch te, cl := h["Transfer-Encoding"], h["Content-Length"]; {
	case len(te) == 1 && te[0] == "chunked":
		delete(h, "Transfer-Encoding")
		delete(h, "Content-Length")
		resp.TransferEncoding = []string{"chunked"}
		resp.ContentLength = -1
		resp.Body = &chunkedBody{r: br, chunks: httputil.NewChunkedReader(br), resp: resp}
	case te == nil && len(cl) == 1:
		if resp.ContentLength, resp.Body, ok = declaredBody(cl[0], br); !ok {
			return nil, false
		}
	default:
		return nil, false // a body up to the end of the connection, or odd framing
	}
	return resp, true
}

// chunkedBody is a chunked response body; its trailer, if any, goes to
// the response's Trailer at the end.
type chunkedBody struct {
	r      *bufio.Reader
	chunks io.Reader
	resp   *http.Response
	done   bool
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.chunks.Read(p)
	if err == io.EOF {
		if err = b.readTrailer(); err == nil {
			b.done = true
			err = io.EOF
		}
	}
	return n, err
}

func (b *chunkedBody) readTrailer() error {
	if end, _ := b.r.Peek(2); string(end) == "\r\n" {
		b.r.Discard(2)
		return nil
	}
	if !trailerEnds(b.r) {
		return errors.New("h1: trailer too long or cut short")
	}
	trailer, err := textproto.NewReader(b.r).ReadMIMEHeader()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	b.resp.Trailer = http.Header(trailer)
	return nil
}

func (b *chunkedBody) Close() error { return nil }

// trailerEnds reports whether the blank line that ends a trailer is within
// what br can buffer, so that a trailer cannot grow without bound.
func trailerEnds(br *bufio.Reader) bool {
	for n := 4; ; n++ {
		buf, err := br.Peek(n)
		if bytes.HasSuffix(buf, []byte("\r\n\r\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
}
