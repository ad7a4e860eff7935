package h1

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// userAgent is sent when a request names none, as net/http sends its own.
const userAgent = "Go-http-client/1.1"

// writeRequest writes req to bw. The requests a gateway sends (a body of
// known length or none, header values that need no cleaning, an ASCII host)
// are written straight, in the form req.Write gives them; any other goes to
// req.Write itself. Why: req.Write sorts the header through a pooled sorter
// and builds a transfer writer per call, a few microseconds on a hop whose
// whole budget is a hundred.
func writeRequest(bw *bufio.Writer, req *http.Request) error {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	uri := req.URL.RequestURI()
	if !plainRequest(req, host, uri) {
		return req.Write(bw)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	if ua, set := req.Header["User-Agent"]; !set {
		bw.WriteString("User-Agent: " + userAgent + "\r\n")
	} else if len(ua) > 0 && ua[0] != "" {
		bw.WriteString("User-Agent: ")
		bw.WriteString(ua[0])
		bw.WriteString("\r\n")
	}
	if req.ContentLength > 0 || req.ContentLength == 0 && sendsZeroLength(method) {
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(req.ContentLength, 10))
		bw.WriteString("\r\n")
	}
	for k, vv := range req.Header {
		if skippedHeader(k) {
			continue
		}
		for _, v := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	_, err := bw.WriteString("\r\n")
	if req.Body == nil || req.Body == http.NoBody {
		return err
	}
	defer req.Body.Close()
	if err != nil {
		return err
	}
	n, err := io.CopyN(bw, req.Body, req.ContentLength)
	if err != nil && err != io.EOF {
		return err
	}
	// A body longer than declared is refused too, as req.Write does.
	extra, err := io.Copy(io.Discard, req.Body)
	if err != nil {
		return err
	}
	if n += extra; n != req.ContentLength {
		return fmt.Errorf("http: ContentLength=%d with Body length %d", req.ContentLength, n)
	}
	return nil
}

// plainRequest reports whether writeRequest can write req itself: every
// part is already in the form req.Write would send, so both give the same
// request (header order aside, which HTTP leaves free).
func plainRequest(req *http.Request, host, uri string) bool {
	if req.ContentLength < 0 || req.ContentLength == 0 && req.Body != nil && req.Body != http.NoBody ||
		req.ContentLength > 0 && req.Body == nil ||
		len(req.TransferEncoding) > 0 || req.Trailer != nil || req.Close || req.Method == http.MethodConnect {
		return false
	}
	if req.Method != "" && !token(req.Method) || !asciiHost(host) || hasCTL(uri) {
		return false
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return false // req.Write drops it
		}
		if k == "User-Agent" && len(vv) > 1 {
			return false
		}
		for _, v := range vv {
			if !cleanValue(v) {
				return false
			}
		}
	}
	return true
}

// sendsZeroLength reports whether req.Write declares an empty body for
// method, as it does for the methods that normally carry one.
func sendsZeroLength(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// skippedHeader reports the fields writeRequest writes from req's own
// fields, or that req.Write never sends from the header.
func skippedHeader(k string) bool {
	switch k {
	case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
		return true
	}
	return false
}

func token(s string) bool {
	for i := 0; i < len(s); i++ {
		if !httpguts.IsTokenRune(rune(s[i])) {
			return false
		}
	}
	return s != ""
}

// asciiHost reports a host that needs neither punycode nor zone removal.
func asciiHost(h string) bool {
	if h == "" || strings.IndexByte(h, '%') >= 0 || !httpguts.ValidHostHeader(h) {
		return false
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			return false
		}
	}
	return true
}

// cleanValue reports a header value that req.Write would send unchanged:
// no control bytes (which it rewrites or refuses) and no surrounding
// blanks (which it trims).
func cleanValue(v string) bool {
	if v != "" && (v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		return false
	}
	return !hasCTL(v)
}

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' && b != '\t' || b == 0x7f {
			return true
		}
	}
	return false
}
