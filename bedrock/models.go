package bedrock

// This file is the data of the package: which Claude model is which Bedrock
// model, which cross-region inference profiles each one has, which beta flags
// and request fields Bedrock takes for it. Code elsewhere only reads it; the
// account's own lists (ListFoundationModels, ListInferenceProfiles) complete
// it at start-up and the upstream's 400s refine the beta and field rules.
//
// Sources (checked 2026): the AWS model cards
// (docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-*.html),
// platform.claude.com "Claude on Amazon Bedrock" (base ids and the
// global/us/eu/jp/apac table), and list-foundation-models /
// list-inference-profiles outputs published for Opus 5.5 (ap-northeast-1:
// jp. and global. profiles). Ids marked "guess" have no public Bedrock id yet
// and follow the newest pattern (anthropic.claude-<family>-<version>, no
// suffix); discovery replaces them as soon as the account lists the model.

// modelSpec is one Claude model as Bedrock serves it.
type modelSpec struct {
	Alias   string // undated Anthropic id, e.g. "claude-sonnet-4-5"
	Dated   string // dated Anthropic id, "" when the model has none
	Bedrock string // base Bedrock model id
	Name    string // display name
	Created string // release date, YYYY-MM-DD
	// Geos are the prefixes of the system-defined cross-region inference
	// profiles the model has ("us eu jp au apac global"). All these models are
	// served through a profile only (inferenceTypesSupported: INFERENCE_PROFILE).
	Geos  string
	Guess bool // the Bedrock id is not published: newest pattern assumed

	Betas betaRules
	// Drop are request field paths Bedrock refuses for this model ("Extra
	// inputs are not permitted"); "*" stands for any array index.
	Drop []string
}

// betaRules say which anthropic-beta flags a model is known to take or refuse
// on Bedrock. Flags in neither list are sent and learned from the answer.
type betaRules struct {
	Accept []string
	Reject []string
}

// context1M is the beta the gateway adds for "[1m]" model ids. It is sent only
// to models whose Accept list names it: the others either lack the 1M window
// or have it natively and refuse the flag.
const context1M = "context-1m-2025-08-07"

// Beta sets shared by several models.
var (
	// Betas Bedrock documents for the Claude 4 family (Messages API on
	// Bedrock, "anthropic_beta" request parameter).
	betasClaude4 = []string{
		"computer-use-2025-01-24", "token-efficient-tools-2025-02-19",
		"interleaved-thinking-2025-05-14", "output-128k-2025-02-19",
		"dev-full-thinking-2025-05-14", "context-management-2025-06-27",
		"fine-grained-tool-streaming-2025-05-14", "claude-code-20250219",
	}
	// Opus 4.7 and later refuse every flag but interleaved thinking with
	// "invalid beta flag" (anthropics/claude-code#49370, #49648).
	betasClaude47Reject = []string{
		"claude-code-20250219", "effort-2025-11-24", "tool-search-tool-2025-10-19",
		"context-management-2025-06-27", "fine-grained-tool-streaming-2025-05-14",
		context1M,
	}
)

// rejectedEverywhere are flags of first-party features Bedrock does not have
// (OAuth, Files API); they are never sent.
var rejectedEverywhere = []string{"oauth-2025-04-20", "files-api-2025-04-14"}

// Fields that Bedrock's schema refused on the Claude 4.5/4.6 models in user
// reports (anthropics/claude-agent-sdk-python#694: tools.0.custom.eager_input_streaming;
// anthropics/claude-code#82549: tools.11.custom.defer_loading; BerriAI/litellm#19815:
// input_examples outside Opus 4.5). The "custom" in those messages is the
// tool variant's name, not a JSON key, so the paths here leave it out.
var dropClaude45 = []string{"tools.*.eager_input_streaming", "tools.*.defer_loading", "tools.*.input_examples"}

