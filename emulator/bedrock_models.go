package emulator

import (
	"strings"

	"github.com/claudebridge/claudebridge/bedrockwire"
)

// bedrockModel is one model as Bedrock serves it: its ids and what its
// InvokeModel body may contain. The tables below are data so that a reader
// can check them against Bedrock's model cards.
type bedrockModel struct {
	// AnthropicID is the model's id on the Anthropic API, which Bedrock
	// names in the "model" field of its responses; "" for the models of
	// other providers (otherModels).
	AnthropicID string
	// Provider is the provider of a model of otherModels ("Amazon",
	// "Meta", "Mistral AI"); "" for Anthropic's.
	Provider string
	// BedrockID is the base (foundation model) id.
	BedrockID string
	Name      string
	// ProfileOnly models refuse on-demand invocation of BedrockID: callers
	// must use an inference profile.
	ProfileOnly bool
	// Global models also have a global.* inference profile.
	Global bool
	// CannotCount models refuse CountTokens.
	CannotCount bool
	// SamplingExclusive models refuse temperature and top_p together.
	SamplingExclusive bool
	// Betas are the anthropic_beta flags the model takes; any other flag is
	// an "invalid beta flag".
	Betas []string
	// Fields are top-level body fields the model takes beyond the ones every
	// model takes (see baseFields).
	Fields []string
	// ToolFields are the optional fields of a custom tool the model takes,
	// each with the beta flag it needs ("" when none is needed). Fields of
	// rejectedToolFields not listed are refused.
	ToolFields map[string]string
}

// baseFields are the InvokeModel body fields every Claude model takes.
var baseFields = []string{
	"anthropic_version", "anthropic_beta", "max_tokens", "messages", "system",
	"temperature", "top_p", "top_k", "stop_sequences", "tools", "tool_choice",
	"metadata", "thinking",
}

// rejectedToolFields are the Anthropic tool fields Bedrock refuses as
// "tools.N.custom.<field>: Extra inputs are not permitted" unless the model
// (and a beta) enables them.
var rejectedToolFields = []string{"defer_loading", "eager_input_streaming", "input_examples", "strict"}

var (
	betasClaude3  = []string{"computer-use-2024-10-22"}
	betasClaude37 = []string{"computer-use-2025-01-24", "token-efficient-tools-2025-02-19", "output-128k-2025-02-19"}
	betasClaude4  = []string{"computer-use-2025-01-24", "token-efficient-tools-2025-02-19", "interleaved-thinking-2025-05-14", "dev-full-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14", "context-management-2025-06-27"}
	betasSonnet4  = append([]string{"context-1m-2025-08-07"}, betasClaude4...)
	betasClaude45 = append([]string{"context-1m-2025-08-07", "tool-search-tool-2025-10-19", "tool-examples-2025-10-29"}, betasClaude4...)
	betasOpus45   = append([]string{"effort-2025-11-24", "tool-search-tool-2025-10-19", "tool-examples-2025-10-29", "computer-use-2025-11-24"}, betasClaude4...)
	betasClaude46 = append([]string{"context-1m-2025-08-07", "effort-2025-11-24", "computer-use-2025-11-24", "tool-search-tool-2025-10-19", "tool-examples-2025-10-29"}, betasClaude4...)
	toolFields45  = map[string]string{"defer_loading": "tool-search-tool-2025-10-19", "input_examples": "tool-examples-2025-10-29"}
	fieldsClaude4 = []string{"context_management"}
	fieldsEffort  = []string{"context_management", "output_config"}
)

