package bedrock

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	bedrockcp "github.com/aws/aws-sdk-go-v2/service/bedrock"
	cptypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/claudebridge/claudebridge/models"
)

// target is where one request goes.
type target struct {
	// Invoke is the modelId put into the path: a base id, a profile id or an ARN.
	Invoke string
	// Base is the base Bedrock model id the rules and CountTokens apply to;
	// "" when it could not be found (a provisioned-model ARN, a failed lookup).
	Base string
	// Chosen is true when claudebridge chose Invoke (from the table, the
	// account's lists or the naming rule), false when the client or the
	// operator gave it: only a chosen id is changed when Bedrock refuses it.
	Chosen bool
}

// entry is one model of the runtime catalog: the table's row, completed by
// discovery.
type entry struct {
	alias    string // the undated Anthropic id, "" when there is none
	dated    string // the canonical Anthropic id (dated where Anthropic dates it)
	base     string
	name     string
	created  time.Time
	geos     map[string]bool   // profile prefixes per the table
	profiles map[string]string // geo → profile id, discovered
	onDemand bool              // the account lists ON_DEMAND: the base id is callable
	listed   bool              // the account lists it (discovery)
	// bedrockOnly models (retired from the Anthropic API) are offered only
	// once the account lists them.
	bedrockOnly bool
}

// catalog is the runtime catalog: models.All's rows plus what discovery
// found.
type catalog struct {
	mu          sync.RWMutex
	byAnthropic map[string]*entry
	byBase      map[string]*entry
	// accountListed is set once the account's list named a Claude model:
	// from then on only the models it lists are offered (GET /v1/models,
	// the chat's default), not the table's guesses of what exists.
	accountListed bool
}

func newCatalog() *catalog {
	m := &catalog{byAnthropic: map[string]*entry{}, byBase: map[string]*entry{}}
	for _, s := range models.All {
		e := &entry{alias: s.Alias, dated: s.ID, base: s.Bedrock.ID, name: s.BedrockName(),
			onDemand: s.Bedrock.OnDemand, bedrockOnly: s.BedrockOnly,
			geos: map[string]bool{}, profiles: map[string]string{}}
		e.created, _ = time.Parse(time.DateOnly, s.Released)
		for _, g := range strings.Fields(s.Bedrock.Geos) {
			e.geos[g] = true
		}
		m.add(e)
	}
	return m
}

// add indexes e; callers hold mu or own m exclusively.
func (m *catalog) add(e *entry) {
	m.byBase[e.base] = e
	if _, taken := m.byAnthropic[e.alias]; !taken && e.alias != "" {
		m.byAnthropic[e.alias] = e
	}
	if e.dated != "" {
		m.byAnthropic[e.dated] = e
	}
}

// invokeID picks what to call for e from region: the base id where the
// account runs it on demand, else the region's profile (discovered first,
// then per the table), else the base id.
func (e *entry) invokeID(region string) string {
	if e.onDemand {
		return e.base
	}
	for _, g := range geoCandidates(region) {
		if id, ok := e.profiles[g]; ok {
			return id
		}
		if e.geos[g] {
			return g + "." + e.base
		}
	}
	return e.base
}

// lookup resolves an Anthropic model id; ok is false for an id the catalog
// does not know.
func (m *catalog) lookup(id, region string) (target, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.byAnthropic[id]
	if !ok {
		return target{}, false
	}
	return target{Invoke: e.invokeID(region), Base: e.base, Chosen: true}, true
}

// isBedrockID reports whether id is already a Bedrock id (base, profile, ARN)
// rather than an Anthropic one: Anthropic ids never contain a dot.
func isBedrockID(id string) bool {
	return strings.HasPrefix(id, "arn:") || strings.Contains(id, ".")
}

// baseOfProfileID strips a cross-region prefix: "us.anthropic.x" → "anthropic.x".
func baseOfProfileID(id string) string {
	for _, p := range profilePrefixes {
		if strings.HasPrefix(id, p+".") && strings.Contains(id[len(p)+1:], ".") {
			return id[len(p)+1:]
		}
	}
	return id
}

