package anthropic

import (
	"math"
	"testing"

	"github.com/claudebridge/claudebridge"
)

func TestCost(t *testing.T) {
	u := claudebridge.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000, CacheCreationInputTokens: 1_000_000, CacheReadInputTokens: 1_000_000}
	for _, c := range []struct {
		model string
		want  float64
	}{
		{"claude-sonnet-4-5-20250929", 3 + 15 + 3.75 + 0.30},
		{"us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3 + 15 + 3.75 + 0.30},
		{"claude-opus-4-1-20250805", 15 + 75 + 18.75 + 1.50},
		{"claude-opus-4-6", 5 + 25 + 6.25 + 0.50},
		{"claude-haiku-4-5", 1 + 5 + 1.25 + 0.10},
		{"claude-3-5-haiku-20241022", 0.80 + 4 + 1 + 0.08},
		{"claude-3-haiku-20240307", 0.25 + 1.25 + 0.30 + 0.03},
		{"claude-fable-5", 10 + 50 + 12.50 + 1},
		{"global.anthropic.claude-opus-5-5", 4 + 20 + 5 + 0.20},
		{"claude-opus-9", 4 + 20 + 5 + 0.20},
		{"amazon.nova-pro-v1:0", 0},
	} {
		if got := Cost(c.model, u); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Cost(%s) = %v, want %v", c.model, got, c.want)
		}
	}
}

func TestCostOfALongPromptIsAtTheLongPromptRates(t *testing.T) {
	short := claudebridge.Usage{InputTokens: 60_000, CacheReadInputTokens: 40_000, OutputTokens: 1_000_000}
	long := short
	long.InputTokens++
	if got, want := Cost("claude-haiku-5-5", short), (60_000*0.10+40_000*0.01+1_000_000*0.50)/1e6; math.Abs(got-want) > 1e-9 {
		t.Errorf("100,000-token prompt: %v, want %v", got, want)
	}
	if got, want := Cost("claude-haiku-5-5", long), (60_001*0.50+40_000*0.05+1_000_000*2.50)/1e6; math.Abs(got-want) > 1e-9 {
		t.Errorf("100,001-token prompt: %v, want %v", got, want)
	}
}

func TestOneHourCacheWritesArePricedAtTheirRate(t *testing.T) {
	u := claudebridge.Usage{CacheCreationInputTokens: 1_000_000,
		CacheCreation: claudebridge.CacheCreation{Ephemeral5mInputTokens: 400_000, Ephemeral1hInputTokens: 600_000}}
	// Sonnet 4.5: $3 base input, 5-minute writes 1.25×, 1-hour writes 2×.
	if got, want := Cost("claude-sonnet-4-5-20250929", u), 0.4*3.75+0.6*6; math.Abs(got-want) > 1e-9 {
		t.Errorf("Cost = %v, want %v", got, want)
	}
}