// bedrockModels lists the Claude models the emulator serves on Bedrock:
// every model of Catalog plus older ones Bedrock still serves. Base ids are
// Bedrock's; models released after Claude Opus 4.6 follow Bedrock's newest
// pattern, "anthropic." + the Anthropic id with no version suffix.
var bedrockModels = []*bedrockModel{
	{AnthropicID: "claude-3-haiku-20240307", BedrockID: "anthropic.claude-3-haiku-20240307-v1:0", Name: "Claude 3 Haiku", CannotCount: true, Betas: betasClaude3},
	{AnthropicID: "claude-3-5-haiku-20241022", BedrockID: "anthropic.claude-3-5-haiku-20241022-v1:0", Name: "Claude 3.5 Haiku", ProfileOnly: true, CannotCount: true, Betas: betasClaude3},
	{AnthropicID: "claude-3-5-sonnet-20241022", BedrockID: "anthropic.claude-3-5-sonnet-20241022-v2:0", Name: "Claude 3.5 Sonnet v2", ProfileOnly: true, Betas: betasClaude3},
	{AnthropicID: "claude-3-7-sonnet-20250219", BedrockID: "anthropic.claude-3-7-sonnet-20250219-v1:0", Name: "Claude 3.7 Sonnet", ProfileOnly: true, Betas: betasClaude37},
	{AnthropicID: "claude-sonnet-4-20250514", BedrockID: "anthropic.claude-sonnet-4-20250514-v1:0", Name: "Claude Sonnet 4", ProfileOnly: true, Global: true, Betas: betasSonnet4, Fields: fieldsClaude4},
	{AnthropicID: "claude-opus-4-20250514", BedrockID: "anthropic.claude-opus-4-20250514-v1:0", Name: "Claude Opus 4", ProfileOnly: true, Betas: betasClaude4, Fields: fieldsClaude4},
	{AnthropicID: "claude-opus-4-1-20250805", BedrockID: "anthropic.claude-opus-4-1-20250805-v1:0", Name: "Claude Opus 4.1", ProfileOnly: true, SamplingExclusive: true, Betas: betasClaude4, Fields: fieldsClaude4},
	{AnthropicID: "claude-sonnet-4-5-20250929", BedrockID: "anthropic.claude-sonnet-4-5-20250929-v1:0", ProfileOnly: true, Global: true, SamplingExclusive: true, Betas: betasClaude45, Fields: fieldsClaude4, ToolFields: toolFields45},
	{AnthropicID: "claude-haiku-4-5-20251001", BedrockID: "anthropic.claude-haiku-4-5-20251001-v1:0", ProfileOnly: true, Global: true, SamplingExclusive: true, Betas: betasClaude45, Fields: fieldsClaude4, ToolFields: toolFields45},
	{AnthropicID: "claude-opus-4-5-20251101", BedrockID: "anthropic.claude-opus-4-5-20251101-v1:0", ProfileOnly: true, Global: true, SamplingExclusive: true, Betas: betasOpus45, Fields: fieldsEffort, ToolFields: toolFields45},
	{AnthropicID: "claude-opus-4-6", BedrockID: "anthropic.claude-opus-4-6-v1", ProfileOnly: true, Global: true, SamplingExclusive: true, Betas: betasClaude46, Fields: fieldsEffort, ToolFields: toolFields45},
	{AnthropicID: "claude-sonnet-4-6", BedrockID: "anthropic.claude-sonnet-4-6", ProfileOnly: true, Global: true, SamplingExclusive: true, Betas: betasClaude46, Fields: fieldsEffort, ToolFields: toolFields45},
	newestModel("claude-mythos-preview"),
	newestModel("claude-opus-4-7"),
	newestModel("claude-opus-4-8"),
	newestModel("claude-sonnet-5"),
	newestModel("claude-opus-5"),
	newestModel("claude-fable-5"),
	newestModel("claude-mythos-5"),
	newestModel("claude-haiku-5-5"),
	newestModel("claude-sonnet-5-5"),
	newestModel("claude-opus-5-5"),
	newestModel("claude-fable-5-1"),
	newestModel("claude-mythos-5-1"),
}

// newestModel describes a model released after Claude Opus 4.6: profile
// only, with a global profile, and the betas and fields of the 4.6 models.
func newestModel(anthropicID string) *bedrockModel {
	return &bedrockModel{AnthropicID: anthropicID, BedrockID: "anthropic." + anthropicID, ProfileOnly: true, Global: true, SamplingExclusive: true, Betas: betasClaude46, Fields: fieldsEffort, ToolFields: toolFields45}
}

