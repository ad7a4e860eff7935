package h1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// sameAsRequestWrite checks that writeRequest sends what req.Write sends,
// as a server reads it: method, target, host, header, length and body.
func sameAsRequestWrite(t *testing.T, build func() *http.Request) {
	t.Helper()
	var lean, std bytes.Buffer
	bw := bufio.NewWriter(&lean)
	leanErr := writeRequest(bw, build())
	bw.Flush()
	stdErr := build().Write(&std)
	if (leanErr == nil) != (stdErr == nil) {
		t.Fatalf("writeRequest error %v, req.Write error %v", leanErr, stdErr)
	}
	if stdErr != nil {
		return
	}
	a, errA := readBack(lean.Bytes())
	b, errB := readBack(std.Bytes())
	if (errA == nil) != (errB == nil) {
		t.Fatalf("read back: %v and %v", errA, errB)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("writeRequest sent\n%q\nreq.Write sent\n%q", lean.String(), std.String())
	}
}

type sent struct {
	Method, URI, Host string
	Header            http.Header
	Length            int64
	Chunked           bool
	Body              string
}

// readBack reads a written request as a server would.
func readBack(raw []byte) (sent, error) {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return sent{}, err
	}
	body, err := io.ReadAll(r.Body)
	return sent{r.Method, r.RequestURI, r.Host, r.Header, r.ContentLength, len(r.TransferEncoding) > 0, string(body)}, err
}

func TestWriteRequestSendsWhatRequestWriteSends(t *testing.T) {
	cases := map[string]func() *http.Request{
		"post with a body": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://127.0.0.1:9101/v1/messages?beta=true", strings.NewReader(`{"a":1}`))
			r.Header["X-Api-Key"] = []string{"k"}
			r.Header["Anthropic-Beta"] = []string{"a,b", "c"}
			return r
		},
		"get without a body": func() *http.Request {
			r, _ := http.NewRequest("GET", "https://api.anthropic.com/v1/models?limit=1000", nil)
			return r
		},
		"post without a body declares zero": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://h/x", nil)
			return r
		},
		"delete without a body": func() *http.Request {
			r, _ := http.NewRequest("DELETE", "http://h/x", nil)
			return r
		},
		"own user agent": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://h/x", strings.NewReader("b"))
			r.Header.Set("User-Agent", "claudebridge")
			return r
		},
		"no user agent": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://h/x", strings.NewReader("b"))
			r.Header["User-Agent"] = nil
			return r
		},
		"host field overrides the URL": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://127.0.0.1/x", strings.NewReader("b"))
			r.Host = "bedrock-runtime.us-east-1.amazonaws.com"
			return r
		},
		"escaped path": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://h/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aapplication-inference-profile%2Fx/invoke", strings.NewReader("{}"))
			return r
		},
		// The rest go to req.Write.
		"unknown length is chunked": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://h/x", io.MultiReader(strings.NewReader("abc")))
			return r
		},
		"value with a newline": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://h/x", strings.NewReader("b"))
			r.Header["X-Odd"] = []string{"a\r\nInjected: 1"}
			return r
		},
		"value with blanks around": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://h/x", strings.NewReader("b"))
			r.Header["X-Odd"] = []string{" a "}
			return r
		},
		"invalid field name is dropped": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://h/x", strings.NewReader("b"))
			r.Header["Bad Name"] = []string{"v"}
			return r
		},
		"unicode host": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://h/x", strings.NewReader("b"))
			r.Host = "bücher.example"
			return r
		},
		"body shorter than declared": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://h/x", strings.NewReader("abc"))
			r.ContentLength = 10
			return r
		},
		"close": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://h/x", strings.NewReader("b"))
			r.Close = true
			return r
		},
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) { sameAsRequestWrite(t, build) })
	}
}

func TestWriteRequestTakesTheLeanPathForAGatewayCall(t *testing.T) {
	r, _ := http.NewRequest("POST", "http://127.0.0.1:9101/v1/messages", strings.NewReader(`{}`))
	r.Header["X-Api-Key"] = []string{"k"}
	r.Header["Content-Type"] = []string{"application/json"}
	if !plainRequest(r, r.URL.Host, r.URL.RequestURI()) {
		t.Fatal("a gateway's call is not written by writeRequest itself")
	}
}

func FuzzWriteRequest(f *testing.F) {
	f.Add("POST", "/v1/messages", "h:80", "X-Api-Key", "k", "body", int64(4))
	f.Add("GET", "/?a=b", "h", "User-Agent", "", "", int64(0))
	f.Add("PUT", "/x%20y", "[::1]:8080", "A", " v\t", "x", int64(-1))
	f.Fuzz(func(t *testing.T, method, path, host, key, value, body string, length int64) {
		build := func() *http.Request {
			r := &http.Request{Method: method, URL: &url.URL{Scheme: "http", Host: "h", Path: path}, Host: host,
				Header: http.Header{key: {value}}, ContentLength: length}
			if body != "" {
				r.Body = io.NopCloser(strings.NewReader(body))
			}
			return r
		}
		sameAsRequestWrite(t, build)
	})
}
