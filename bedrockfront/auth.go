package bedrockfront

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/sigv4"
)

// msgBadAPIKey is what Bedrock answers (as AccessDeniedException) to a
// bearer token that is not a valid API key.
const msgBadAPIKey = "Authentication failed: Please make sure your API Key is valid."

// auth checks a client the way Bedrock's front end does: a Bedrock API key
// as a bearer token, or a SigV4 signature.
type auth struct {
	keys       *claudebridge.ClientKeys
	keyring    *limits.Keyring // when set, it replaces keys
	signatures *sigv4.Verifier // nil: SigV4 is not configured
}

func newAuth(keys *claudebridge.ClientKeys, keyring *limits.Keyring, accessKeys map[string]string, now func() time.Time, allowUnsignedPayload bool) auth {
	a := auth{keys: keys, keyring: keyring}
	if len(accessKeys) > 0 {
		a.signatures = &sigv4.Verifier{Credentials: accessKeys, Now: now, SignedPayloadOnly: !allowUnsignedPayload}
	}
	return a
}

// open reports whether no client credential is configured at all.
func (a auth) open() bool {
	if a.keyring != nil {
		return a.keyring.Open() && a.signatures == nil
	}
	return a.keys == nil && a.signatures == nil
}

// apiKey returns the virtual key a bearer token is (nil for a static
// key), or false if the token is no key at all.
func (a auth) apiKey(token string) (*limits.Entry, bool) {
	if a.keyring != nil {
		e, err := a.keyring.Lookup(token)
		return e, err == nil && token != ""
	}
	return nil, a.keys != nil && a.keys.Allow(token)
}

// checkHead returns nil when the head of r shows a client that may be
// served, or the error AWS would answer with. It reads no body: a
// stranger's body is never read. A SigV4 signature whose check needs the
// body is returned, for checkBody, and so is the virtual key a bearer
// token is, for its limits.
func (a auth) checkHead(r *http.Request) (*sigv4.Signature, *limits.Entry, *bedrockwire.Error) {
	if a.open() {
		return nil, nil, nil
	}
	authorization := r.Header.Get("Authorization")
	if len(authorization) > 7 && strings.EqualFold(authorization[:7], "bearer ") {
		if key, ok := a.apiKey(strings.TrimSpace(authorization[7:])); ok {
			return nil, key, nil
		}
		return nil, nil, &bedrockwire.Error{Type: "AccessDeniedException", Status: http.StatusForbidden, Message: msgBadAPIKey, Namespace: bedrockwire.CoralNamespace}
	}
	if a.signatures == nil {
		// Only API keys are configured: a signature cannot be checked, so
		// its key id is unknown here.
		if authorization == "" {
			return nil, nil, &bedrockwire.Error{Type: "MissingAuthenticationTokenException", Status: http.StatusForbidden, Message: sigv4.MsgMissingAuthToken, Namespace: bedrockwire.CoralNamespace}
		}
		return nil, nil, &bedrockwire.Error{Type: "UnrecognizedClientException", Status: http.StatusForbidden, Message: sigv4.MsgUnrecognizedClient, Namespace: bedrockwire.CoralNamespace}
	}
	sig, e := a.signatures.VerifyHead(r, "bedrock")
	if e != nil {
		return nil, nil, wireError(e)
	}
	return sig, nil, nil
}

// admit counts a call of a virtual key against its model list and limits
// (nil key: none); count-tokens is checked against the model list only.
// The output a call may use is max_tokens of an InvokeModel body,
// inferenceConfig.maxTokens of a Converse one.
func admit(ctx context.Context, key *limits.Entry, operation, model string, body []byte) (*limits.Ticket, error) {
	if key == nil {
		return nil, nil
	}
	if operation == "count-tokens" {
		if !key.AllowsModel(model) {
			return nil, claudebridge.Errorf(claudebridge.EPERMISSION, "This API key may not use the model %s", model)
		}
		return nil, nil
	}
	maxTokens := gjson.GetBytes(body, "max_tokens").Int()
	if maxTokens == 0 {
		maxTokens = gjson.GetBytes(body, "inferenceConfig.maxTokens").Int()
	}
	t, _, err := key.Admit(ctx, model, body, int(maxTokens))
	return t, err
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
