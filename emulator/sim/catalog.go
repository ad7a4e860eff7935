package sim

import (
	"time"

	"github.com/claudebridge/claudebridge/models"
)

// CatalogModel is one model the Anthropic emulator serves.
type CatalogModel struct {
	// ID is the Anthropic model id, as GET /v1/models lists it.
	ID string
	// Aliases are other Anthropic ids that name the same model
	// ("claude-sonnet-4-5" for "claude-sonnet-4-5-20250929").
	Aliases []string
	// DisplayName is the human name the models API returns.
	DisplayName string
	// CreatedAt is the release date the models API returns.
	CreatedAt time.Time
	// MaxOutputTokens is the largest max_tokens the model accepts.
	MaxOutputTokens int
}

// Catalog lists the models the Anthropic emulator knows, newest first: the
// rows of models.All that the Anthropic API still serves.
var Catalog = catalogOf(models.All)

func catalogOf(all []models.Model) []CatalogModel {
	var out []CatalogModel
	for _, m := range all {
		if !m.BedrockOnly {
			out = append(out, catalogModel(m))
		}
	}
	return out
}

func catalogModel(m models.Model) CatalogModel {
	released, err := time.Parse(time.DateOnly, m.Released)
	if err != nil {
		panic(err)
	}
	c := CatalogModel{ID: m.ID, DisplayName: m.Name, CreatedAt: released, MaxOutputTokens: m.MaxOutput}
	if m.Alias != "" {
		c.Aliases = []string{m.Alias}
	}
	return c
}

// LookupModel finds a model of the Catalog by Anthropic id or alias. It also
// accepts Bedrock model ids and inference profile ids
// ("anthropic.claude-sonnet-4-5-20250929-v1:0",
// "us.anthropic.claude-sonnet-4-5-20250929-v1:0").
func LookupModel(id string) (CatalogModel, bool) {
	m, ok := models.Lookup(id)
	if !ok || m.BedrockOnly {
		return CatalogModel{}, false
	}
	return catalogModel(m), true
}
