package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKeyID  = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

// verifying is a server that answers 204 when Verify accepts a request and
// the refusal's type otherwise, on HTTP/1.1 and HTTP/2 without TLS.
func verifying(t *testing.T, v *Verifier) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Protocols: p, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if e := v.Verify(r, body, "bedrock"); e != nil {
			w.Header().Set("X-Amzn-ErrorType", e.Type)
			w.WriteHeader(e.Status)
			io.WriteString(w, e.Message)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func signed(t *testing.T, url, secret, region string, body []byte, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "bedrock", region, at)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestVerify(t *testing.T) {
	v := &Verifier{Region: "us-east-1", Credentials: map[string]string{testKeyID: testSecret}}
	base := verifying(t, v)
	h2 := new(http.Protocols)
	h2.SetUnencryptedHTTP2(true)
	clients := map[string]*http.Client{
		"h1": http.DefaultClient,
		"h2": {Transport: &http.Transport{Protocols: h2}},
	}
	// The model id holds ':' which the SDK sends as %3A and signs as %253A.
	url := base + "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke?x=a%20b&a=1"
	body := []byte(`{"messages":[]}`)
	cases := []struct {
		name, secret, region string
		at                   time.Time
		tamper               bool
		want                 string
	}{
		{name: "good", secret: testSecret, region: "us-east-1", at: time.Now(), want: ""},
		{name: "wrong secret", secret: "other", region: "us-east-1", at: time.Now(), want: "InvalidSignatureException"},
		{name: "wrong region", secret: testSecret, region: "eu-west-1", at: time.Now(), want: "InvalidSignatureException"},
		{name: "expired", secret: testSecret, region: "us-east-1", at: time.Now().Add(-time.Hour), want: "InvalidSignatureException"},
		{name: "tampered body", secret: testSecret, region: "us-east-1", at: time.Now(), tamper: true, want: "InvalidSignatureException"},
	}
	for proto, client := range clients {
		for _, c := range cases {
			req := signed(t, url, c.secret, c.region, body, c.at)
			if c.tamper {
				req.Body = io.NopCloser(strings.NewReader(`{"messages":[1]}`))
				req.ContentLength = -1
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := resp.Header.Get("X-Amzn-ErrorType"); got != c.want {
				t.Errorf("%s %s: %q (%s), want %q", proto, c.name, got, msg, c.want)
			}
			if c.want == "" && resp.ProtoMajor != map[string]int{"h1": 1, "h2": 2}[proto] {
				t.Errorf("%s served over %s", proto, resp.Proto)
			}
		}
	}
}

func TestVerifyRefusals(t *testing.T) {
	v := &Verifier{Credentials: map[string]string{testKeyID: testSecret}}
	cases := []struct {
		name, auth, want string
		status           int
	}{
		{"missing", "", "MissingAuthenticationTokenException", 403},
		{"bearer", "Bearer abc", "IncompleteSignatureException", 400},
		{"no params", "AWS4-HMAC-SHA256 Credential=", "IncompleteSignatureException", 400},
		{"unknown key", "AWS4-HMAC-SHA256 Credential=AKIDOTHER/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "UnrecognizedClientException", 403},
		{"host unsigned", "AWS4-HMAC-SHA256 Credential=" + testKeyID + "/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=x-amz-date, Signature=00", "InvalidSignatureException", 403},
		{"other service", "AWS4-HMAC-SHA256 Credential=" + testKeyID + "/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00", "InvalidSignatureException", 403},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/model/m/invoke", nil)
		r.Header.Set("X-Amz-Date", "20250101T000000Z")
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		v.Now = func() time.Time { return time.Date(2025, 1, 1, 0, 5, 0, 0, time.UTC) }
		e := v.Verify(r, nil, "bedrock")
		if e == nil || e.Type != c.want || e.Status != c.status {
			t.Errorf("%s: %v, want %s %d", c.name, e, c.want, c.status)
		}
	}
}

func TestNoCredentialsChecksFormOnly(t *testing.T) {
	base := verifying(t, &Verifier{})
	resp, err := http.DefaultClient.Do(signed(t, base+"/model/m/invoke", "any-secret", "ap-south-1", []byte("{}"), time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status %d, want 204", resp.StatusCode)
	}
}

func TestCanonicalURIEscapesTwice(t *testing.T) {
	r := httptest.NewRequest("POST", "/model/us.anthropic.claude-v1%3A0/invoke", nil)
	if got, want := canonicalURI(r), "/model/us.anthropic.claude-v1%253A0/invoke"; got != want {
		t.Errorf("canonical URI %q, want %q", got, want)
	}
}

func TestVerifyLeavesHeadersAlone(t *testing.T) {
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("X-Custom", "  a   b ")
	canonicalHeaders(r, []string{"x-custom"})
	if got := r.Header.Get("X-Custom"); got != "  a   b " {
		t.Errorf("header changed to %q", got)
	}
}
