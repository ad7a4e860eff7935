// Package bedrock is the claudebridge.Upstream over the Amazon Bedrock
// runtime, through the official AWS SDK for Go v2: InvokeModel and
// InvokeModelWithResponseStream with the Anthropic Messages body, or
// Converse and ConverseStream through package converse (converse.go), per
// model; models that are not Anthropic's always go through Converse.
//
// It maps Anthropic model ids to Bedrock ids and inference profiles
// (package models' table, completed from the account's lists in the
// background), adapts
// each request to what the target model takes (beta flags, request fields),
// learning from Bedrock's 400s, and answers with the id the client asked for.
package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	bedrockcp "github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go"
	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/tidwall/gjson"
)

// Options configure an Upstream.
type Options struct {
	// AWS is the SDK configuration, from config.LoadDefaultConfig: region,
	// credentials chain, endpoint overrides (AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
	// AWS_ENDPOINT_URL_BEDROCK, AWS_ENDPOINT_URL, BaseEndpoint) as the SDK
	// applies them. The SDK's own retries are turned off: callers retry once,
	// above every upstream, with claudebridge.Retryable.
	AWS aws.Config
	// HTTPClient sends the calls, wrapped by SDKHTTPClient; serve passes
	// its one tuned upstream transport. Nil means http.DefaultTransport's
	// settings with AWS's TLS settings (a CA bundle) and room for 256 idle
	// connections per host (its own keeps 2: concurrent streams over
	// HTTP/1.1 would each dial anew).
	HTTPClient *http.Client
	// Models are the operator's additions to the model table: Anthropic id →
	// Bedrock model id, inference profile id or ARN. They win over the table.
	Models map[string]string
	// DropBetas are anthropic-beta flags never to send.
	DropBetas []string
	// Logger receives what the upstream learns (dropped betas and fields,
	// discovery failures). nil: slog.Default().
	Logger *slog.Logger
	// DiscoveryTimeout bounds the background model discovery. 0: 20 s.
	DiscoveryTimeout time.Duration
	// API is the Bedrock API Anthropic models are called through: APIInvoke
	// ("" too) or APIConverse. Models that are not Anthropic's (Amazon
	// Nova, Meta Llama, Mistral, ...) always use Converse.
	API string
	// APIByModel overrides API for some Anthropic models: keys are the
	// client's model id or the Bedrock base model id, values APIInvoke or
	// APIConverse.
	APIByModel map[string]string
	// GuardrailID is the guardrail (id or ARN) applied to every call: sent
	// as guardrailConfig on Converse and as the guardrail headers of
	// InvokeModel. "": none.
	GuardrailID string
	// GuardrailVersion is the guardrail's version. "": "DRAFT".
	GuardrailVersion string
	// StrictFields passes Bedrock's 400 for a body field or beta flag the
	// model refuses on to the client, as the Anthropic API answers a typo,
	// instead of dropping it, remembering it for the model and sending the
	// call again. Configured drops (DropBetas, the table's rules) still
	// apply.
	StrictFields bool
}

// maxAdapt bounds how many times one call is re-sent after dropping a beta
// flag or a field Bedrock refused.
const maxAdapt = 5

// Upstream serves Messages calls from Bedrock. Safe for concurrent use.
type Upstream struct {
	opts    Options
	log     *slog.Logger
	region  string
	runtime *bedrockruntime.Client
	control *bedrockcp.Client

	models     *catalog
	discovered chan struct{} // closed when discovery has finished

	rulesMu sync.Mutex
	rules   map[string]*rules

	profMu    sync.Mutex
	profCache map[string]profileLookup

	counts countCache
}

var _ claudebridge.Upstream = (*Upstream)(nil)

// New returns an Upstream at once; model discovery (ListFoundationModels,
// ListInferenceProfiles) runs in the background and never delays a request.
func New(opts Options) *Upstream {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	cfg := opts.AWS.Copy()
	hc := opts.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient(opts.AWS)
	}
	cfg.HTTPClient = SDKHTTPClient(hc)
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	cfg.RetryMaxAttempts = 1
	u := &Upstream{
		opts:       opts,
		log:        log,
		region:     cfg.Region,
		runtime:    bedrockruntime.NewFromConfig(cfg),
		control:    bedrockcp.NewFromConfig(cfg),
		models:     newCatalog(),
		discovered: make(chan struct{}),
		rules:      map[string]*rules{},
		profCache:  map[string]profileLookup{},
	}
	timeout := opts.DiscoveryTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	go u.discover(timeout)
	return u
}

