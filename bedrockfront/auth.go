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

func newAuth(keys *claudebridge.ClientKeys, accessKeys map[string]string, now func() time.Time) auth {
	a := auth{keys: keys}
	if len(accessKeys) > 0 {
		a.signatures = &sigv4.Verifier{Credentials: accessKeys, Now: now}
	}
	return a
}

// open reports whether no client credential is configured at all.
func (a auth) open() bool { return a.keys == nil && a.signatures == nil }

// check returns nil when r (whose body is body) may be served, or the
// error AWS would answer with.
func (a auth) check(r *http.Request, body []byte) *bedrockwire.Error {
	if a.open() {
		return nil
	}
	authorization := r.Header.Get("Authorization")
	if len(authorization) > 7 && strings.EqualFold(authorization[:7], "bearer ") {
		if a.keys != nil && a.keys.Allow(strings.TrimSpace(authorization[7:])) {
			return nil
		}
		return &bedrockwire.Error{Type: "AccessDeniedException", Status: http.StatusForbidden, Message: msgBadAPIKey, Namespace: bedrockwire.CoralNamespace}
	}
	if a.signatures == nil {
		// Only API keys are configured: a signature cannot be checked, so
		// its key id is unknown here.
		if authorization == "" {
			return &bedrockwire.Error{Type: "MissingAuthenticationTokenException", Status: http.StatusForbidden, Message: sigv4.MsgMissingAuthToken, Namespace: bedrockwire.CoralNamespace}
		}
		return &bedrockwire.Error{Type: "UnrecognizedClientException", Status: http.StatusForbidden, Message: sigv4.MsgUnrecognizedClient, Namespace: bedrockwire.CoralNamespace}
	}
	if e := a.signatures.Verify(r, body, "bedrock"); e != nil {
		return &bedrockwire.Error{Type: e.Type, Status: e.Status, Message: e.Message, Namespace: bedrockwire.CoralNamespace}
	}
	return nil
}
