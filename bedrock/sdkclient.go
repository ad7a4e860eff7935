package bedrock

import (
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/httpbody"
)

// SDKHTTPClient returns c as an AWS SDK client's HTTP client, with request
// bodies that net/http cannot mistake for failed ones. New uses it for its
// own clients; every other SDK client of the process (Secrets Manager, an
// SDK client in a test) needs it too. Nil c means http.DefaultClient.
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
func SDKHTTPClient(c *http.Client) aws.HTTPClient {
	if c == nil {
		c = http.DefaultClient
	}
	return sdkClient{c}
}

type sdkClient struct{ c *http.Client }

func (cl sdkClient) Do(req *http.Request) (*http.Response, error) {
	if _, ok := req.Body.(io.WriterTo); ok {
		req.Body = readCloser{req.Body}
	}
	resp, err := cl.c.Do(req)
	if err == nil && resp.ContentLength > httpbody.MaxUpstreamBytes {
		// The SDK reads a body whole before it decodes it: a length
		// this large is refused before anything is read or allocated.
		resp.Body.Close()
		return nil, &claudebridge.Error{Code: claudebridge.EINTERNAL, Status: http.StatusBadGateway,
			Message: fmt.Sprintf("Bedrock's answer declares %d bytes, more than the %d MB accepted", resp.ContentLength, httpbody.MaxUpstreamBytes>>20)}
	}
	return resp, err
}

// readCloser is an io.ReadCloser and nothing more.
type readCloser struct{ io.ReadCloser }

// defaultHTTPClient is New's client when Options give none: pooled for
// concurrent streams, trusting what the AWS configuration trusts.
func defaultHTTPClient(awsCfg aws.Config) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256
	if b, ok := awsCfg.HTTPClient.(*awshttp.BuildableClient); ok && b.GetTransport() != nil {
		t.TLSClientConfig = b.GetTransport().TLSClientConfig.Clone()
	}
	return &http.Client{Transport: t}
}