// call is one request prepared for Bedrock: its target, the rules of the
// target's model and the betas it asks for.
type call struct {
	target target
	rules  *rules
	betas  []string // after the operator's and the model's rules
	noBeta bool     // drop every beta: Bedrock refused flags thought good
	// converse is set when the call goes through Converse.
	converse bool
	// dropped is told what the bodies sent left out of the request.
	dropped *claudebridge.Dropped
}

func (u *Upstream) prepare(ctx context.Context, r *claudebridge.Request) *call {
	if r.Fields == nil && r.Body != nil {
		// Callers should fill Fields; a Body alone still makes a valid call.
		_ = json.Unmarshal(r.Body, &r.Fields)
	}
	t := u.resolve(ctx, r.Model)
	rl := u.rulesFor(t.Base)
	return &call{target: t, rules: rl, betas: rl.betas(r.Betas, u.opts.DropBetas), dropped: claudebridge.DroppedFrom(ctx)}
}

// BaseModel returns the Bedrock base model behind id (a profile, an
// application inference profile ARN, an operator's mapping), or id when it
// resolves to none: what the sampling rule judges a call by.
func (u *Upstream) BaseModel(ctx context.Context, id string) string {
	if base := u.resolve(ctx, id).Base; base != "" {
		return base
	}
	return id
}

// body builds the Bedrock body of r for c, less the fields the model
// refuses: one walk, however many rules and tools, and no copy of the
// client's bytes (see segments). What it leaves out of r, fields and betas,
// is noted in c.dropped.
func (u *Upstream) body(r *claudebridge.Request, c *call) *segments {
	betas := c.betas
	if c.noBeta {
		betas = nil
	}
	if c.converse || c.rules.foldsSystem() {
		r = foldSystem(r)
	}
	b, removed := buildBody(r, betas, c.rules.dropPaths())
	if len(removed) > 0 {
		u.log.Debug("bedrock: dropped fields the model refuses", "model", c.target.Base, "fields", removed)
		c.dropped.Fields(removed...)
	}
	if len(betas) < len(r.Betas) {
		for _, flag := range r.Betas {
			if !slices.Contains(betas, flag) {
				c.dropped.Betas(flag)
			}
		}
	}
	return b
}

// adapt runs send until it succeeds or fails for a reason other than a beta
// flag or a field Bedrock refused: those are dropped, remembered for the
// model and the call sent again at once, at most maxAdapt times.
func (u *Upstream) adapt(r *claudebridge.Request, c *call, send func(body *segments) error) error {
	return u.adaptFrom(r, c, nil, send)
}

// adaptFrom is adapt whose first attempt sends body, already built by
// u.body(r, c) for another use (nil: built here).
func (u *Upstream) adaptFrom(r *claudebridge.Request, c *call, body *segments, send func(body *segments) error) error {
	for attempt := 0; ; attempt++ {
		if attempt > 0 || body == nil {
			body = u.body(r, c)
		}
		err := send(body)
		if err == nil || attempt >= maxAdapt {
			return err
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
			return err
		}
		if !u.learn(c, body, ae.ErrorMessage()) {
			return err
		}
	}
}

// learn reads a ValidationException and changes c (and the model's rules)
// so that the next attempt avoids it; false when there is nothing to drop.
// The body is made whole only to read the complaint against it.
func (u *Upstream) learn(c *call, sent *segments, msg string) bool {
	var whole []byte
	body := func() []byte {
		if whole == nil {
			whole = sent.bytes()
		}
		return whole
	}
	if next, ok := u.models.learnInvoke(c.target, msg, u.region); ok {
		u.log.Info("bedrock: calling the model by another id", "model", c.target.Base, "refused", c.target.Invoke, "now", next)
		c.target.Invoke = next
		return true
	}
	if u.opts.StrictFields && (isInvalidBeta(msg) || len(extraInputPaths(msg)) > 0 || len(extraneousKeys(msg)) > 0) {
		return false // the client hears of it, as from the Anthropic API
	}
	if isInvalidBeta(msg) {
		if c.noBeta || len(c.betas) == 0 {
			return false
		}
		dropped, remembered := c.rules.learnBetas(c.betas)
		if remembered {
			c.betas = slices.DeleteFunc(slices.Clone(c.betas), func(b string) bool { return slices.Contains(dropped, b) })
		} else {
			c.noBeta = true
		}
		u.log.Info("bedrock: dropped beta flags the model refuses", "model", c.target.Base, "betas", dropped, "remembered", remembered)
		return true
	}
	if refusesSystemRole(msg) && gjson.GetBytes(body(), `messages.#(role=="system")`).Exists() && c.rules.learnFoldSystem() {
		u.log.Info("bedrock: the model refuses role \"system\" messages; folding them into system", "model", c.target.Base)
		return true
	}
	learned := false
	paths := extraInputPaths(msg)
	if !c.converse {
		// On Converse the validator judges the Converse body, whose keys
		// are not the Messages fields, and a field a model of another
		// vendor refuses is a clear 400, never a silent loss (issue 4).
		paths = append(paths, extraneousKeys(msg)...)
	}
	for _, p := range paths {
		g, ok := generalise(body(), p)
		if !ok {
			continue
		}
		if c.rules.learnDrop(g) {
			learned = true
			u.log.Info("bedrock: dropped a request field the model refuses", "model", c.target.Base, "field", g, "bedrock_path", p)
		}
	}
	return learned
}

