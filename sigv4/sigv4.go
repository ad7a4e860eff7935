// Package sigv4 verifies AWS Signature Version 4 on incoming requests the
// way the AWS front end does, with the errors (type, status, message) AWS
// answers with, so that the AWS SDKs see the exceptions they know.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Messages of the AWS front end that callers also send on their own (for a
// bearer token, say) or match in tests.
const (
	MsgMissingAuthToken   = "Missing Authentication Token"
	MsgUnrecognizedClient = "The security token included in the request is invalid."
)

// MaxClockSkew is how far X-Amz-Date may be from the verifier's clock.
const MaxClockSkew = 15 * time.Minute

const amzDateFormat = "20060102T150405Z"

// Verifier checks SigV4 signatures. The zero value accepts any well-formed
// signature for any region, checked against time.Now.
type Verifier struct {
	// Region is the region signatures must be scoped to. Empty: any region.
	Region string
	// Credentials maps access key ids to secret access keys; signatures are
	// verified cryptographically against them. Empty: any key id is accepted
	// and only the form of the signature is checked.
	Credentials map[string]string
	// Now is the clock signatures are checked against; nil is time.Now.
	Now func() time.Time
	// SignedPayloadOnly refuses requests whose signature does not cover the
	// body: x-amz-content-sha256 UNSIGNED-PAYLOAD or STREAMING-*. The AWS
	// SDKs (Go v2, JavaScript v3, botocore) sign the body's SHA-256 for
	// every service but S3.
	SignedPayloadOnly bool
}

