// Package cost prices calls: the price table (the model table's prices,
// overridden by a PRICES_FILE), its version, what a call's usage cost, and
// the worst case of a request before it is sent (for the per-request cost
// cap of MAX_COST_PER_REQUEST and of a key's --max-cost-per-request).
//
// A PRICES_FILE is JSON:
//
//	{
//	  "version": "2026-12-01",
//	  "models": {
//	    "claude-sonnet-4-5-20250929": {
//	      "input": 3, "output": 15, "cache_write_5m": 3.75, "cache_write_1h": 6, "cache_read": 0.30,
//	      "batch_discount": 0.5,
//	      "bedrock": {"input": 3.30, "output": 16.50, "cache_write_5m": 4.125, "cache_write_1h": 6.60, "cache_read": 0.33}
//	    }
//	  }
//	}
//
// Prices are US dollars per million tokens. A model is named by any id the
// model table knows (Anthropic id, alias, Bedrock id); a model the file
// does not name keeps its built-in price, and a price the file gives
// replaces the built-in one whole (a missing field is 0). "bedrock" is the
// price on Bedrock where it differs; without it Bedrock is priced as the
// Anthropic API. "version" is recorded on every ledger row; without it the
// version is "file:" and the first 12 hex digits of the file's SHA-256.
package cost

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/models"
)

// Table is a price per model, Anthropic API's and Bedrock's, with the
// version that names it. Its methods may be called from any goroutine.
type Table struct {
	// Version names the prices: a PRICES_FILE's "version", else a hash.
	Version string
	api     map[string]models.Price // by the model table's id
	bedrock map[string]models.Price // only where Bedrock's differs
}

// Builtin is the table of the model table's prices; its version is
// "builtin:" and the first 12 hex digits of the SHA-256 of those prices,
// so that a build with other prices records another version.
func Builtin() *Table {
	t := &Table{api: map[string]models.Price{}, bedrock: map[string]models.Price{}}
	for _, m := range models.All {
		t.api[m.ID] = m.Price
		if m.BedrockPrice != nil {
			t.bedrock[m.ID] = *m.BedrockPrice
		}
	}
	t.Version = "builtin:" + t.hash()
	return t
}

func (t *Table) hash() string {
	b, _ := json.Marshal([]any{t.api, t.bedrock}) // map keys sorted: stable
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// filePrice is one model's price in a PRICES_FILE.
type filePrice struct {
	Input         float64    `json:"input"`
	Output        float64    `json:"output"`
	CacheWrite5m  float64    `json:"cache_write_5m"`
	CacheWrite1h  float64    `json:"cache_write_1h"`
	CacheRead     float64    `json:"cache_read"`
	BatchDiscount float64    `json:"batch_discount"`
	Bedrock       *filePrice `json:"bedrock"`
}

func (p filePrice) price() models.Price {
	return models.Price{Input: p.Input, Output: p.Output, CacheWrite5m: p.CacheWrite5m, CacheWrite1h: p.CacheWrite1h,
		CacheRead: p.CacheRead, BatchDiscount: p.BatchDiscount}
}

// Load reads a PRICES_FILE over the built-in prices. An unknown model id,
// a negative price or a discount outside [0, 1) is an error that names it.
func Load(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("PRICES_FILE: %v", err)
	}
	return Parse(data)
}

