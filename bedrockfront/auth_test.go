package bedrockfront

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/claudebridge/claudebridge"
)

// untouchedBody fails the test when it is read.
type untouchedBody struct{ t *testing.T }

func (b untouchedBody) Read([]byte) (int, error) {
	b.t.Error("the body of an unauthenticated request was read")
	return 0, errors.New("read")
}
func (b untouchedBody) Close() error { return nil }

func TestAStrangersBodyIsNotRead(t *testing.T) {
	h, _ := frontDoor(t, "cb-good-key")
	for name, auth := range map[string]string{
		"no credentials": "",
		"wrong key":      "Bearer cb-bad-key",
		"unknown access key": "AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/" + time.Now().UTC().Format("20060102") +
			"/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
	} {
		r := httptest.NewRequest(http.MethodPost, "/model/"+sonnetBR+"/invoke", nil)
		r.Body = untouchedBody{t}
		r.ContentLength = 1 << 20
		r.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got, want := w.Code, http.StatusForbidden; got != want {
			t.Errorf("%s: status %d, want %d", name, got, want)
		}
	}
}

// signedUnsigned is an InvokeModel request signed with the test key pair
// and x-amz-content-sha256: UNSIGNED-PAYLOAD.
func signedUnsigned(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/model/"+sonnetID+"/invoke", bytes.NewReader(invokeBody(nil)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret},
		req, "UNSIGNED-PAYLOAD", "bedrock", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestAnUnsignedPayloadIsRefusedByDefault(t *testing.T) {
	h, _ := frontDoor(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.DefaultClient.Do(signedUnsigned(t, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusForbidden; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := resp.Header.Get("X-Amzn-ErrorType"), "InvalidSignatureException:"; !strings.HasPrefix(got, want) {
		t.Errorf("X-Amzn-ErrorType %q, want %q...", got, want)
	}
}

func TestAnUnsignedPayloadIsServedWhenAllowed(t *testing.T) {
	_, up := frontDoor(t)
	h := New(Options{Upstream: up, AccessKeys: map[string]string{testKeyID: testSecret}, AllowUnsignedPayload: true})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.DefaultClient.Do(signedUnsigned(t, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
}

func TestABodyOtherThanTheSignedOneIsRefused(t *testing.T) {
	h, _ := frontDoor(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	signedBody := invokeBody(nil)
	sum := sha256.Sum256(signedBody)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/model/"+sonnetID+"/invoke", bytes.NewReader(signedBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret},
		req, hex.EncodeToString(sum[:]), "bedrock", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other := invokeBody(map[string]any{"max_tokens": 4000})
	req.Body, req.ContentLength = readCloser{bytes.NewReader(other)}, int64(len(other))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Header.Get("X-Amzn-ErrorType"), "InvalidSignatureException:"; !strings.HasPrefix(got, want) {
		t.Errorf("X-Amzn-ErrorType %q, want %q...", got, want)
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestCheckedAnswersARefusalAsAccessDenied(t *testing.T) {
	h := Checked(http.NotFoundHandler(), func(*http.Request) error {
		return claudebridge.Errorf(claudebridge.EPERMISSION, "not from this site")
	})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/model/m/invoke", nil))
	if got, want := w.Code, http.StatusForbidden; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := w.Header().Get("X-Amzn-ErrorType"), "AccessDeniedException:"; !strings.HasPrefix(got, want) {
		t.Errorf("X-Amzn-ErrorType %q, want %q...", got, want)
	}
	if got, want := w.Body.String(), "not from this site"; !strings.Contains(got, want) {
		t.Errorf("body %q, want it to hold %q", got, want)
	}
}
