package bedrock

import (
	"slices"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/models"
)

// The Bedrock front door maps Bedrock ids to Anthropic ids by Bedrock's
// naming rule (bedrockwire.AnthropicModelID), without this package's table:
// every row of the table must follow the rule.
func TestEveryCatalogModelMapsBackToItsAnthropicIDByRule(t *testing.T) {
	for _, m := range models.All {
		want := m.ID
		ids := []string{m.Bedrock.ID, "arn:aws:bedrock:us-east-1::foundation-model/" + m.Bedrock.ID}
		for _, geo := range strings.Fields(m.Bedrock.Geos) {
			ids = append(ids, geo+"."+m.Bedrock.ID)
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
