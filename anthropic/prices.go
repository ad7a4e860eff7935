package anthropic

import (
	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/models"
)

// PriceOf returns the price of model (an Anthropic id, or a Bedrock id or
// profile with the Claude id inside) and whether one is known. An id the
// table does not have is priced as the closest model of its family
// (models.Closest).
func PriceOf(model string) (models.Price, bool) {
	m, ok := models.Closest(model)
	if !ok {
		return models.Price{}, false
	}
	return m.Price, true
}

// Cost returns what u cost on model, in US dollars; 0 for a model without a
// known price (models of other providers). Cache writes are priced by
// lifetime: those u.CacheCreation counts as 1-hour at the 1-hour rate (2×
// base input), the others at the 5-minute rate (1.25×), the default
// lifetime. A request whose prompt is over the model's long-prompt
// threshold is priced at the long-prompt rates throughout.
func Cost(model string, u claudebridge.Usage) float64 {
	p, ok := PriceOf(model)
	if !ok {
		return 0
	}
	prompt := u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
	if p.LongPrompt != nil && prompt > p.LongPromptOver {
		p = *p.LongPrompt
	}
	long := min(u.CacheCreation.Ephemeral1hInputTokens, u.CacheCreationInputTokens)
	short := u.CacheCreationInputTokens - long
	return (float64(u.InputTokens)*p.Input + float64(u.OutputTokens)*p.Output +
		float64(short)*p.CacheWrite5m + float64(long)*p.CacheWrite1h + float64(u.CacheReadInputTokens)*p.CacheRead) / 1e6
}
