package bedrockemu

import (
	"strings"

	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/models"
)

// bedrockModel is one model as Bedrock serves it: its ids and what its
// InvokeModel body may contain. The Claude models are models.All's rows;
// otherModels are the emulator's own.
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
	// Geos are the prefixes of the model's system-defined inference
	// profiles; the emulator serves those whose geography covers its region.
	Geos []string
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
	// MaxOutputTokens is the largest max_tokens the model takes; 0 when
	// not known.
	MaxOutputTokens int
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

// bedrockModels are the Claude models the emulator serves on Bedrock: every
// model of models.All, those retired from the Anthropic API included.
var bedrockModels = claudeModels()

func claudeModels() []*bedrockModel {
	var out []*bedrockModel
	for _, m := range models.All {
		out = append(out, &bedrockModel{
			AnthropicID: m.ID, BedrockID: m.Bedrock.ID, Name: m.BedrockName(),
			ProfileOnly: !m.Bedrock.OnDemand, Geos: strings.Fields(m.Bedrock.Geos),
			CannotCount: m.Bedrock.CannotCount, SamplingExclusive: m.ExclusiveSampling,
			Betas: m.Bedrock.Accept, Fields: m.Bedrock.Fields, ToolFields: m.Bedrock.ToolFields,
			MaxOutputTokens: m.MaxOutput,
		})
	}
	return out
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

// profileIDs are the system-defined inference profile ids of m in region:
// those of its geographies that cover the region.
func (m *bedrockModel) profileIDs(region string) []string {
	var ids []string
	for _, g := range m.Geos {
		if geoCovers(g, region) {
			ids = append(ids, g+"."+m.BedrockID)
		}
	}
	return ids
}

// geoCovers reports whether the profiles of geo route from region, as the
// upstream's geoCandidates picks them: Japan and Australia have their own
// geographies within Asia Pacific, Canada is served by the US one.
func geoCovers(geo, region string) bool {
	switch geo {
	case "global":
		return true
	case "us":
		return strings.HasPrefix(region, "us-") && !strings.HasPrefix(region, "us-gov-") || strings.HasPrefix(region, "ca-")
	case "us-gov":
		return strings.HasPrefix(region, "us-gov-")
	case "ca":
		return strings.HasPrefix(region, "ca-")
	case "eu":
		return strings.HasPrefix(region, "eu-")
	case "apac":
		return strings.HasPrefix(region, "ap-")
	case "jp":
		return region == "ap-northeast-1" || region == "ap-northeast-3"
	case "au":
		return region == "ap-southeast-2" || region == "ap-southeast-4" || region == "ap-southeast-6"
	}
	return false
}

// applicationProfile is an application inference profile: an account's own
// name for a system profile (or base model), known only by its ARN.
type applicationProfile struct {
	ID   string // the last part of the ARN
	Name string
	// Wraps is the system inference profile id it copies.
	Wraps string
}

// defaultApplicationProfiles is used when Options has none.
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