// anthropicIDs derives the Anthropic ids of a Bedrock base id by rule:
// "anthropic.claude-sonnet-4-5-20250929-v1:0" → "claude-sonnet-4-5" and
// "claude-sonnet-4-5-20250929"; "anthropic.claude-opus-6-v1" → "claude-opus-6".
// ok is false for ids that are not Claude models.
func anthropicIDs(base string) (alias, dated string, ok bool) {
	id, found := strings.CutPrefix(base, "anthropic.")
	if !found || !strings.HasPrefix(id, "claude-") {
		return "", "", false
	}
	id = versionSuffix.ReplaceAllString(id, "")
	if loc := dateSuffix.FindStringIndex(id); loc != nil {
		return id[:loc[0]], id, true
	}
	return id, "", true
}

var (
	versionSuffix = regexp.MustCompile(`-v\d+(:\d+)?$`)
	dateSuffix    = regexp.MustCompile(`-\d{8}$`)
)

// discover completes the catalog from the account's lists. It runs once, in
// the background, bounded by timeout; a failure is only logged.
func (u *Upstream) discover(timeout time.Duration) {
	defer close(u.discovered)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	fms, err := u.control.ListFoundationModels(ctx, &bedrockcp.ListFoundationModelsInput{ByProvider: aws.String("Anthropic")})
	if err != nil {
		u.log.Info("bedrock: model discovery failed; using the built-in table", "op", "ListFoundationModels", "error", mapError(err))
	} else {
		u.models.mu.Lock()
		for _, s := range fms.ModelSummaries {
			e := u.models.ensure(aws.ToString(s.ModelId))
			if e == nil {
				continue
			}
			e.listed = true
			u.models.accountListed = true
			for _, t := range s.InferenceTypesSupported {
				if t == cptypes.InferenceTypeOnDemand {
					e.onDemand = true
				}
			}
			if n := aws.ToString(s.ModelName); n != "" {
				e.name = n
			}
			if s.ModelLifecycle != nil && s.ModelLifecycle.StartOfLifeTime != nil {
				e.created = *s.ModelLifecycle.StartOfLifeTime
			}
		}
		u.models.mu.Unlock()
	}

	var next *string
	for {
		out, err := u.control.ListInferenceProfiles(ctx, &bedrockcp.ListInferenceProfilesInput{
			NextToken: next, TypeEquals: cptypes.InferenceProfileTypeSystemDefined})
		if err != nil {
			u.log.Info("bedrock: profile discovery failed; using the built-in table", "op", "ListInferenceProfiles", "error", mapError(err))
			return
		}
		u.models.mu.Lock()
		for _, p := range out.InferenceProfileSummaries {
			id := aws.ToString(p.InferenceProfileId)
			base := baseOfProfileID(id)
			if base == id {
				continue
			}
			if e := u.models.ensure(base); e != nil {
				e.profiles[id[:len(id)-len(base)-1]] = id
			}
		}
		u.models.mu.Unlock()
		next = out.NextToken
		if next == nil || *next == "" {
			return
		}
	}
}

// ensure returns the entry of a Claude base id, creating it from the id by
// rule when the table does not have it. Callers hold mu for writing.
func (m *catalog) ensure(base string) *entry {
	if e, ok := m.byBase[base]; ok {
		return e
	}
	alias, dated, ok := anthropicIDs(base)
	if !ok {
		return nil
	}
	e := &entry{alias: alias, dated: dated, base: base, name: alias, geos: map[string]bool{}, profiles: map[string]string{}}
	// The lists carry no release date; a dated id says it, and a model
	// without one was released no earlier than it became known here.
	e.created = time.Now().UTC().Truncate(24 * time.Hour)
	if m := dateSuffix.FindString(dated); m != "" {
		if t, err := time.Parse("20060102", m[1:]); err == nil {
			e.created = t
		}
	}
	m.add(e)
	return e
}

