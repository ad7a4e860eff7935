package bedrockemu

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/claudebridge/claudebridge/bedrockwire"

	"github.com/claudebridge/claudebridge/sigv4"
)

// requestAuth checks the authentication of requests the way the AWS front
// end does: AWS Signature Version 4 (verified cryptographically against
// known secrets) or, where the service takes them, Bedrock API keys as
// bearer tokens.
type requestAuth struct {
	signatures sigv4.Verifier
	// bearer lists the accepted API keys. Empty: any non-empty token.
	bearer []string
}

// check returns nil when r (whose body is body) is authenticated for
// service, or the error AWS would answer with.
func (a *requestAuth) check(r *http.Request, body []byte, service string, bearerAllowed bool) *bedrockwire.Error {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && bearerAllowed {
		return a.checkBearer(strings.TrimSpace(token))
	}
	if e := a.signatures.Verify(r, body, service); e != nil {
		return &bedrockwire.Error{Type: e.Type, Status: e.Status, Message: e.Message, Namespace: bedrockwire.CoralNamespace}
	}
	return nil
}

func (a *requestAuth) checkBearer(token string) *bedrockwire.Error {
	bad := &bedrockwire.Error{Type: "AccessDeniedException", Status: http.StatusForbidden, Message: msgBadAPIKey, UpperMessage: true}
	if token == "" {
		return bad
	}
	if len(a.bearer) == 0 {
		return nil
	}
	for _, t := range a.bearer {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			return nil
		}
	}
	return bad
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
