package h1

import (
	"bufio"
	"io"
	"net/http"
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
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !token(method) ||
		len(target) == 0 || target[0] != '/' || hasCTL(target) || strings.IndexByte(target, ' ') >= 0 {
		return nil, false
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, false
	}
	lines := strings.Count(rest, "\r\n") - 1
	req := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, lines),
		RequestURI: target,
	}
	values := make([]string, lines) // the first value of each name
	var key [64]byte
	for len(rest) > 2 {
		line, rest, _ = strings.Cut(rest, "\r\n")
		k, v, ok := strings.Cut(line, ":")
		if !ok || len(k) > len(key) || !token(k) || !valueBytes(v) {
			return nil, false // folded lines and odd names too
		}
		v = strings.Trim(v, " \t")
		name := headerName(k, key[:0])
		if vv := req.Header[name]; vv != nil {
			req.Header[name] = append(vv, v)
		} else {
			values[0] = v
			req.Header[name], values = values[:1:1], values[1:]
		}
	}
	h := req.Header
	if len(h["Host"]) > 1 || len(h["Content-Length"]) > 1 || h["Transfer-Encoding"] != nil || h["Pragma"] != nil {
		return nil, false
	}
	req.Host = h.Get("Host")
	delete(h, "Host") // as http.ReadRequest does
	req.Close = httpguts.HeaderValuesContainsToken(h["Connection"], "close")
	req.Body = http.NoBody
	if cl := h["Content-Length"]; cl != nil {
		n, ok := parseLength(cl[0])
		if !ok {
			return nil, false
		}
		req.ContentLength = n
		if n > 0 {
			req.Body = &fixedBody{r: br, left: n}
		}
	}
	return req, true
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

// valueBytes reports a field value textproto takes as it is: no control
// bytes but tab.
func valueBytes(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