// list returns the catalog for GET /v1/models, newest first: the models the
// account lists once discovery has found any, else the table's.
func (m *catalog) list() []*entry {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*entry, 0, len(m.byBase))
	for _, e := range m.byBase {
		if e.listed || !m.accountListed && !e.bedrockOnly {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].created.Equal(out[j].created) {
			return out[i].created.After(out[j].created)
		}
		return out[i].base < out[j].base
	})
	return out
}

// resolve finds where a request for model goes. Operator mappings come first,
// then raw Bedrock ids pass through, then the catalog; an Anthropic id the
// catalog does not know yet is mapped by rule to the region's profile of
// "anthropic.<id>", as the newest models are named.
func (u *Upstream) resolve(ctx context.Context, model string) target {
	if mapped, ok := u.opts.Models[model]; ok {
		model = mapped
	}
	if isBedrockID(model) {
		return target{Invoke: model, Base: u.baseOf(ctx, model)}
	}
	if t, ok := u.models.lookup(model, u.region); ok {
		return t
	}
	base := "anthropic." + model
	return target{Invoke: geoCandidates(u.region)[0] + "." + base, Base: base, Chosen: true}
}

// Bedrock's refusals of a model id in a form the account does not serve.
const (
	msgOnDemandRefused = "with on-demand throughput isn"
)

// learnInvoke reads a ValidationException about the form of a chosen model
// id and returns the other form to try, remembering it for the model: the
// base id refused as on-demand means a profile is needed; a profile refused
// as an invalid identifier (an endpoint or account without it) means the
// base id. ok is false when msg is about something else or t was given.
func (m *catalog) learnInvoke(t target, msg, region string) (next string, ok bool) {
	if !t.Chosen || t.Base == "" {
		return "", false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.ensure(t.Base)
	switch {
	case strings.Contains(msg, msgOnDemandRefused) && t.Invoke == t.Base:
		geo := geoCandidates(region)[0]
		next = geo + "." + t.Base
		if e != nil {
			e.onDemand = false
			e.profiles[geo] = next
		}
	case strings.Contains(msg, msgInvalidModel) && t.Invoke != t.Base:
		next = t.Base
		if e != nil {
			e.onDemand = true
		}
	default:
		return "", false
	}
	return next, true
}

// baseOf finds the base model of a raw Bedrock id: base ids as they are,
// profile ids less their prefix, foundation-model and inference-profile ARNs
// from their resource part, application inference profile ARNs through
// GetInferenceProfile (cached).
func (u *Upstream) baseOf(ctx context.Context, id string) string {
	if !strings.HasPrefix(id, "arn:") {
		return baseOfProfileID(id)
	}
	kind, res, ok := strings.Cut(arnResource(id), "/")
	if !ok {
		return ""
	}
	switch kind {
	case "foundation-model":
		return res
	case "inference-profile":
		return baseOfProfileID(res)
	case "application-inference-profile":
		return u.applicationProfileBase(ctx, id)
	}
	return ""
}

// arnResource returns the resource part of an ARN (after the fifth colon).
func arnResource(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[5]
}

// applicationProfileBase asks GetInferenceProfile which model an application
// inference profile wraps. Answers are cached for the life of the process
// (a profile's model never changes); failures are cached for a minute so a
// broken lookup does not slow every request.
func (u *Upstream) applicationProfileBase(ctx context.Context, arn string) string {
	u.profMu.Lock()
	c, ok := u.profCache[arn]
	u.profMu.Unlock()
	if ok && (c.base != "" || time.Since(c.at) < time.Minute) {
		return c.base
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	base := ""
	out, err := u.control.GetInferenceProfile(ctx, &bedrockcp.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String(arn)})
	if err != nil {
		u.log.Info("bedrock: cannot resolve application inference profile", "arn", arn, "error", mapError(err))
	} else {
		for _, m := range out.Models {
			if kind, res, ok := strings.Cut(arnResource(aws.ToString(m.ModelArn)), "/"); ok && kind == "foundation-model" {
				base = res
				break
			}
		}
	}
	u.profMu.Lock()
	u.profCache[arn] = profileLookup{base: base, at: time.Now()}
	u.profMu.Unlock()
	return base
}

type profileLookup struct {
	base string
	at   time.Time
}
