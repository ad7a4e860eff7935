package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sigv4 checks the authentication of requests the way the AWS front end
// does: AWS Signature Version 4 (verified cryptographically against known
// secrets) or, where the service takes them, Bedrock API keys as bearer
// tokens.
type sigv4 struct {
	region string
	// secrets maps access key ids to secret keys. Empty: any key id is
	// accepted and only the form of the signature is checked.
	secrets map[string]string
	// bearer lists the accepted API keys. Empty: any non-empty token.
	bearer []string
	// now is the clock signatures are checked against.
	now func() time.Time
}

// maxClockSkew is how far x-amz-date may be from the server's clock.
const maxClockSkew = 15 * time.Minute

const amzDateFormat = "20060102T150405Z"

func authError(typ string, status int, msg string) *awsError {
	return &awsError{Type: typ, Status: status, Message: msg, Namespace: coralNamespace}
}

// check returns nil when r (whose body is body) is authenticated for
// service, or the error AWS would answer with.
func (v *sigv4) check(r *http.Request, body []byte, service string, bearerAllowed bool) *awsError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return authError("MissingAuthenticationTokenException", http.StatusForbidden, msgMissingAuthToken)
	}
	if token, ok := strings.CutPrefix(auth, "Bearer "); ok && bearerAllowed {
		return v.checkBearer(strings.TrimSpace(token))
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return authError("IncompleteSignatureException", http.StatusBadRequest, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization="+firstWord(auth))
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
		return authError("IncompleteSignatureException", http.StatusBadRequest, strings.Join(missing, " "))
	}
	scope := strings.Split(params["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[0] == "" {
		return authError("IncompleteSignatureException", http.StatusBadRequest, "Credential should be scoped to a valid region. ")
	}
	keyID, scopeDate, scopeRegion, scopeService := scope[0], scope[1], scope[2], scope[3]

	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return authError("IncompleteSignatureException", http.StatusBadRequest, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	signedAt, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return authError("IncompleteSignatureException", http.StatusBadRequest, "Date must be in ISO-8601 'basic format'. Got '"+amzDate+"'.")
	}
	now := v.now().UTC()
	switch {
	case signedAt.Before(now.Add(-maxClockSkew)):
		return authError("InvalidSignatureException", http.StatusForbidden, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)", amzDate, now.Add(-maxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat)))
	case signedAt.After(now.Add(maxClockSkew)):
		return authError("InvalidSignatureException", http.StatusForbidden, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)", amzDate, now.Add(maxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat)))
	}
	if scopeDate != amzDate[:8] {
		return authError("InvalidSignatureException", http.StatusForbidden, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+scopeDate+"' != '"+amzDate[:8]+"', from '"+amzDate+"'.")
	}
	if scopeRegion != v.region {
		return authError("InvalidSignatureException", http.StatusForbidden, "Credential should be scoped to a valid region. ")
	}
	if scopeService != service {
		return authError("InvalidSignatureException", http.StatusForbidden, "Credential should be scoped to correct service: '"+service+"'. ")
	}
	signedHeaders := strings.Split(params["SignedHeaders"], ";")
	if !contains(signedHeaders, "host") && !contains(signedHeaders, ":authority") {
		return authError("InvalidSignatureException", http.StatusForbidden, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}

	if len(v.secrets) == 0 {
		return nil
	}
	secret, known := v.secrets[keyID]
	if !known {
		return authError("UnrecognizedClientException", http.StatusForbidden, msgUnrecognizedClient)
	}

	payloadHash := hexSHA256(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		if h != "UNSIGNED-PAYLOAD" && !strings.HasPrefix(h, "STREAMING-") && h != payloadHash {
			return authError("InvalidSignatureException", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.")
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
		return authError("InvalidSignatureException", http.StatusForbidden,
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n"+
				"The Canonical String for this request should have been\n'"+canonical+"'\n\nThe String-to-Sign should have been\n'"+stringToSign+"'\n")
	}
	return nil
}

func (v *sigv4) checkBearer(token string) *awsError {
	bad := &awsError{Type: "AccessDeniedException", Status: http.StatusForbidden, Message: msgBadAPIKey, UpperMessage: true}
	if token == "" {
		return bad
	}
	if len(v.bearer) == 0 {
		return nil
	}
	for _, t := range v.bearer {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			return nil
		}
	}
	return bad
}

// canonicalURI is the path as the client sent it, URI-encoded once more:
// every AWS service but S3 signs the already-escaped path escaped again
// (so "%3A" in a model id is signed as "%253A").
func canonicalURI(r *http.Request) string {
	p := r.RequestURI
	if u, err := url.ParseRequestURI(p); err == nil && u.IsAbs() {
		p = u.EscapedPath()
	}
	p, _, _ = strings.Cut(p, "?")
	if p == "" {
		return "/"
	}
	return awsEscape(p, false)
}

// canonicalQuery sorts the query parameters by name then value, each
// escaped with the AWS rules.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return raw
	}
	var pairs []string
	for k, vs := range values {
		for _, val := range vs {
			pairs = append(pairs, awsEscape(k, true)+"="+awsEscape(val, true))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// canonicalHeaders lists the signed headers with trimmed values. The
// request's Host stands for both host and the HTTP/2 :authority, which Go
// does not keep among the headers.
func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	for _, name := range names {
		var value string
		switch name {
		case "host", ":authority":
			value = r.Host
		case "content-length":
			value = r.Header.Get("Content-Length")
			if value == "" && r.ContentLength >= 0 {
				value = strconv.FormatInt(r.ContentLength, 10)
			}
		default:
			vals := r.Header.Values(name)
			for i, v := range vals {
				vals[i] = strings.Join(strings.Fields(v), " ")
			}
			value = strings.Join(vals, ",")
		}
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(value)
		b.WriteByte('\n')
	}
	return b.String()
}

// awsEscape percent-encodes every byte but the unreserved characters (and
// '/', unless encodeSlash).
func awsEscape(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
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
