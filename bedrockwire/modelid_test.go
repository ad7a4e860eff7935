package bedrockwire

import "testing"

func TestAnthropicModelID(t *testing.T) {
	cases := map[string]string{
		"anthropic.claude-sonnet-4-5-20250929-v1:0":                                                           "claude-sonnet-4-5-20250929",
		"us.anthropic.claude-sonnet-4-5-20250929-v1:0":                                                        "claude-sonnet-4-5-20250929",
		"global.anthropic.claude-opus-4-6-v1":                                                                 "claude-opus-4-6",
		"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0":                "claude-haiku-4-5-20251001",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.claude-opus-4-5-20251101-v1:0": "claude-opus-4-5-20251101",
		"anthropic.claude-opus-9-20300101-v2:0":                                                               "claude-opus-9-20300101",
		"anthropic.claude-opus-9":                                                                             "claude-opus-9",
	}
	for in, want := range cases {
		if got, ok := AnthropicModelID(in); !ok || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"amazon.nova-pro-v1:0", "claude-sonnet-4-5", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc", ""} {
		if got, ok := AnthropicModelID(in); ok {
			t.Errorf("%s: %q, want not ok", in, got)
		}
	}
}
