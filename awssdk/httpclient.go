// Package awssdk holds what claudebridge needs around the AWS SDK for Go v2
// that the SDK does not provide itself.
package awssdk

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// HTTPClient returns c as the SDK's HTTP client, with request bodies that
// net/http cannot mistake for failed ones.
//
// Why: the SDK wraps each request body in a reader whose WriteTo returns
// io.EOF as an error once the SDK has closed it, and the SDK closes it as
// soon as the response headers arrive. net/http sends such a body straight
// to the socket after flushing the headers, then probes the body once more
// for extra bytes; when the server answered fast, the probe runs after the
// SDK's close, gets that io.EOF, takes the request write for failed and
// closes the connection, under the response being read ("use of closed
// network connection" in the middle of a stream). Hiding WriteTo makes the
// probe a Read, which reports the end of a closed body as the plain end of
// input it is.
func HTTPClient(c *http.Client) aws.HTTPClient {
	if c == nil {
		c = http.DefaultClient
	}
	return client{c}
}

type client struct{ c *http.Client }

func (cl client) Do(req *http.Request) (*http.Response, error) {
	if _, ok := req.Body.(io.WriterTo); ok {
		req.Body = readCloser{req.Body}
	}
	return cl.c.Do(req)
}

// readCloser is an io.ReadCloser and nothing more.
type readCloser struct{ io.ReadCloser }