// catalog lists every Claude model the Anthropic Go SDK (v1.84.0) names,
// newest first.
var catalog = []modelSpec{
	{Alias: "claude-opus-5-5", Bedrock: "anthropic.claude-opus-5-5", Name: "Claude Opus 5.5", Created: "2026-09-22",
		Geos: "us eu jp au global", Betas: betaRules{Accept: []string{"interleaved-thinking-2025-05-14"}, Reject: betasClaude47Reject}},
	{Alias: "claude-sonnet-5-5", Bedrock: "anthropic.claude-sonnet-5-5", Name: "Claude Sonnet 5.5", Created: "2026-09-28",
		Geos: "us eu jp au global", Betas: betaRules{Accept: []string{"interleaved-thinking-2025-05-14"}, Reject: betasClaude47Reject}},
	{Alias: "claude-haiku-5-5", Bedrock: "anthropic.claude-haiku-5-5", Name: "Claude Haiku 5.5", Created: "2026-09-28",
		Geos: "us eu global", Guess: true, Betas: betaRules{Reject: betasClaude47Reject}},
	{Alias: "claude-fable-5-1", Bedrock: "anthropic.claude-fable-5-1", Name: "Claude Fable 5.1", Created: "2026-09-01",
		Geos: "us global", Betas: betaRules{Reject: betasClaude47Reject}},
	{Alias: "claude-mythos-5-1", Bedrock: "anthropic.claude-mythos-5-1", Name: "Claude Mythos 5.1", Created: "2026-09-01",
		Geos: "us global", Guess: true, Betas: betaRules{Reject: betasClaude47Reject}},
	{Alias: "claude-sonnet-5", Bedrock: "anthropic.claude-sonnet-5", Name: "Claude Sonnet 5", Created: "2026-06-30",
		Geos: "us eu au global", Betas: betaRules{Accept: []string{"interleaved-thinking-2025-05-14"}, Reject: betasClaude47Reject}},
	{Alias: "claude-opus-5", Bedrock: "anthropic.claude-opus-5", Name: "Claude Opus 5", Created: "2026-06-30",
		Geos: "us eu au global", Betas: betaRules{Accept: []string{"interleaved-thinking-2025-05-14"}, Reject: betasClaude47Reject}},
	{Alias: "claude-fable-5", Bedrock: "anthropic.claude-fable-5", Name: "Claude Fable 5", Created: "2026-06-30",
		Geos: "us global", Betas: betaRules{Reject: betasClaude47Reject}},
	{Alias: "claude-mythos-5", Bedrock: "anthropic.claude-mythos-5", Name: "Claude Mythos 5", Created: "2026-06-30",
		Geos: "us global", Guess: true, Betas: betaRules{Reject: betasClaude47Reject}},
	{Alias: "claude-opus-4-8", Bedrock: "anthropic.claude-opus-4-8", Name: "Claude Opus 4.8", Created: "2026-05-28",
		Geos: "us eu jp au global", Betas: betaRules{Accept: []string{"interleaved-thinking-2025-05-14"}, Reject: betasClaude47Reject}},
	{Alias: "claude-opus-4-7", Bedrock: "anthropic.claude-opus-4-7", Name: "Claude Opus 4.7", Created: "2026-04-16",
		Geos: "us eu jp au global", Betas: betaRules{Accept: []string{"interleaved-thinking-2025-05-14"}, Reject: betasClaude47Reject}},
	{Alias: "claude-mythos-preview", Bedrock: "anthropic.claude-mythos-preview", Name: "Claude Mythos Preview", Created: "2026-04-07",
		Geos: "us global", Guess: true, Betas: betaRules{Reject: betasClaude47Reject}},
	{Alias: "claude-opus-4-6", Bedrock: "anthropic.claude-opus-4-6-v1", Name: "Claude Opus 4.6", Created: "2026-02-05",
		Geos: "us eu jp au apac global", Betas: betaRules{Accept: append([]string{context1M, "effort-2025-11-24", "tool-search-tool-2025-10-19"}, betasClaude4...)}},
	{Alias: "claude-sonnet-4-6", Bedrock: "anthropic.claude-sonnet-4-6", Name: "Claude Sonnet 4.6", Created: "2026-02-17",
		Geos: "us eu jp au global", Betas: betaRules{Accept: append([]string{context1M, "tool-search-tool-2025-10-19"}, betasClaude4...)},
		Drop: dropClaude45},
	{Alias: "claude-opus-4-5", Dated: "claude-opus-4-5-20251101", Bedrock: "anthropic.claude-opus-4-5-20251101-v1:0", Name: "Claude Opus 4.5", Created: "2025-11-24",
		Geos: "us eu global", Betas: betaRules{Accept: append([]string{"effort-2025-11-24", "tool-search-tool-2025-10-19", "tool-examples-2025-10-29"}, betasClaude4...), Reject: []string{context1M}},
		Drop: []string{"tools.*.eager_input_streaming", "tools.*.defer_loading"}},
	{Alias: "claude-haiku-4-5", Dated: "claude-haiku-4-5-20251001", Bedrock: "anthropic.claude-haiku-4-5-20251001-v1:0", Name: "Claude Haiku 4.5", Created: "2025-10-15",
		Geos: "us eu jp au global", Betas: betaRules{Accept: betasClaude4, Reject: []string{context1M}},
		Drop: dropClaude45},
	{Alias: "claude-sonnet-4-5", Dated: "claude-sonnet-4-5-20250929", Bedrock: "anthropic.claude-sonnet-4-5-20250929-v1:0", Name: "Claude Sonnet 4.5", Created: "2025-09-29",
		Geos: "us eu jp au global", Betas: betaRules{Accept: append([]string{context1M, "tool-search-tool-2025-10-19"}, betasClaude4...)},
		Drop: dropClaude45},
}

// geoCandidates are the profile prefixes to try, in order, for a client in
// region. Japan and Australia have their own geographies for the newer
// models and fall back to apac (older models) and then global; the rest of
// Asia Pacific uses apac; a region of no geography uses global.
func geoCandidates(region string) []string {
	switch {
	case region == "ap-northeast-1" || region == "ap-northeast-3":
		return []string{"jp", "apac", "global"}
	case region == "ap-southeast-2" || region == "ap-southeast-4" || region == "ap-southeast-6":
		return []string{"au", "apac", "global"}
	case len(region) > 3 && region[:3] == "ap-":
		return []string{"apac", "global"}
	case len(region) > 7 && region[:7] == "us-gov-":
		return []string{"us-gov", "global"}
	case len(region) > 3 && (region[:3] == "us-" || region[:3] == "ca-"):
		return []string{"us", "global"}
	case len(region) > 3 && region[:3] == "eu-":
		return []string{"eu", "global"}
	}
	return []string{"global"}
}

// profilePrefixes are the first segments of system-defined inference profile
// ids; stripping one gives the base model id.
var profilePrefixes = []string{"us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"}
