package models

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var families = []string{"opus", "sonnet", "haiku", "fable", "mythos"}

func TestIDsAreUniqueAcrossAnthropicAndBedrock(t *testing.T) {
	seen := map[string]string{}
	for _, m := range All {
		for _, id := range []string{m.ID, m.Alias, m.Bedrock.ID} {
			if id == "" {
				continue
			}
			if other, ok := seen[id]; ok {
				t.Errorf("%s names both %s and %s", id, other, m.ID)
			}
			seen[id] = m.ID
		}
	}
}

func TestEveryIDResolvesToItsModel(t *testing.T) {
	for _, m := range All {
		ids := []string{m.ID, m.Bedrock.ID, "global." + m.Bedrock.ID,
			"arn:aws:bedrock:us-east-1::foundation-model/" + m.Bedrock.ID}
		if m.Alias != "" {
			ids = append(ids, m.Alias)
		}
		for _, id := range ids {
			got, ok := Lookup(id)
			if !ok {
				t.Errorf("Lookup(%s) found nothing", id)
				continue
			}
			if got.ID != m.ID {
				t.Errorf("Lookup(%s) = %s, want %s", id, got.ID, m.ID)
			}
		}
	}
}

var datedID = regexp.MustCompile(`^claude-[a-z0-9-]+-(\d{8})$`)

func TestDatedIDsPrecedeTheirReleaseByLessThanTwoMonths(t *testing.T) {
	for _, m := range All {
		released, err := time.Parse(time.DateOnly, m.Released)
		if err != nil {
			t.Errorf("%s: release date %q: %v", m.ID, m.Released, err)
			continue
		}
		d := datedID.FindStringSubmatch(m.ID)
		if d == nil {
			if m.Alias != "" {
				t.Errorf("%s: an undated id with the alias %s", m.ID, m.Alias)
			}
			continue
		}
		snapshot, err := time.Parse("20060102", d[1])
		if err != nil {
			t.Errorf("%s: date %s: %v", m.ID, d[1], err)
			continue
		}
		if released.Before(snapshot) || released.Sub(snapshot) > 60*24*time.Hour {
			t.Errorf("%s: released %s, snapshot %s", m.ID, m.Released, d[1])
		}
		if m.Alias != "" && !strings.HasPrefix(m.ID, strings.TrimSuffix(strings.TrimSuffix(m.Alias, "-latest"), "-0")) {
			t.Errorf("%s: alias %s names another model", m.ID, m.Alias)
		}
	}
}

func TestTableIsNewestFirst(t *testing.T) {
	for i := 1; i < len(All); i++ {
		if All[i].Released > All[i-1].Released {
			t.Errorf("%s (%s) after %s (%s)", All[i].ID, All[i].Released, All[i-1].ID, All[i-1].Released)
		}
	}
}

func TestEveryModelHasAFamilyANameAndAPrice(t *testing.T) {
	for _, m := range All {
		if !slices.Contains(families, m.Family) || !strings.Contains(m.ID, "-"+m.Family) {
			t.Errorf("%s: family %q", m.ID, m.Family)
		}
		if !strings.HasPrefix(m.Name, "Claude ") {
			t.Errorf("%s: name %q", m.ID, m.Name)
		}
		checkPrice(t, m.ID, m.Price)
		if p := m.Price.LongPrompt; p != nil {
			checkPrice(t, m.ID+" long prompt", *p)
			if m.Price.LongPromptOver <= 0 || p.Input <= m.Price.Input {
				t.Errorf("%s: long prompt price %+v over %d", m.ID, *p, m.Price.LongPromptOver)
			}
		}
	}
}

func checkPrice(t *testing.T, id string, p Price) {
	t.Helper()
	if p.Input <= 0 || p.Output < p.Input || p.CacheWrite5m < p.Input || p.CacheWrite1h < p.CacheWrite5m ||
		p.CacheRead <= 0 || p.CacheRead >= p.Input {
		t.Errorf("%s: price %+v", id, p)
	}
}