// Parse is Load of a file's bytes.
func Parse(data []byte) (*Table, error) {
	var f struct {
		Version string               `json:"version"`
		Models  map[string]filePrice `json:"models"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("PRICES_FILE: %v", err)
	}
	t := Builtin()
	for id, p := range f.Models {
		m, ok := models.Lookup(id)
		if !ok {
			return nil, fmt.Errorf("PRICES_FILE: model %q is not in the model table", id)
		}
		for _, q := range []*filePrice{&p, p.Bedrock} {
			if q == nil {
				continue
			}
			if q.Input < 0 || q.Output < 0 || q.CacheWrite5m < 0 || q.CacheWrite1h < 0 || q.CacheRead < 0 {
				return nil, fmt.Errorf("PRICES_FILE: model %q: a price is negative", id)
			}
			if q.BatchDiscount < 0 || q.BatchDiscount >= 1 {
				return nil, fmt.Errorf("PRICES_FILE: model %q: batch_discount %v is not in [0, 1)", id, q.BatchDiscount)
			}
		}
		t.api[m.ID] = p.price()
		delete(t.bedrock, m.ID)
		if p.Bedrock != nil {
			t.bedrock[m.ID] = p.Bedrock.price()
		}
	}
	t.Version = f.Version
	if t.Version == "" {
		sum := sha256.Sum256(data)
		t.Version = "file:" + hex.EncodeToString(sum[:6])
	}
	return t, nil
}

// Of returns model's price on upstream ("bedrock" or the emulator of it
// get Bedrock's price where it differs) and whether one is known. An id the
// table lacks is priced as the closest model of its family
// (models.Closest); an id of no Claude family has no price.
func (t *Table) Of(model, upstream string) (models.Price, bool) {
	m, ok := models.Closest(model)
	if !ok {
		return models.Price{}, false
	}
	if upstream != "anthropic" {
		if p, ok := t.bedrock[m.ID]; ok {
			return p, true
		}
	}
	p, ok := t.api[m.ID]
	return p, ok
}

// Cost returns what u cost on model at upstream, in US dollars; 0 for a
// model without a known price. Cache writes are priced by lifetime (those
// u.CacheCreation counts as 1-hour at the 1-hour rate, the rest at the
// 5-minute rate); a prompt over the model's long-prompt threshold is priced
// at the long-prompt rates throughout; batch calls get the discount.
func (t *Table) Cost(model, upstream string, u claudebridge.Usage, batch bool) float64 {
	p, ok := t.Of(model, upstream)
	if !ok {
		return 0
	}
	discount := p.BatchDiscount
	prompt := u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
	if p.LongPrompt != nil && prompt > p.LongPromptOver {
		p = *p.LongPrompt
	}
	long := min(u.CacheCreation.Ephemeral1hInputTokens, u.CacheCreationInputTokens)
	short := u.CacheCreationInputTokens - long
	c := (float64(u.InputTokens)*p.Input + float64(u.OutputTokens)*p.Output +
		float64(short)*p.CacheWrite5m + float64(long)*p.CacheWrite1h + float64(u.CacheReadInputTokens)*p.CacheRead) / 1e6
	if batch {
		if discount == 0 {
			discount = models.DefaultBatchDiscount
		}
		c *= 1 - discount
	}
	return c
}

// InputTokens counts a request body's input tokens locally, without a
// call: one token per 4 bytes of the JSON body, rounded up. The Claude
// tokenizers give about 4 bytes of English prose or code per token; the
// body's JSON syntax and base64 media make the count err high, text in
// scripts of more bytes per token (CJK) can make it err low.
func InputTokens(body []byte) int {
	return (len(body) + 3) / 4
}

// WorstCase is the most a request can cost on model at upstream: its input
// counted by InputTokens, each priced at the dearer of input and a 1-hour
// cache write (a request may write all its prompt to the cache), and
// maxTokens of output. A prompt that may pass the long-prompt threshold is
// priced at the long-prompt rates. 0 for a model without a known price.
func (t *Table) WorstCase(model, upstream string, body []byte, maxTokens int) float64 {
	p, ok := t.Of(model, upstream)
	if !ok {
		return 0
	}
	in := InputTokens(body)
	if p.LongPrompt != nil && in > p.LongPromptOver {
		p = *p.LongPrompt
	}
	return (float64(in)*math.Max(p.Input, math.Max(p.CacheWrite5m, p.CacheWrite1h)) + float64(maxTokens)*p.Output) / 1e6
}

// CapExceeded is the error of a request whose worst case is over a cap,
// naming both figures: the Anthropic API's "invalid_request_error" (400),
// since the request as written can never pass, whatever the time or the
// spending so far.
func CapExceeded(worst, limit float64) error {
	return claudebridge.Errorf(claudebridge.EINVALID,
		"This request could cost up to $%.4f (its input counted locally plus max_tokens of output), over the cost cap of $%.4f per request: lower max_tokens or shorten the prompt", worst, limit)
}

// BudgetExceeded is the error of a call refused because its caller's
// budget would be passed: 400 "invalid_request_error", as the Anthropic API
// answers an organisation whose credit balance is too low ("Your credit
// balance is too low to access the Anthropic API..."). Not 429: the SDKs
// and Claude Code retry a 429 by themselves, and a budget comes back only
// with its next period; not 403 "permission_error", which says the key
// may never do this.
func BudgetExceeded(who string, spent, limit float64, period string) error {
	return claudebridge.Errorf(claudebridge.EINVALID,
		"Your budget is too low to make this call: %s has spent $%.4f of $%.4f this %s (calls in flight counted at their worst case)", who, spent, limit, period)
}
