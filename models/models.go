// Package models is the one table of Claude models: their Anthropic ids and
// names, release dates, Bedrock ids and inference profiles, what Bedrock
// takes in their requests, their sampling rule, limits and prices. The
// gateway, the Bedrock upstream and both emulators read it; nothing else
// keeps a list of models.
//
// The table is a Go literal rather than an embedded JSON or CSV file: the
// beta and field lists shared by many models are named once, every row is
// type-checked by the compiler, and each row can carry the comment that says
// where its facts come from.
package models

import (
	"strconv"
	"strings"
)

// Model is one Claude model.
type Model struct {
	// ID is the canonical Anthropic id, dated where Anthropic dates it
	// ("claude-sonnet-4-5-20250929", "claude-opus-4-6").
	ID string
	// Alias is the undated id that names the same model
	// ("claude-sonnet-4-5"); "" when ID is undated or the model has none.
	Alias string
	// Name is the display name GET /v1/models gives.
	Name string
	// Released is the release date, YYYY-MM-DD.
	Released string
	// Family is "opus", "sonnet", "haiku", "fable" or "mythos".
	Family string
	// BedrockOnly models are no longer in the Anthropic catalogue (current
	// SDKs do not name them; GET /v1/models does not list them) but Bedrock
	// still serves them.
	BedrockOnly bool

	// ContextWindow and MaxOutput are in tokens, without betas; 0 when not
	// known.
	ContextWindow, MaxOutput int
	// ExclusiveSampling models refuse temperature and top_p in the same
	// request.
	ExclusiveSampling bool

	// Price is the Anthropic API's list price, which is also Bedrock's for
	// the global profile and the base id.
	Price Price
	// BedrockPrice is Bedrock's price where it differs from Price; nil
	// when it does not (every model of this build). A PRICES_FILE can set
	// it (package cost).
	BedrockPrice *Price

	Bedrock Bedrock
}

// Price is what a model costs, in US dollars per million tokens.
type Price struct {
	Input, Output float64
	// CacheWrite5m and CacheWrite1h are the prices of cache writes with the
	// 5-minute (default) and the 1-hour lifetime.
	CacheWrite5m, CacheWrite1h float64
	CacheRead                  float64
	// Guess marks a price no public price list gives: it follows the
	// pattern of its family and must be checked before billing anyone.
	Guess bool
	// LongPrompt, when set, is the price of every token of a request whose
	// prompt (input, cache writes and cache reads) is over LongPromptOver
	// tokens.
	LongPrompt     *Price
	LongPromptOver int
	// BatchDiscount is the fraction taken off every token of a batch call
	// (Message Batches, Bedrock batch inference); 0 means the standard
	// one, DefaultBatchDiscount.
	BatchDiscount float64
}

// DefaultBatchDiscount is the discount of the Message Batches API and of
// Bedrock's batch inference on every Claude model: half price
// (platform.claude.com/docs/en/about-claude/pricing, "Batch processing";
// aws.amazon.com/bedrock/pricing, "Batch").
const DefaultBatchDiscount = 0.5

// Bedrock is how Bedrock serves a model. Sources: the AWS model cards
// (docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-*.html),
// platform.claude.com "Claude on Amazon Bedrock" (base ids and the
// global/us/eu/jp/apac table), and list-foundation-models /
// list-inference-profiles outputs published for Opus 5.5 (ap-northeast-1:
// jp. and global. profiles).
type Bedrock struct {
	// ID is the base (foundation model) id.
	ID string
	// Name is Bedrock's modelName where it differs from Name ("Claude 3.5
	// Sonnet v2"); "" when it is the same.
	Name string
	// Geos are the prefixes of the model's system-defined cross-region
	// inference profiles ("us eu jp au apac global").
	Geos string
	// Guess marks an ID Bedrock has not published: it follows the newest
	// pattern (anthropic.<Anthropic id>, no suffix). The upstream's discovery
	// replaces it as soon as the account lists the model.
	Guess bool
	// OnDemand models can be called by their base id; the others only
	// through a profile (inferenceTypesSupported: INFERENCE_PROFILE).
	OnDemand bool
	// CannotCount models refuse CountTokens.
	CannotCount bool
	// Accept are the anthropic_beta flags Bedrock is known to take for the
	// model, Reject the ones it is known to refuse. The upstream sends the
	// flags of neither list and learns from the answer; the emulator, which
	// must decide, takes Accept and refuses everything else.
	Accept, Reject []string
	// Drop are request field paths Bedrock refuses for the model ("Extra
	// inputs are not permitted"); "*" stands for any array index. The
	// upstream removes them before sending.
	Drop []string
	// Fields are the top-level InvokeModel body fields the model takes
	// beyond the ones every Claude model takes (the emulator's baseFields).
	Fields []string
	// ToolFields are the optional fields of a custom tool the model takes,
	// each with the beta flag it needs ("" when none).
	ToolFields map[string]string
}

// BedrockName is the model's name in Bedrock's lists.
func (m Model) BedrockName() string {
	if m.Bedrock.Name != "" {
		return m.Bedrock.Name
	}
	return m.Name
}

// HasGeo reports whether the model has the system profile of geo.
func (m Model) HasGeo(geo string) bool {
	for _, g := range strings.Fields(m.Bedrock.Geos) {
		if g == geo {
			return true
		}
	}
	return false
}

// Lookup finds a model by Anthropic id or alias, or by Bedrock base id,
// cross-region profile id or foundation-model / inference-profile ARN.
func Lookup(id string) (Model, bool) {
	for _, m := range All {
		if m.ID == id || m.Alias == id && id != "" {
			return m, true
		}
	}
	if i := strings.LastIndex(id, "anthropic."); i >= 0 {
		base := id[i:]
		for _, m := range All {
			if m.Bedrock.ID == base {
				return m, true
			}
		}
	}
	return Model{}, false
}

// Closest returns the model of id when the table has it, else the model
// whose rules an id released after this build most likely follows: the
// newest of its family no newer than its generation (the oldest of the
// family for an id older than the table). ok is false for an id of no
// known family. Bedrock ids are judged by the Claude id inside them.
func Closest(id string) (Model, bool) {
	if m, ok := Lookup(id); ok {
		return m, true
	}
	i := strings.Index(id, "claude-")
	if i < 0 {
		return Model{}, false
	}
	id = id[i:]
	v := Version(id)
	var best, oldest *Model
	for i := range All {
		m := &All[i]
		if !strings.Contains(id, "-"+m.Family) {
			continue
		}
		mv := Version(m.ID)
		if mv <= v && (best == nil || mv > Version(best.ID)) {
			best = m
		}
		if oldest == nil || mv < Version(oldest.ID) {
			oldest = m
		}
	}
	switch {
	case best != nil:
		return *best, true
	case oldest != nil:
		return *oldest, true
	}
	return Model{}, false
}

// Version returns the generation of a Claude model id as major*10+minor
// ("claude-sonnet-4-5-20250929" → 45, "claude-opus-5" → 50,
// "claude-3-7-sonnet-latest" → 37), or 0 when the id is not a Claude id.
func Version(id string) int {
	id, ok := strings.CutPrefix(id, "claude-")
	if !ok {
		return 0
	}
	var nums []int
	for _, p := range strings.Split(id, "-") {
		if len(p) == 8 { // a date
			continue
		}
		if n, err := strconv.Atoi(p); err == nil && n < 100 {
			nums = append(nums, n)
		} else if len(nums) > 0 {
			break
		}
	}
	switch len(nums) {
	case 0:
		return 0
	case 1:
		return nums[0] * 10
	}
	return nums[0]*10 + nums[1]
}
