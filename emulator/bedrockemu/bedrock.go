// Package bedrockemu is the Bedrock emulator: the runtime (InvokeModel and
// its stream, Converse, ConverseStream, CountTokens), the control plane's
// model and inference-profile listings, and Secrets Manager's
// GetSecretValue, behind SigV4 or a Bedrock API key, on Bedrock's own wire
// (bedrockwire). It answers from sim, the simulated Claude, and from the
// same simulated model for the other families it serves through Converse.
package bedrockemu

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/emulator/sim"
	"github.com/claudebridge/claudebridge/sigv4"
)

// Options configure the Bedrock emulator.
type Options struct {
	// Region is the AWS region the emulator plays; signatures must be scoped
	// to it and ARNs name it. Default "us-east-1".
	Region string
	// Credentials maps access key ids to secret access keys. SigV4
	// signatures are verified cryptographically against them. Empty: any
	// well-formed signature with any key id is accepted.
	Credentials map[string]string
	// BearerTokens are the Bedrock API keys accepted as
	// "Authorization: Bearer" (what the SDKs send for
	// AWS_BEARER_TOKEN_BEDROCK). Empty: any non-empty token is accepted.
	BearerTokens []string
	// Secrets maps Secrets Manager secret names to their SecretString.
	Secrets map[string]string
	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
	// Now is the clock signatures are checked against; nil is time.Now.
	Now func() time.Time
}

// bedrockServer is the handler New returns.
type bedrockServer struct {
	region              string
	auth                *requestAuth
	secrets             map[string]string
	log                 *slog.Logger
	faults              sim.FaultCounter
	applicationProfiles map[string]applicationProfile
	started             time.Time
}

// maxBedrockBody is the largest request body accepted.
const maxBedrockBody = 32 << 20

// New returns one handler for everything the AWS SDKs call on
// Bedrock: the runtime (InvokeModel, InvokeModelWithResponseStream,
// CountTokens, Converse, ConverseStream), the control plane
// (ListFoundationModels, GetFoundationModel, ListInferenceProfiles,
// GetInferenceProfile) and Secrets Manager's GetSecretValue, told apart by
// path and X-Amz-Target. Every request must be signed (SigV4) or, for
// Bedrock, carry an API key.
func New(opts Options) http.Handler {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &bedrockServer{
		region:              opts.Region,
		auth:                &requestAuth{signatures: sigv4.Verifier{Region: opts.Region, Credentials: opts.Credentials, Now: opts.Now}, bearer: opts.BearerTokens},
		secrets:             opts.Secrets,
		log:                 log,
		applicationProfiles: map[string]applicationProfile{},
		started:             opts.Now().UTC().Truncate(time.Second),
	}
	for _, p := range defaultApplicationProfiles {
		// The default profile wraps the model's first system profile in
		// the emulator's region.
		_, base, _ := strings.Cut(p.Wraps, ".")
		if m := modelByBedrockID(base); m != nil {
			if ids := m.profileIDs(opts.Region); len(ids) > 0 {
				p.Wraps = ids[0]
			}
		}
		b.applicationProfiles[p.ID] = p
	}
	return b
}

func (b *bedrockServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBedrockBody))
	if err != nil {
		bedrockwire.ValidationError("Input is too long for requested model.").Write(w, requestID)
		return
	}
	if target := r.Header.Get("X-Amz-Target"); r.Method == http.MethodPost && r.URL.Path == "/" && target != "" {
		if e := b.auth.check(r, body, "secretsmanager", false); e != nil {
			b.log.Info("secretsmanager: refused", "target", target, "error", e.Type)
			writeJSON11Error(w, requestID, e)
			return
		}
		b.secretsManager(w, r, requestID, target, body)
		return
	}
	if e := b.auth.check(r, body, "bedrock", true); e != nil {
		b.log.Info("bedrock: refused", "path", r.URL.Path, "error", e.Type)
		e.Write(w, requestID)
		return
	}
	segments := pathSegments(r)
	switch {
	case len(segments) == 3 && segments[0] == "model" && r.Method == http.MethodPost:
		b.runtime(w, r, requestID, segments[1], segments[2], body)
	case len(segments) >= 1 && (segments[0] == "foundation-models" || segments[0] == "inference-profiles") && r.Method == http.MethodGet:
		b.controlPlane(w, r, requestID, segments)
	default:
		(&bedrockwire.Error{Type: "UnknownOperationException", Status: http.StatusNotFound, Message: "Unknown operation", Namespace: bedrockwire.CoralNamespace}).Write(w, requestID)
	}
}

// pathSegments splits the escaped path and unescapes each segment, so that
// a model id with "/" (an ARN, sent as %2F) stays one segment.
func pathSegments(r *http.Request) []string {
	raw := strings.Trim(r.URL.EscapedPath(), "/")
	if raw == "" {
		return nil
	}
	parts := strings.Split(raw, "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	return parts
}

func (b *bedrockServer) runtime(w http.ResponseWriter, r *http.Request, requestID, modelID, operation string, body []byte) {
	b.log.Info("bedrock runtime", "operation", operation, "model", modelID)
	switch operation {
	case "invoke":
		b.invoke(w, r, requestID, modelID, body, false)
	case "invoke-with-response-stream":
		b.invoke(w, r, requestID, modelID, body, true)
	case "count-tokens":
		b.countTokens(w, requestID, modelID, body)
	case "converse":
		b.converse(w, r, requestID, modelID, body, false)
	case "converse-stream":
		b.converse(w, r, requestID, modelID, body, true)
	default:
		(&bedrockwire.Error{Type: "UnknownOperationException", Status: http.StatusNotFound, Message: "Unknown operation", Namespace: bedrockwire.CoralNamespace}).Write(w, requestID)
	}
}

// newRequestID makes an id in the form of AWS request ids (a UUID).
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// writeJSON writes v with status 200 and the request id.
func writeJSON(w http.ResponseWriter, requestID string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		(&bedrockwire.Error{Type: "InternalServerException", Status: 500, Message: "internal error"}).Write(w, requestID)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.Write(body)
}
