package bedrock

import (
	"slices"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge/bedrockwire"
)

// The Bedrock front door maps Bedrock ids to Anthropic ids by Bedrock's
// naming rule (bedrockwire.AnthropicModelID), without this package's table:
// every row of the table must follow the rule.
func TestEveryCatalogModelMapsBackToItsAnthropicIDByRule(t *testing.T) {
	for _, s := range catalog {
		want := s.Alias
		if s.Dated != "" {
			want = s.Dated
		}
		ids := []string{s.Bedrock, "arn:aws:bedrock:us-east-1::foundation-model/" + s.Bedrock}
		for _, geo := range strings.Fields(s.Geos) {
			ids = append(ids, geo+"."+s.Bedrock)
		}
		for _, id := range ids {
			got, ok := bedrockwire.AnthropicModelID(id)
			if !ok || got != want {
				t.Errorf("%s: %q %v, want %q", id, got, ok, want)
			}
		}
	}
}

func TestProfilePrefixesAreBedrockWires(t *testing.T) {
	if !slices.Equal(profilePrefixes, bedrockwire.ProfilePrefixes) {
		t.Errorf("got %v, want %v", profilePrefixes, bedrockwire.ProfilePrefixes)
	}
}
