package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signedDeclaring signs body with payloadHash declared in
// x-amz-content-sha256, as S3 clients and hand-made ones do.
func signedDeclaring(t *testing.T, secret string, body []byte, payloadHash string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/model/m/invoke", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: secret},
		req, payloadHash, "bedrock", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestUnsignedPayloadIsRefusedWhenOnlySignedPayloadsAreAccepted(t *testing.T) {
	v := &Verifier{Credentials: map[string]string{testKeyID: testSecret}, SignedPayloadOnly: true}
	r := signedDeclaring(t, testSecret, []byte(`{}`), "UNSIGNED-PAYLOAD")
	_, e := v.VerifyHead(r, "bedrock")
	if e == nil {
		t.Fatal("UNSIGNED-PAYLOAD accepted")
	}
	if got, want := e.Type, "InvalidSignatureException"; got != want {
		t.Errorf("type %q, want %q", got, want)
	}
}

func TestUnsignedPayloadIsAcceptedWhenAllowed(t *testing.T) {
	v := &Verifier{Credentials: map[string]string{testKeyID: testSecret}}
	r := signedDeclaring(t, testSecret, []byte(`{}`), "UNSIGNED-PAYLOAD")
	if e := v.Verify(r, []byte(`{"other":1}`), "bedrock"); e != nil {
		t.Errorf("refused: %v", e)
	}
}

func TestStreamingPayloadIsRefusedWhenOnlySignedPayloadsAreAccepted(t *testing.T) {
	v := &Verifier{Credentials: map[string]string{testKeyID: testSecret}, SignedPayloadOnly: true}
	r := signedDeclaring(t, testSecret, []byte(`{}`), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	if _, e := v.VerifyHead(r, "bedrock"); e == nil {
		t.Error("STREAMING- payload accepted")
	}
}

func TestABodyOtherThanTheDeclaredHashIsRefused(t *testing.T) {
	v := &Verifier{Credentials: map[string]string{testKeyID: testSecret}, SignedPayloadOnly: true}
	r := signedDeclaring(t, testSecret, []byte(`{}`), hashOf([]byte(`{}`)))
	s, e := v.VerifyHead(r, "bedrock")
	if e != nil {
		t.Fatalf("head refused: %v", e)
	}
	e = s.VerifyBody([]byte(`{"swapped":true}`))
	if e == nil {
		t.Fatal("a body other than the signed one was accepted")
	}
	if got, want := e.Type, "InvalidSignatureException"; got != want {
		t.Errorf("type %q, want %q", got, want)
	}
}

func TestTheDeclaredHashsBodyIsAccepted(t *testing.T) {
	v := &Verifier{Credentials: map[string]string{testKeyID: testSecret}, SignedPayloadOnly: true}
	body := []byte(`{"messages":[]}`)
	r := signedDeclaring(t, testSecret, body, hashOf(body))
	if e := v.Verify(r, body, "bedrock"); e != nil {
		t.Errorf("refused: %v", e)
	}
}

func TestAWrongSignatureOverADeclaredHashIsRefusedBeforeTheBody(t *testing.T) {
	v := &Verifier{Credentials: map[string]string{testKeyID: testSecret}}
	r := signedDeclaring(t, "wrong-secret", []byte(`{}`), hashOf([]byte(`{}`)))
	if _, e := v.VerifyHead(r, "bedrock"); e == nil {
		t.Error("the head of a request signed with the wrong secret was accepted")
	}
}

func TestAnUnknownKeyIsRefusedBeforeTheBody(t *testing.T) {
	v := &Verifier{Credentials: map[string]string{"AKIDOTHER": "x"}}
	r := signed(t, "http://127.0.0.1/model/m/invoke", testSecret, "us-east-1", []byte(`{}`), time.Now())
	_, e := v.VerifyHead(r, "bedrock")
	if e == nil {
		t.Fatal("accepted")
	}
	if got, want := e.Type, "UnrecognizedClientException"; got != want {
		t.Errorf("type %q, want %q", got, want)
	}
}

func TestASignatureWithoutADeclaredHashIsCheckedOverTheBody(t *testing.T) {
	v := &Verifier{Credentials: map[string]string{testKeyID: testSecret}, SignedPayloadOnly: true}
	body := []byte(`{"messages":[]}`)
	r := signed(t, "http://127.0.0.1/model/m/invoke", testSecret, "us-east-1", body, time.Now())
	s, e := v.VerifyHead(r, "bedrock")
	if e != nil {
		t.Fatalf("head refused: %v", e)
	}
	if e := s.VerifyBody([]byte(`{"messages":[1]}`)); e == nil {
		t.Error("another body was accepted")
	}
	if e := s.VerifyBody(body); e != nil {
		t.Errorf("the signed body was refused: %v", e)
	}
}