// otherModels are models of other providers. The emulator serves them
// through Converse and ConverseStream only, answering with the same
// deterministic model as the Claude models: their InvokeModel bodies are
// each provider's own format, which the emulator does not implement.
// Each answers to its base id, its foundation-model ARN and the system
// profile ids of the emulator's geography and of global (simpler than
// Bedrock, where some of them are reached through a profile only).
var otherModels = []*bedrockModel{
	{Provider: "Amazon", BedrockID: "amazon.nova-pro-v1:0", Name: "Nova Pro"},
	{Provider: "Amazon", BedrockID: "amazon.nova-lite-v1:0", Name: "Nova Lite"},
	{Provider: "Amazon", BedrockID: "amazon.nova-micro-v1:0", Name: "Nova Micro"},
	{Provider: "Meta", BedrockID: "meta.llama3-3-70b-instruct-v1:0", Name: "Llama 3.3 70B Instruct"},
	{Provider: "Meta", BedrockID: "meta.llama3-1-8b-instruct-v1:0", Name: "Llama 3.1 8B Instruct"},
	{Provider: "Mistral AI", BedrockID: "mistral.mistral-large-2407-v1:0", Name: "Mistral Large (24.07)"},
}

// otherModelFields are the Messages fields a Converse request for a model
// of otherModels may carry: what Converse itself says (messages, system,
// inferenceConfig, toolConfig, requestMetadata). Anything else came from
// additionalModelRequestFields, which these models refuse as Bedrock does.
var otherModelFields = []string{"messages", "system", "max_tokens", "temperature", "top_p", "stop_sequences", "tools", "tool_choice", "metadata"}

// answerID is the model id the deterministic model answers as.
func (m *bedrockModel) answerID() string {
	if m.AnthropicID != "" {
		return m.AnthropicID
	}
	return m.BedrockID
}

// otherModel finds a model of otherModels by base id or by the id of one of
// its system profiles in region; nil when id names none.
func otherModel(id, region string) *bedrockModel {
	base := id
	if prefix, rest, ok := strings.Cut(id, "."); ok && strings.Contains(rest, ".") {
		if prefix != profilePrefix(region) && prefix != "global" {
			return nil
		}
		base = rest
	}
	if rest, ok := strings.CutPrefix(base, "arn:aws:bedrock:"); ok {
		// arn:aws:bedrock:<region>::foundation-model/<id>
		parts := strings.SplitN(rest, ":", 3)
		if len(parts) != 3 || parts[0] != region {
			return nil
		}
		base, ok = strings.CutPrefix(parts[2], "foundation-model/")
		if !ok {
			return nil
		}
	}
	for _, m := range otherModels {
		if m.BedrockID == base {
			return m
		}
	}
	return nil
}

// msgOtherModelInvoke is Bedrock's answer to an InvokeModel body in
// Anthropic's format sent to a model of another provider, whose schema has
// no anthropic_version (the first key such a body is refused for).
const msgOtherModelInvoke = "Malformed input request: #: extraneous key [anthropic_version] is not permitted, please reformat your input and try again."

func init() {
	// Names come from the catalog where the model is in it.
	for _, m := range bedrockModels {
		if c, ok := LookupModel(m.AnthropicID); ok && m.Name == "" {
			m.Name = c.DisplayName
		}
	}
}

// modelByBedrockID finds a model by its base id.
func modelByBedrockID(id string) *bedrockModel {
	for _, m := range bedrockModels {
		if m.BedrockID == id {
			return m
		}
	}
	return nil
}

func (m *bedrockModel) takesBeta(flag string) bool { return contains(m.Betas, flag) }

func (m *bedrockModel) takesField(name string) bool {
	return contains(baseFields, name) || contains(m.Fields, name)
}

// profilePrefix is the geography prefix of the system-defined inference
// profiles of region ("us", "eu", "apac", ...).
func profilePrefix(region string) string {
	switch {
	case strings.HasPrefix(region, "us-gov-"):
		return "us-gov"
	case strings.HasPrefix(region, "eu-"):
		return "eu"
	case strings.HasPrefix(region, "ap-"):
		return "apac"
	case strings.HasPrefix(region, "ca-"):
		return "ca"
	default:
		return "us"
	}
}

