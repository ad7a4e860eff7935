package emulator

import (
	"strings"
	"time"
)

// CatalogModel is one model the emulators serve.
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

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Catalog lists the models the emulators know, newest first: the model ids of
// the Anthropic Go SDK's Model constants. Dates of models released after
// Claude Sonnet 4.6 are the emulator's own, chosen only to keep the order.
var Catalog = []CatalogModel{
	{ID: "claude-mythos-5-1", DisplayName: "Claude Mythos 5.1", CreatedAt: day("2026-11-10"), MaxOutputTokens: 128000},
	{ID: "claude-fable-5-1", DisplayName: "Claude Fable 5.1", CreatedAt: day("2026-11-03"), MaxOutputTokens: 128000},
	{ID: "claude-opus-5-5", DisplayName: "Claude Opus 5.5", CreatedAt: day("2026-10-20"), MaxOutputTokens: 128000},
	{ID: "claude-sonnet-5-5", DisplayName: "Claude Sonnet 5.5", CreatedAt: day("2026-10-13"), MaxOutputTokens: 128000},
	{ID: "claude-haiku-5-5", DisplayName: "Claude Haiku 5.5", CreatedAt: day("2026-10-06"), MaxOutputTokens: 64000},
	{ID: "claude-mythos-5", DisplayName: "Claude Mythos 5", CreatedAt: day("2026-08-18"), MaxOutputTokens: 128000},
	{ID: "claude-fable-5", DisplayName: "Claude Fable 5", CreatedAt: day("2026-08-11"), MaxOutputTokens: 128000},
	{ID: "claude-opus-5", DisplayName: "Claude Opus 5", CreatedAt: day("2026-07-28"), MaxOutputTokens: 128000},
	{ID: "claude-sonnet-5", DisplayName: "Claude Sonnet 5", CreatedAt: day("2026-07-21"), MaxOutputTokens: 128000},
	{ID: "claude-opus-4-8", DisplayName: "Claude Opus 4.8", CreatedAt: day("2026-06-02"), MaxOutputTokens: 128000},
	{ID: "claude-opus-4-7", DisplayName: "Claude Opus 4.7", CreatedAt: day("2026-04-14"), MaxOutputTokens: 128000},
	{ID: "claude-mythos-preview", DisplayName: "Claude Mythos Preview", CreatedAt: day("2026-03-24"), MaxOutputTokens: 128000},
	{ID: "claude-sonnet-4-6", DisplayName: "Claude Sonnet 4.6", CreatedAt: day("2026-02-17"), MaxOutputTokens: 64000},
	{ID: "claude-opus-4-6", DisplayName: "Claude Opus 4.6", CreatedAt: day("2026-02-05"), MaxOutputTokens: 128000},
	{ID: "claude-opus-4-5-20251101", Aliases: []string{"claude-opus-4-5"}, DisplayName: "Claude Opus 4.5", CreatedAt: day("2025-11-24"), MaxOutputTokens: 64000},
	{ID: "claude-haiku-4-5-20251001", Aliases: []string{"claude-haiku-4-5"}, DisplayName: "Claude Haiku 4.5", CreatedAt: day("2025-10-15"), MaxOutputTokens: 64000},
	{ID: "claude-sonnet-4-5-20250929", Aliases: []string{"claude-sonnet-4-5"}, DisplayName: "Claude Sonnet 4.5", CreatedAt: day("2025-09-29"), MaxOutputTokens: 64000},
}

// LookupModel finds a model of the Catalog by Anthropic id or alias. It also
// accepts Bedrock model ids and inference profile ids
// ("anthropic.claude-sonnet-4-5-20250929-v1:0",
// "us.anthropic.claude-sonnet-4-5-20250929-v1:0") by their Anthropic part.
func LookupModel(id string) (CatalogModel, bool) {
	name := id
	if i := strings.Index(name, "anthropic."); i >= 0 {
		name = name[i+len("anthropic."):]
		if j := strings.LastIndex(name, "-v"); j > 0 && strings.Contains(name[j:], ":") {
			name = name[:j]
		}
	}
	for _, m := range Catalog {
		if m.ID == name {
			return m, true
		}
		for _, a := range m.Aliases {
			if a == name {
				return m, true
			}
		}
	}
	return CatalogModel{}, false
}
