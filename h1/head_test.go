package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// readBoth reads raw with parseHead and with http.ReadRequest. lean is nil
// when parseHead passed the head on.
func readBoth(t *testing.T, raw string) (lean, std *http.Request, leanBody, stdBody string, leanErr, stdErr error) {
	t.Helper()
	std, stdErr = http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if stdErr == nil {
		b, err := io.ReadAll(std.Body)
		stdBody, stdErr = string(b), err
	}
	end := strings.Index(raw, "\r\n\r\n")
	if end < 0 {
		return nil, std, "", stdBody, nil, stdErr
	}
	br := bufio.NewReader(strings.NewReader(raw[end+4:]))
	lean, ok := parseHead([]byte(raw[:end+4]), br)
	if !ok {
		return nil, std, "", stdBody, nil, stdErr
	}
	b, err := io.ReadAll(lean.Body)
	return lean, std, string(b), stdBody, err, stdErr
}

// sameRequest fails unless parseHead either passed raw on or read it as
// http.ReadRequest does.
func sameRequest(t *testing.T, raw string) (lean bool) {
	t.Helper()
	l, s, lb, sb, le, se := readBoth(t, raw)
	if l == nil {
		return false
	}
	if s == nil {
		t.Fatalf("parseHead took %q, which http.ReadRequest refuses: %v", raw, se)
	}
	if l.Method != s.Method || l.RequestURI != s.RequestURI || l.URL.String() != s.URL.String() ||
		l.URL.Path != s.URL.Path || l.URL.RawQuery != s.URL.RawQuery || l.Proto != s.Proto ||
		l.ProtoMajor != s.ProtoMajor || l.ProtoMinor != s.ProtoMinor || l.Host != s.Host ||
		l.ContentLength != s.ContentLength || l.Close != s.Close || !reflect.DeepEqual(l.Header, s.Header) ||
		!reflect.DeepEqual(l.TransferEncoding, s.TransferEncoding) {
		t.Fatalf("%q read differently:\nparseHead %+v\nReadRequest %+v", raw, l, s)
	}
	if lb != sb || !errors.Is(le, se) && !(le == nil && se == nil) {
		t.Fatalf("%q: bodies %q (%v) and %q (%v)", raw, lb, le, sb, se)
	}
	return true
}

func TestParseHeadReadsAsReadRequest(t *testing.T) {
	const body = `{"model":"m"}`
	for _, c := range []struct {
		raw  string
		lean bool
	}{
		{"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nx-api-key: k\r\nanthropic-version: 2023-06-01\r\nContent-Length: 13\r\n\r\n" + body, true},
		{"POST /v1/messages?beta=true HTTP/1.1\r\nhost: h\r\nconnection: keep-alive\r\nanthropic-beta: a, b\r\nanthropic-beta: c\r\ncontent-length: 13\r\n\r\n" + body, true},
		{"POST /model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke HTTP/1.1\r\nHost: h\r\nX-Amz-Date: 20261123T000000Z\r\nContent-Length: 13\r\n\r\n" + body, true},
		{"POST /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", true},
		{"POST /x HTTP/1.1\r\nHost: h\r\nX-Padded:   v  \t\r\nX-Empty:\r\nX-Utf8: caf\xc3\xa9\r\n\r\n", true},
		{"GET /v1/models HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\nshort", true}, // the body ends early
		// The rest go to http.ReadRequest.
		{"POST /x HTTP/1.0\r\nHost: h\r\n\r\n", false},
		{"POST http://h/x HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false},
		{"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", false},
		{"POST /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", false},
		{"POST /x HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n", false},
		{"POST /x HTTP/1.1\r\n Host: h\r\n\r\n", false},
		{"POST /x HTTP/1.1\r\nHost : h\r\n\r\n", false},
		{"POST /x HTTP/1.1\r\nHost: h\r\nX-Ctl: a\x01b\r\n\r\n", false},
		{"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc", false},
		{"POST /x HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n", false},
		{"PO ST /x HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"POST /a b HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"POST /%zz HTTP/1.1\r\nHost: h\r\n\r\n", false},
	} {
		if got := sameRequest(t, c.raw); got != c.lean {
			t.Errorf("%q: read by parseHead %v, want %v", c.raw, got, c.lean)
		}
	}
}

func FuzzParseHead(f *testing.F) {
	f.Add("POST /v1/messages HTTP/1.1\r\nHost: h\r\ncontent-length: 2\r\nx-api-key: k\r\n\r\n{}")
	f.Add("POST /x?a=%20 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n")
	f.Add("GET / HTTP/1.1\r\nHost: h\r\nX: \t\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		if !strings.Contains(raw, "\r\n\r\n") {
			return
		}
		sameRequest(t, raw)
	})
}

func BenchmarkParseHead(b *testing.B) {
	head := []byte("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nAnthropic-Version: 2023-06-01\r\nX-Api-Key: k\r\nContent-Length: 2\r\n\r\n")
	raw := append(head[:len(head):len(head)], "{}"...)
	b.Run("parseHead", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parseHead(head, nil)
		}
	})
	b.Run("http.ReadRequest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		}
	})
}

// sameResponse fails unless readResponse reads raw as http.ReadResponse
// does, trailer and the bytes left after the body included.
func sameResponse(t *testing.T, raw string, req *http.Request) {
	t.Helper()
	read := func(lean bool) (resp *http.Response, body, left string, err error) {
		br := bufio.NewReader(strings.NewReader(raw))
		if lean {
			resp, err = readResponse(br, req)
		} else {
			resp, err = http.ReadResponse(br, req)
		}
		if err != nil {
			return nil, "", "", err
		}
		b, err := io.ReadAll(resp.Body)
		rest, _ := io.ReadAll(br)
		return resp, string(b), string(rest), err
	}
	l, lb, lrest, le := read(true)
	s, sb, srest, se := read(false)
	if (le == nil) != (se == nil) {
		t.Fatalf("%q: readResponse error %v, http.ReadResponse error %v", raw, le, se)
	}
	if l == nil || s == nil {
		return
	}
	if l.Status != s.Status || l.StatusCode != s.StatusCode || l.Proto != s.Proto || l.ContentLength != s.ContentLength ||
		l.Close != s.Close || !reflect.DeepEqual(l.Header, s.Header) || !reflect.DeepEqual(l.TransferEncoding, s.TransferEncoding) ||
		!reflect.DeepEqual(l.Trailer, s.Trailer) || lb != sb || lrest != srest {
		t.Fatalf("%q read differently:\nreadResponse %+v body %q rest %q\nReadResponse %+v body %q rest %q", raw, l, lb, lrest, s, sb, srest)
	}
}

func TestReadResponseReadsAsReadResponse(t *testing.T) {
	post, _ := http.NewRequest("POST", "http://h/v1/messages", nil)
	head, _ := http.NewRequest("HEAD", "http://h/", nil)
	for _, raw := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nRequest-Id: req_1\r\nContent-Length: 2\r\n\r\n{}NEXT",
		"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nhi\r\n0\r\nX-Sum: 1\r\n\r\nNEXT",
		"HTTP/1.1 529 \r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 5\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n0\r\n\r\n",
		// The rest go to http.ReadResponse.
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nuntil the end",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2",
		"",
	} {
		sameResponse(t, raw, post)
	}
	sameResponse(t, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", head)
}

func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nA: b\r\n\r\nrest")
	f.Fuzz(func(t *testing.T, raw string) {
		req, _ := http.NewRequest("POST", "http://h/", nil)
		sameResponse(t, raw, req)
	})
}
