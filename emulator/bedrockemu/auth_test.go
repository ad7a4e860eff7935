package bedrockemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/auth/bearer"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/claudebridge/claudebridge/bedrock"
	"github.com/claudebridge/claudebridge/emulator"
	"github.com/claudebridge/claudebridge/sigv4"
)

// signedRequest is a POST of body to url signed by the SDK's SigV4 signer
// with the test credentials.
func signedRequest(t *testing.T, url string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret},
		req, hex.EncodeToString(sum[:]), "bedrock", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func apiErrorCode(t *testing.T, err error) (string, int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an API error", err, err)
	}
	status := 0
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

func TestSigV4Refusals(t *testing.T) {
	srv := newBedrockServer(t, Options{})
	in := &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: invokeBody("hi", nil)}

	_, err := runtimeClient(srv, testKeyID, "wrong-secret").InvokeModel(context.Background(), in)
	if code, status := apiErrorCode(t, err); code != "InvalidSignatureException" || status != 403 {
		t.Errorf("wrong secret: %s %d", code, status)
	}
	_, err = runtimeClient(srv, "AKIDUNKNOWN", testSecret).InvokeModel(context.Background(), in)
	if code, status := apiErrorCode(t, err); code != "UnrecognizedClientException" || status != 403 {
		t.Errorf("unknown key: %s %d", code, status)
	}

	resp, err := http.Post(srv.URL+"/model/"+sonnet45+"/invoke", "application/json", bytes.NewReader(invokeBody("hi", nil)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") == "" || !bytes.Contains(body, []byte(sigv4.MsgMissingAuthToken)) {
		t.Errorf("unsigned: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	// A body changed after signing no longer matches the signature.
	req := signedRequest(t, srv.URL+"/model/"+sonnet45+"/invoke", invokeBody("hi", nil))
	req.Body = io.NopCloser(bytes.NewReader(invokeBody("tampered", nil)))
	req.ContentLength = -1
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType")[:len("InvalidSignatureException")] != "InvalidSignatureException" {
		t.Errorf("tampered body: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}

	// A signature older than 15 minutes has expired.
	late := newBedrockServer(t, Options{Now: func() time.Time { return time.Now().Add(time.Hour) }})
	_, err = runtimeClient(late, testKeyID, testSecret).InvokeModel(context.Background(), in)
	if code, status := apiErrorCode(t, err); code != "InvalidSignatureException" || status != 403 {
		t.Errorf("expired: %s %d", code, status)
	}
}

func TestAnyKeyWhenNoCredentials(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	_, err := runtimeClient(srv, "ANYKEY", "any-secret").InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: invokeBody("hi", nil)})
	if err != nil {
		t.Fatalf("well-formed signature with unknown key: %v", err)
	}
}

func TestBearerToken(t *testing.T) {
	// The SDK sends bearer tokens over HTTPS only.
	srv := httptest.NewTLSServer(New(Options{BearerTokens: []string{"ABSKgood-key"}}))
	defer srv.Close()
	client := func(token string) *bedrockruntime.Client {
		return bedrockruntime.New(bedrockruntime.Options{
			Region:                  "us-east-1",
			BaseEndpoint:            aws.String(srv.URL),
			HTTPClient:              bedrock.SDKHTTPClient(srv.Client()),
			Retryer:                 aws.NopRetryer{},
			BearerAuthTokenProvider: bearer.StaticTokenProvider{Token: bearer.Token{Value: token}},
			AuthSchemePreference:    []string{"httpBearerAuth"},
		})
	}
	in := &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: invokeBody("hi", nil)}
	if _, err := client("ABSKgood-key").InvokeModel(context.Background(), in); err != nil {
		t.Fatalf("good key: %v", err)
	}
	_, err := client("ABSKbad-key").InvokeModel(context.Background(), in)
	var denied *types.AccessDeniedException
	assertAPIError(t, err, &denied, 403)
}

func TestHTTP2PriorKnowledge(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := emulator.NewHTTPServer(New(Options{Credentials: map[string]string{testKeyID: testSecret}}))
	go server.Serve(ln)
	defer server.Close()

	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: protocols}}
	url := "http://" + ln.Addr().String()

	req := signedRequest(t, url+"/model/"+sonnet45+"/invoke", invokeBody("over h2", nil))
	resp, err := h2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("proto %s status %d: %s", resp.Proto, resp.StatusCode, body)
	}
	var msg map[string]any
	if json.Unmarshal(body, &msg) != nil || msg["type"] != "message" {
		t.Errorf("body %s", body)
	}

	// The SDK itself over HTTP/2, streaming.
	client := bedrockruntime.New(bedrockruntime.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url), HTTPClient: h2, Retryer: aws.NopRetryer{},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}, nil
		}),
	})
	out, err := client.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(sonnet45), Body: invokeBody("stream over h2", nil)})
	if err != nil {
		t.Fatal(err)
	}
	events, err := readChunks(out.GetStream())
	if err != nil || len(events) == 0 || events[len(events)-1]["type"] != "message_stop" {
		t.Errorf("h2 stream: %d events, %v", len(events), err)
	}

	// HTTP/1.1 still works on the same port.
	req = signedRequest(t, url+"/model/"+sonnet45+"/invoke", invokeBody("over h1", nil))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 1 || resp.StatusCode != 200 {
		t.Errorf("h1: %s %d", resp.Proto, resp.StatusCode)
	}
}
