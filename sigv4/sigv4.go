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
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return refusal("MissingAuthenticationTokenException", http.StatusForbidden, MsgMissingAuthToken)
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return refusal("IncompleteSignatureException", http.StatusBadRequest, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization="+firstWord(auth))
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
		return refusal("IncompleteSignatureException", http.StatusBadRequest, strings.Join(missing, " "))
	}
	scope := strings.Split(params["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[0] == "" {
		return refusal("IncompleteSignatureException", http.StatusBadRequest, "Credential should be scoped to a valid region. ")
	}
	keyID, scopeDate, scopeRegion, scopeService := scope[0], scope[1], scope[2], scope[3]

	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return refusal("IncompleteSignatureException", http.StatusBadRequest, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	signedAt, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return refusal("IncompleteSignatureException", http.StatusBadRequest, "Date must be in ISO-8601 'basic format'. Got '"+amzDate+"'.")
	}
	clock := v.Now
	if clock == nil {
		clock = time.Now
	}
	now := clock().UTC()
	switch {
	case signedAt.Before(now.Add(-MaxClockSkew)):
		return refusal("InvalidSignatureException", http.StatusForbidden, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)", amzDate, now.Add(-MaxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat)))
	case signedAt.After(now.Add(MaxClockSkew)):
		return refusal("InvalidSignatureException", http.StatusForbidden, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)", amzDate, now.Add(MaxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat)))
	}
	if scopeDate != amzDate[:8] {
		return refusal("InvalidSignatureException", http.StatusForbidden, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+scopeDate+"' != '"+amzDate[:8]+"', from '"+amzDate+"'.")
	}
	if v.Region != "" && scopeRegion != v.Region {
		return refusal("InvalidSignatureException", http.StatusForbidden, "Credential should be scoped to a valid region. ")
	}
	if scopeService != service {
		return refusal("InvalidSignatureException", http.StatusForbidden, "Credential should be scoped to correct service: '"+service+"'. ")
	}
	signedHeaders := strings.Split(params["SignedHeaders"], ";")
	if !contains(signedHeaders, "host") && !contains(signedHeaders, ":authority") {
		return refusal("InvalidSignatureException", http.StatusForbidden, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}

	if len(v.Credentials) == 0 {
		return nil
	}
	secret, known := v.Credentials[keyID]
	if !known {
		return refusal("UnrecognizedClientException", http.StatusForbidden, MsgUnrecognizedClient)
	}

	payloadHash := hexSHA256(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		if h != "UNSIGNED-PAYLOAD" && !strings.HasPrefix(h, "STREAMING-") && h != payloadHash {
			return refusal("InvalidSignatureException", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		payloadHash = h
	}
	canonical := strings.Join([]string{
		r.Method,
		canonicalURI(r),
		canonicalQuery(r.URL.RawQuery),
		canonicalHeaders(r, signedHeaders),
		params["SignedHeaders"],
		payloadHash,
	}, "\n")
	credentialScope := strings.Join(scope[1:], "/")
	stringToSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + credentialScope + "\n" + hexSHA256([]byte(canonical))
	key := hmacSHA256([]byte("AWS4"+secret), scopeDate)
	key = hmacSHA256(key, scopeRegion)
	key = hmacSHA256(key, scopeService)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(params["Signature"])) {
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
