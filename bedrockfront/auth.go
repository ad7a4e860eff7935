package bedrockfront

import (
	"net/http"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/sigv4"
)

// msgBadAPIKey is what Bedrock answers (as AccessDeniedException) to a
// bearer token that is not a valid API key.
const msgBadAPIKey = "Authentication failed: Please make sure your API Key is valid."

// auth checks a client the way Bedrock's front end does: a Bedrock API key
// as a bearer token, or a SigV4 signature.
type auth struct {
	keys       *claudebridge.ClientKeys
	signatures *sigv4.Verifier // nil: SigV4 is not configured
}

func newAuth(keys *claudebridge.ClientKeys, accessKeys map[string]string, now func() time.Time, allowUnsignedPayload bool) auth {
	a := auth{keys: keys}
	if len(accessKeys) > 0 {
		a.signatures = &sigv4.Verifier{Credentials: accessKeys, Now: now, SignedPayloadOnly: !allowUnsignedPayload}
	}
	return a
}

// open reports whether no client credential is configured at all.
func (a auth) open() bool { return a.keys == nil && a.signatures == nil }

// checkHead returns nil when the head of r shows a client that may be
// served, or the error AWS would answer with. It reads no body: a
// stranger's body is never read. A SigV4 signature whose check needs the
// body is returned, for checkBody.
func (a auth) checkHead(r *http.Request) (*sigv4.Signature, *bedrockwire.Error) {
	if a.open() {
		return nil, nil
	}
	authorization := r.Header.Get("Authorization")
	if len(authorization) > 7 && strings.EqualFold(authorization[:7], "bearer ") {
		if a.keys != nil && a.keys.Allow(strings.TrimSpace(authorization[7:])) {
			return nil, nil
		}
		return nil, &bedrockwire.Error{Type: "AccessDeniedException", Status: http.StatusForbidden, Message: msgBadAPIKey, Namespace: bedrockwire.CoralNamespace}
	}
	if a.signatures == nil {
		// Only API keys are configured: a signature cannot be checked, so
		// its key id is unknown here.
		if authorization == "" {
			return nil, &bedrockwire.Error{Type: "MissingAuthenticationTokenException", Status: http.StatusForbidden, Message: sigv4.MsgMissingAuthToken, Namespace: bedrockwire.CoralNamespace}
		}
		return nil, &bedrockwire.Error{Type: "UnrecognizedClientException", Status: http.StatusForbidden, Message: sigv4.MsgUnrecognizedClient, Namespace: bedrockwire.CoralNamespace}
	}
	sig, e := a.signatures.VerifyHead(r, "bedrock")
	if e != nil {
		return nil, wireError(e)
	}
	return sig, nil
}

// checkBody finishes the check of a signature with the body read: the
// AWS SDKs sign the body's SHA-256 without declaring it in a header, so
// only now can their signature be compared.
func (a auth) checkBody(sig *sigv4.Signature, body []byte) *bedrockwire.Error {
	if sig == nil {
		return nil
	}
	if e := sig.VerifyBody(body); e != nil {
		return wireError(e)
	}
	return nil
}

func wireError(e *sigv4.Error) *bedrockwire.Error {
	return &bedrockwire.Error{Type: e.Type, Status: e.Status, Message: e.Message, Namespace: bedrockwire.CoralNamespace}
}

// Checked answers with AccessDeniedException (403) the requests check
// refuses, and passes the others to next. serve puts it in front of an
// open front door (no client credential) to keep other sites' pages and
// DNS-rebound names out.
func Checked(next http.Handler, check func(*http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := check(r); err != nil {
			(&bedrockwire.Error{Type: "AccessDeniedException", Status: http.StatusForbidden, Message: claudebridge.ErrorMessage(err)}).Write(w, newRequestID())
			return
		}
		next.ServeHTTP(w, r)
	})
}