// Bedrock's Claude ids: "anthropic.claude-<id>-v<n>:<m>" for the dated
// models, "anthropic.claude-<id>[-v1]" since Opus 4.6.
var bedrockID = regexp.MustCompile(`^anthropic\.(claude-[a-z0-9-]+?)(-v\d+(:\d+)?)?$`)

func TestBedrockIDsFollowThePattern(t *testing.T) {
	for _, m := range All {
		b := bedrockID.FindStringSubmatch(m.Bedrock.ID)
		if b == nil {
			t.Errorf("%s: Bedrock id %q", m.ID, m.Bedrock.ID)
			continue
		}
		if b[1] != m.ID {
			t.Errorf("%s: Bedrock id %s names %s", m.ID, m.Bedrock.ID, b[1])
		}
		if m.Bedrock.Guess && b[2] != "" {
			t.Errorf("%s: a guessed Bedrock id with a version suffix", m.ID)
		}
		if strings.TrimSpace(m.Bedrock.Geos) == "" && !m.Bedrock.OnDemand {
			t.Errorf("%s: neither a profile nor on-demand: nothing can call it", m.ID)
		}
		for _, g := range strings.Fields(m.Bedrock.Geos) {
			if !slices.Contains([]string{"us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"}, g) {
				t.Errorf("%s: geography %q", m.ID, g)
			}
		}
	}
}

func TestNoBetaIsBothAcceptedAndRejected(t *testing.T) {
	for _, m := range All {
		for _, b := range m.Bedrock.Accept {
			if slices.Contains(m.Bedrock.Reject, b) {
				t.Errorf("%s: %s accepted and rejected", m.ID, b)
			}
		}
	}
}

func TestSamplingRuleHoldsFromOpus41On(t *testing.T) {
	for _, m := range All {
		want := m.Released >= "2025-08-05"
		if m.ExclusiveSampling != want {
			t.Errorf("%s: ExclusiveSampling %v, want %v", m.ID, m.ExclusiveSampling, want)
		}
	}
}

func TestClosestFollowsTheFamilyForUnknownIDs(t *testing.T) {
	for id, want := range map[string]string{
		"claude-sonnet-4-5":                  "claude-sonnet-4-5-20250929",
		"us.anthropic.claude-opus-4-6-v1":    "claude-opus-4-6",
		"claude-opus-9":                      "claude-opus-5-5",
		"claude-haiku-4-7":                   "claude-haiku-4-5-20251001",
		"claude-3-opus-20240229":             "claude-opus-4-20250514",
		"anthropic.claude-sonnet-6-v1:0":     "claude-sonnet-5-5",
		"claude-sonnet-4-5-20250929[1m]":     "claude-sonnet-4-5-20250929",
		"eu.anthropic.claude-fable-5-2-v1:0": "claude-fable-5-1",
		"claude-3-5-sonnet-20240620":         "claude-3-5-sonnet-20241022",
	} {
		m, ok := Closest(id)
		if !ok || m.ID != want {
			t.Errorf("Closest(%s) = %s %v, want %s", id, m.ID, ok, want)
		}
	}
	for _, id := range []string{"amazon.nova-pro-v1:0", "gpt-5", ""} {
		if m, ok := Closest(id); ok {
			t.Errorf("Closest(%s) = %s", id, m.ID)
		}
	}
}

func TestVersion(t *testing.T) {
	for id, want := range map[string]int{
		"claude-sonnet-4-5-20250929": 45, "claude-opus-5": 50, "claude-3-7-sonnet-latest": 37,
		"claude-sonnet-4-0": 40, "claude-3-haiku-20240307": 30, "gpt-5": 0,
	} {
		if got := Version(id); got != want {
			t.Errorf("Version(%s) = %d, want %d", id, got, want)
		}
	}
}
