package anthropic

import "github.com/claudebridge/claudebridge/models"

// Lookup finds a model of the Anthropic catalogue (the models current
// Anthropic SDKs name, as models.All has them) by id or alias.
func Lookup(id string) (models.Model, bool) {
	m, ok := models.Lookup(id)
	if !ok || m.BedrockOnly || (m.ID != id && m.Alias != id) {
		return models.Model{}, false
	}
	return m, true
}