// Error is a refusal as AWS words it. Its fields hold no secret: a
// signature mismatch says which canonical request and string to sign were
// expected, as AWS does, and neither contains the secret key.
type Error struct {
	// Type is the AWS error type: MissingAuthenticationTokenException,
	// IncompleteSignatureException, InvalidSignatureException or
	// UnrecognizedClientException.
	Type string
	// Status is the HTTP status AWS answers with (400 or 403).
	Status int
	// Message is AWS's message.
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func refusal(typ string, status int, msg string) *Error {
	return &Error{Type: typ, Status: status, Message: msg}
}

// Verify returns nil when r, whose body is body, carries a valid SigV4
// Authorization header for service, or the error AWS would answer with.
// The body must have been read already; Verify does not read r.Body.
// An Authorization header that is not SigV4 (a bearer token, say) is
// refused as IncompleteSignatureException: callers that take other schemes
// handle them before calling Verify.
func (v *Verifier) Verify(r *http.Request, body []byte, service string) *Error {
	s, e := v.VerifyHead(r, service)
	if e != nil {
		return e
	}
	return s.VerifyBody(body)
}

// Signature is a request whose head VerifyHead accepted; VerifyBody
// finishes the check once the body has been read.
type Signature struct {
	v                 *Verifier
	r                 *http.Request
	params            map[string]string
	scope             []string
	amzDate, secret   string
	signedHeaders     []string
	declaredHash      string // x-amz-content-sha256 as sent, or ""
	signatureVerified bool   // the signature was checked over declaredHash
}

// VerifyHead checks everything the head of r shows, without its body:
// the form of the signature, its date, its scope, its key id and, when the
// client declared the payload's hash in x-amz-content-sha256 (which the
// signature covers), the signature itself. A server calls it before reading
// the body, so that a stranger's body is never read. The body's hash is
// checked by VerifyBody. With SignedPayloadOnly, UNSIGNED-PAYLOAD and the
// STREAMING- forms are refused here.
func (v *Verifier) VerifyHead(r *http.Request, service string) (*Signature, *Error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil, refusal("MissingAuthenticationTokenException", http.StatusForbidden, MsgMissingAuthToken)
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return nil, refusal("IncompleteSignatureException", http.StatusBadRequest, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization="+firstWord(auth))
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		params[k] = val
	}
	var missing []string
	for _, k := range []string{"Credential", "Signature", "SignedHeaders"} {
		if params[k] == "" {
			missing = append(missing, "Authorization header requires '"+k+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return nil, refusal("IncompleteSignatureException", http.StatusBadRequest, strings.Join(missing, " "))
	}
	scope := strings.Split(params["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[0] == "" {
		return nil, refusal("IncompleteSignatureException", http.StatusBadRequest, "Credential should be scoped to a valid region. ")
	}
	keyID, scopeDate, scopeRegion, scopeService := scope[0], scope[1], scope[2], scope[3]

	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, refusal("IncompleteSignatureException", http.StatusBadRequest, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	signedAt, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return nil, refusal("IncompleteSignatureException", http.StatusBadRequest, "Date must be in ISO-8601 'basic format'. Got '"+amzDate+"'.")
	}
	clock := v.Now
	if clock == nil {
		clock = time.Now
	}
	now := clock().UTC()
	switch {
	case signedAt.Before(now.Add(-MaxClockSkew)):
		return nil, refusal("InvalidSignatureException", http.StatusForbidden, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)", amzDate, now.Add(-MaxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat)))
	case signedAt.After(now.Add(MaxClockSkew)):
		return nil, refusal("InvalidSignatureException", http.StatusForbidden, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)", amzDate, now.Add(MaxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat)))
	}
	if scopeDate != amzDate[:8] {
		return nil, refusal("InvalidSignatureException", http.StatusForbidden, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+scopeDate+"' != '"+amzDate[:8]+"', from '"+amzDate+"'.")
	}
	if v.Region != "" && scopeRegion != v.Region {
		return nil, refusal("InvalidSignatureException", http.StatusForbidden, "Credential should be scoped to a valid region. ")
	}
	if scopeService != service {
		return nil, refusal("InvalidSignatureException", http.StatusForbidden, "Credential should be scoped to correct service: '"+service+"'. ")
	}
	signedHeaders := strings.Split(params["SignedHeaders"], ";")
	if !contains(signedHeaders, "host") && !contains(signedHeaders, ":authority") {
		return nil, refusal("InvalidSignatureException", http.StatusForbidden, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	s := &Signature{v: v, r: r, params: params, scope: scope, amzDate: amzDate, signedHeaders: signedHeaders,
		declaredHash: r.Header.Get("X-Amz-Content-Sha256")}
	if len(v.Credentials) == 0 {
		return s, nil
	}
	secret, known := v.Credentials[keyID]
	if !known {
		return nil, refusal("UnrecognizedClientException", http.StatusForbidden, MsgUnrecognizedClient)
	}
	s.secret = secret
	switch h := s.declaredHash; {
	case h == "":
	case h == "UNSIGNED-PAYLOAD" || strings.HasPrefix(h, "STREAMING-"):
		if v.SignedPayloadOnly {
			return nil, refusal("InvalidSignatureException", http.StatusForbidden, "The payload must be signed: x-amz-content-sha256 "+h+" is not accepted here; sign the SHA-256 of the body.")
		}
		s.signatureVerified = true
		return s, s.check(h)
	default:
		// The signature covers the declared hash: checking it now refuses
		// a stranger before the body is read; VerifyBody then compares.
		s.signatureVerified = true
		return s, s.check(h)
	}
	return s, nil
}

// VerifyBody finishes what VerifyHead began, with the body read: the
// body must have the hash the client declared, or, when none was declared,
// the signature must cover the body's hash.
func (s *Signature) VerifyBody(body []byte) *Error {
	if len(s.v.Credentials) == 0 {
		return nil
	}
	payloadHash := hexSHA256(body)
	switch h := s.declaredHash; {
	case h == "UNSIGNED-PAYLOAD" || strings.HasPrefix(h, "STREAMING-"):
		return nil
	case h != "" && h != payloadHash:
		return refusal("InvalidSignatureException", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	if s.signatureVerified {
		return nil
	}
	return s.check(payloadHash)
}

// check compares the signature with the one made with payloadHash.
func (s *Signature) check(payloadHash string) *Error {
	canonical := strings.Join([]string{
		s.r.Method,
		canonicalURI(s.r),
		canonicalQuery(s.r.URL.RawQuery),
		canonicalHeaders(s.r, s.signedHeaders),
		s.params["SignedHeaders"],
		payloadHash,
	}, "\n")
	scopeDate, scopeRegion, scopeService := s.scope[1], s.scope[2], s.scope[3]
	credentialScope := strings.Join(s.scope[1:], "/")
	stringToSign := "AWS4-HMAC-SHA256\n" + s.amzDate + "\n" + credentialScope + "\n" + hexSHA256([]byte(canonical))
	key := hmacSHA256([]byte("AWS4"+s.secret), scopeDate)
	key = hmacSHA256(key, scopeRegion)
	key = hmacSHA256(key, scopeService)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(s.params["Signature"])) {
		// Like AWS, say what was expected: neither string holds a secret.
		return refusal("InvalidSignatureException", http.StatusForbidden,
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n"+
				"The Canonical String for this request should have been\n'"+canonical+"'\n\nThe String-to-Sign should have been\n'"+stringToSign+"'\n")
	}
	return nil
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}