// Messages makes a non-streaming InvokeModel (or Converse) call. The body returned names
// the model id the client asked for.
func (u *Upstream) Messages(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
	c := u.prepare(ctx, r)
	if u.usesConverse(r.Model, c.target) {
		return u.converseMessages(ctx, r, c)
	}
	gid, gversion := u.guardrail()
	var out *bedrockruntime.InvokeModelOutput
	err := u.adapt(r, c, func(body *segments) error {
		send := segmentSend{body: body}
		var err error
		out, err = u.runtime.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
			ModelId:             aws.String(c.target.Invoke),
			ContentType:         aws.String("application/json"),
			Accept:              aws.String("application/json"),
			GuardrailIdentifier: gid,
			GuardrailVersion:    gversion,
		}, send.options)
		send.release()
		return err
	})
	if err != nil {
		return nil, mapError(err)
	}
	body := rewriteModel(out.Body, "model", r.Model)
	return &claudebridge.Response{Body: body, Usage: anthropic.UsageOf(body)}, nil
}

// Stream makes an InvokeModelWithResponseStream (or ConverseStream) call and returns once
// Bedrock has accepted it (answered 200). Cancelling ctx or Close ends it.
func (u *Upstream) Stream(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
	c := u.prepare(ctx, r)
	if u.usesConverse(r.Model, c.target) {
		return u.converseStream(ctx, r, c)
	}
	gid, gversion := u.guardrail()
	sctx, cancel := context.WithCancel(ctx)
	var out *bedrockruntime.InvokeModelWithResponseStreamOutput
	err := u.adapt(r, c, func(body *segments) error {
		send := segmentSend{body: body}
		var err error
		out, err = u.runtime.InvokeModelWithResponseStream(sctx, &bedrockruntime.InvokeModelWithResponseStreamInput{
			ModelId:             aws.String(c.target.Invoke),
			ContentType:         aws.String("application/json"),
			Accept:              aws.String("application/json"),
			GuardrailIdentifier: gid,
			GuardrailVersion:    gversion,
		}, send.options, ownProtocol)
		// Sent: whatever of the call the open stream keeps (its request,
		// whose body is the reader of the segments) must not reach the
		// prompt (TestAnOpenStreamHoldsNoSentBody).
		send.release()
		return err
	})
	if err != nil {
		cancel()
		return nil, mapError(err)
	}
	return &stream{es: out.GetStream(), cancel: cancel, model: r.Model}, nil
}

// Models lists the Claude models this upstream serves, newest first: the
// table, the models the account lists, and the operator's additions.
func (u *Upstream) Models(ctx context.Context) ([]claudebridge.Model, error) {
	var out []claudebridge.Model
	seen := map[string]bool{}
	for _, e := range u.models.list() {
		id := e.dated
		if id == "" {
			id = e.alias
		}
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, claudebridge.Model{ID: id, DisplayName: e.name, CreatedAt: e.created})
	}
	extra := make([]string, 0, len(u.opts.Models))
	for id := range u.opts.Models {
		if !seen[id] {
			extra = append(extra, id)
		}
	}
	slices.Sort(extra)
	for _, id := range extra {
		out = append(out, claudebridge.Model{ID: id, DisplayName: id})
	}
	return out, nil
}

// errorCode returns the exception name of err, "" when it is none. Used by CountTokens to decide whether Bedrock refused to
// count for the model (as opposed to failing for a while).
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Ready resolves the AWS credentials (the SDK caches them until they
// expire): EUPSTREAMAUTH when the default chain finds none.
func (u *Upstream) Ready(ctx context.Context) error {
	if u.opts.AWS.Credentials == nil {
		return nil // anonymous or bearer-token access: nothing to resolve
	}
	if _, err := u.opts.AWS.Credentials.Retrieve(ctx); err != nil {
		return &claudebridge.Error{Code: claudebridge.EUPSTREAMAUTH, Message: credentialsMessage}
	}
	return nil
}