// profileIDs are the system-defined inference profile ids of m in region.
func (m *bedrockModel) profileIDs(region string) []string {
	ids := []string{profilePrefix(region) + "." + m.BedrockID}
	if m.Global {
		ids = append(ids, "global."+m.BedrockID)
	}
	return ids
}

// applicationProfile is an application inference profile: an account's own
// name for a system profile (or base model), known only by its ARN.
type applicationProfile struct {
	ID   string // the last part of the ARN
	Name string
	// Wraps is the system inference profile id it copies.
	Wraps string
}

// defaultApplicationProfiles is used when BedrockOptions has none.
var defaultApplicationProfiles = []applicationProfile{
	{ID: "emulator-sonnet", Name: "emulator-sonnet", Wraps: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
}

// emulatorAccount is the AWS account id in the ARNs the emulator makes.
const emulatorAccount = "123456789012"

// modelRef is a model id of a request, resolved.
type modelRef struct {
	Model *bedrockModel
	// Kind is "base" (a base id or foundation-model ARN), "profile" (a
	// system inference profile id or ARN) or "application".
	Kind string
}

// resolveModel resolves the model id of a runtime request: base ids,
// foundation-model ARNs, system inference profile ids and ARNs, and
// application inference profile ARNs. Unknown ids get Bedrock's
// ValidationException.
//
// The models of other providers are served through Converse only
// (resolveConverseModel): for InvokeModel and CountTokens, which carry
// Anthropic's body format here, they get Bedrock's "Malformed input
// request".
func (b *bedrockServer) resolveModel(id string) (*modelRef, *bedrockwire.Error) {
	if otherModel(id, b.region) != nil {
		return nil, bedrockwire.ValidationError(msgOtherModelInvoke)
	}
	invalid := bedrockwire.ValidationError(msgInvalidModel)
	if rest, ok := strings.CutPrefix(id, "arn:aws:bedrock:"); ok {
		parts := strings.SplitN(rest, ":", 3)
		if len(parts) != 3 || parts[0] != b.region {
			return nil, invalid
		}
		resource, name, _ := strings.Cut(parts[2], "/")
		switch resource {
		case "foundation-model":
			if parts[1] != "" {
				return nil, invalid
			}
			return b.resolveBase(name)
		case "inference-profile":
			return b.resolveProfile(name)
		case "application-inference-profile":
			p, ok := b.applicationProfiles[name]
			if !ok || parts[1] != emulatorAccount {
				return nil, &bedrockwire.Error{Type: "ResourceNotFoundException", Status: 404, Message: "The specified inference profile wasn't found."}
			}
			ref, err := b.resolveProfile(p.Wraps)
			if err != nil {
				return nil, err
			}
			ref.Kind = "application"
			return ref, nil
		}
		return nil, invalid
	}
	if prefix, _, ok := strings.Cut(id, "."); ok && prefix != "anthropic" {
		return b.resolveProfile(id)
	}
	return b.resolveBase(id)
}

// resolveConverseModel resolves the model id of a Converse or
// ConverseStream request: the Claude models as resolveModel does, and the
// models of other providers.
func (b *bedrockServer) resolveConverseModel(id string) (*modelRef, *bedrockwire.Error) {
	if m := otherModel(id, b.region); m != nil {
		kind := "base"
		if m.BedrockID != id && !strings.HasPrefix(id, "arn:") {
			kind = "profile"
		}
		return &modelRef{Model: m, Kind: kind}, nil
	}
	return b.resolveModel(id)
}

func (b *bedrockServer) resolveBase(id string) (*modelRef, *bedrockwire.Error) {
	m := modelByBedrockID(id)
	if m == nil {
		return nil, bedrockwire.ValidationError(msgInvalidModel)
	}
	return &modelRef{Model: m, Kind: "base"}, nil
}

func (b *bedrockServer) resolveProfile(id string) (*modelRef, *bedrockwire.Error) {
	prefix, base, _ := strings.Cut(id, ".")
	m := modelByBedrockID(base)
	if m == nil || !contains(m.profileIDs(b.region), prefix+"."+base) {
		return nil, bedrockwire.ValidationError(msgInvalidModel)
	}
	return &modelRef{Model: m, Kind: "profile"}, nil
}
