package bedrock

import (
	"strings"

	"github.com/claudebridge/claudebridge/models"
)

// AnthropicModelID returns the Anthropic model id that a Bedrock model id
// names: a base id ("anthropic.claude-sonnet-4-5-20250929-v1:0"), a
// cross-region profile id ("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
// or a foundation-model or inference-profile ARN all give
// "claude-sonnet-4-5-20250929". The id is the dated one where the model has
// a date, as the Anthropic API names it. ok is false for ids that are not
// Claude models on Bedrock (other vendors' models, application inference
// profile ARNs, which only GetInferenceProfile can resolve) and for ids
// that are already Anthropic ids.
func AnthropicModelID(bedrockID string) (id string, ok bool) {
	base := bedrockID
	if strings.HasPrefix(base, "arn:") {
		kind, res, _ := strings.Cut(arnResource(base), "/")
		switch kind {
		case "foundation-model":
			base = res
		case "inference-profile":
			base = baseOfProfileID(res)
		default:
			return "", false
		}
	} else {
		base = baseOfProfileID(base)
	}
	for _, m := range models.All {
		if m.Bedrock.ID == base {
			return m.ID, true
		}
	}
	alias, dated, ok := anthropicIDs(base)
	if !ok {
		return "", false
	}
	if dated != "" {
		return dated, true
	}
	return alias, true
}
