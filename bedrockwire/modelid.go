package bedrockwire

import "strings"

// ProfilePrefixes are the first segments of Bedrock's system-defined
// cross-region inference profile ids ("us.anthropic.claude-..."); stripping
// one gives the base model id.
var ProfilePrefixes = []string{"us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"}

// AnthropicModelID returns the Anthropic model id that a Bedrock model id
// names: a base id ("anthropic.claude-sonnet-4-5-20250929-v1:0"), a
// cross-region profile id ("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
// or a foundation-model or inference-profile ARN all give
// "claude-sonnet-4-5-20250929". The id is the dated one where the model has
// a date, as the Anthropic API names it. ok is false for ids that are not
// Claude models on Bedrock (other vendors' models, application inference
// profile ARNs, which only GetInferenceProfile can resolve) and for ids
// that are already Anthropic ids.
//
// The mapping is Bedrock's naming rule, "anthropic." + the Anthropic id +
// an optional "-v<n>[:<m>]", so a model released after this code still
// maps; the bedrock upstream's table is checked against it in its tests.
func AnthropicModelID(bedrockID string) (id string, ok bool) {
	base := bedrockID
	if strings.HasPrefix(base, "arn:") {
		parts := strings.SplitN(base, ":", 6)
		if len(parts) < 6 {
			return "", false
		}
		kind, res, _ := strings.Cut(parts[5], "/")
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
	id, found := strings.CutPrefix(base, "anthropic.")
	if !found || !strings.HasPrefix(id, "claude-") {
		return "", false
	}
	return trimVersion(id), true
}

// baseOfProfileID strips a cross-region prefix: "us.anthropic.x" → "anthropic.x".
func baseOfProfileID(id string) string {
	for _, p := range ProfilePrefixes {
		if rest, ok := strings.CutPrefix(id, p+"."); ok && strings.Contains(rest, ".") {
			return rest
		}
	}
	return id
}

// trimVersion drops a Bedrock version suffix, "-v<digits>" with an optional
// ":<digits>": "claude-opus-4-6-v1" → "claude-opus-4-6".
func trimVersion(id string) string {
	i := strings.LastIndex(id, "-v")
	if i < 0 {
		return id
	}
	v, minor, hasMinor := strings.Cut(id[i+2:], ":")
	if !allDigits(v) || hasMinor && !allDigits(minor) {
		return id
	}
	return id[:i]
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
