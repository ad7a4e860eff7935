package cost

import (
	"math"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestCostPricesCacheWritesByLifetime(t *testing.T) {
	u := claudebridge.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000, CacheCreationInputTokens: 3_000_000,
		CacheReadInputTokens: 1_000_000, CacheCreation: claudebridge.CacheCreation{Ephemeral5mInputTokens: 2_000_000, Ephemeral1hInputTokens: 1_000_000}}
	got, want := Builtin().Cost("claude-sonnet-4-5", "anthropic", u, false), 3+15+2*3.75+6+0.30
	if !near(got, want) {
		t.Errorf("cost = %v, want %v", got, want)
	}
}

func TestBatchCallsCostHalf(t *testing.T) {
	u := claudebridge.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000}
	got, want := Builtin().Cost("claude-sonnet-4-5", "bedrock", u, true), (3.0+15)/2
	if !near(got, want) {
		t.Errorf("batch cost = %v, want %v", got, want)
	}
}

func TestAPricesFileReplacesAModelsPriceAndNamesItsVersion(t *testing.T) {
	tab, err := Parse([]byte(`{"version":"v7","models":{"claude-sonnet-4-5":{"input":1,"output":2,
		"bedrock":{"input":10,"output":20}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	u := claudebridge.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000}
	if got, want := tab.Version, "v7"; got != want {
		t.Errorf("version = %q, want %q", got, want)
	}
	if got, want := tab.Cost("claude-sonnet-4-5-20250929", "anthropic", u, false), 3.0; !near(got, want) {
		t.Errorf("anthropic cost = %v, want %v", got, want)
	}
	if got, want := tab.Cost("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock", u, false), 30.0; !near(got, want) {
		t.Errorf("bedrock cost = %v, want %v", got, want)
	}
	if got, want := tab.Cost("claude-haiku-4-5", "anthropic", u, false), 6.0; !near(got, want) {
		t.Errorf("a model the file does not name = %v, want its built-in %v", got, want)
	}
}

func TestAPricesFileWithoutVersionIsNamedByItsHash(t *testing.T) {
	tab, err := Parse([]byte(`{"models":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := tab.Version; !strings.HasPrefix(got, "file:") || len(got) != len("file:")+12 {
		t.Errorf("version = %q, want file: and 12 hex digits", got)
	}
	if got := Builtin().Version; !strings.HasPrefix(got, "builtin:") {
		t.Errorf("builtin version = %q, want builtin:...", got)
	}
}

func TestAPricesFileNamingAnUnknownModelIsRefused(t *testing.T) {
	_, err := Parse([]byte(`{"models":{"gpt-9":{"input":1}}}`))
	if err == nil || !strings.Contains(err.Error(), "gpt-9") {
		t.Errorf("err = %v, want one naming gpt-9", err)
	}
}

func TestWorstCaseIsInputAtTheDearestPromptRatePlusMaxTokensOfOutput(t *testing.T) {
	body := make([]byte, 4_000_000) // 1M tokens counted locally
	got, want := Builtin().WorstCase("claude-sonnet-4-5", "anthropic", body, 1_000_000), 6.0+15
	if !near(got, want) {
		t.Errorf("worst case = %v, want %v", got, want)
	}
}

func TestCapExceededNamesBothFigures(t *testing.T) {
	msg := claudebridge.ErrorMessage(CapExceeded(0.5, 0.25))
	for _, want := range []string{"$0.5000", "$0.2500"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %s", msg, want)
		}
	}
}
