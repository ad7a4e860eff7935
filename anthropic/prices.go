package anthropic

import (
	"strings"

	"github.com/claudebridge/claudebridge"
)

// Price is what a model costs, in US dollars per million tokens.
type Price struct {
	Input, Output, CacheWrite, CacheRead float64
}

// prices are list prices by family and first generation that has them,
// newest generation first within a family. They are PLAUSIBLE list prices,
// set by hand from Anthropic's published pattern (cache writes at 1.25× the
// input price, cache reads at 0.1×), not read from a price list: check them
// against your contract before billing anyone. Version is as Version gives
// it (45 = 4.5).
var prices = []struct {
	family  string
	version int // this price holds from this generation on
	price   Price
}{
	{"opus", 45, Price{5, 25, 6.25, 0.50}},
	{"opus", 0, Price{15, 75, 18.75, 1.50}},
	{"sonnet", 0, Price{3, 15, 3.75, 0.30}},
	{"haiku", 45, Price{1, 5, 1.25, 0.10}},
	{"haiku", 35, Price{0.80, 4, 1, 0.08}},
	{"haiku", 0, Price{0.25, 1.25, 0.30, 0.03}},
	{"mythos", 0, Price{25, 125, 31.25, 2.50}},
	{"fable", 0, Price{3, 15, 3.75, 0.30}},
}

// PriceOf returns the price of model (an Anthropic id, or a Bedrock id or
// profile with the Claude id inside) and whether one is known.
func PriceOf(model string) (Price, bool) {
	if i := strings.Index(model, "claude-"); i >= 0 {
		model = model[i:]
	} else {
		return Price{}, false
	}
	v := Version(model)
	for _, p := range prices {
		if strings.Contains(model, "-"+p.family) && v >= p.version {
			return p.price, true
		}
	}
	return Price{}, false
}

// Cost returns what u cost on model, in US dollars; 0 for a model without a
// known price (models of other providers).
func Cost(model string, u claudebridge.Usage) float64 {
	p, ok := PriceOf(model)
	if !ok {
		return 0
	}
	return (float64(u.InputTokens)*p.Input + float64(u.OutputTokens)*p.Output +
		float64(u.CacheCreationInputTokens)*p.CacheWrite + float64(u.CacheReadInputTokens)*p.CacheRead) / 1e6
}
