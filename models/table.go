package models

// The beta flags, body fields and tool fields that several models share.
// context1M is the beta of the 1M context window. Only models whose Accept
// names it get it: the others either lack the 1M window or have it natively
// and refuse the flag.
const context1M = "context-1m-2025-08-07"

var (
	betasClaude3  = []string{"computer-use-2024-10-22"}
	betasClaude37 = []string{"computer-use-2025-01-24", "token-efficient-tools-2025-02-19", "output-128k-2025-02-19"}
	// betasClaude4 are the betas Bedrock documents for the Claude 4 family
	// (Messages API on Bedrock, "anthropic_beta" request parameter).
	betasClaude4 = []string{
		"computer-use-2025-01-24", "token-efficient-tools-2025-02-19",
		"interleaved-thinking-2025-05-14", "output-128k-2025-02-19",
		"dev-full-thinking-2025-05-14", "context-management-2025-06-27",
		"fine-grained-tool-streaming-2025-05-14", "claude-code-20250219",
	}
	// Opus 4.7 and later refuse every flag but interleaved thinking with
	// "invalid beta flag" (anthropics/claude-code#49370, #49648).
	betasClaude47Accept = []string{"interleaved-thinking-2025-05-14"}
	betasClaude47Reject = []string{
		"claude-code-20250219", "effort-2025-11-24", "tool-search-tool-2025-10-19",
		"context-management-2025-06-27", "fine-grained-tool-streaming-2025-05-14",
		context1M,
	}

	fieldsClaude4 = []string{"context_management"}
	fieldsEffort  = []string{"context_management", "output_config"}
	toolFields45  = map[string]string{"defer_loading": "tool-search-tool-2025-10-19", "input_examples": "tool-examples-2025-10-29"}

	// Fields Bedrock's schema refused on the Claude 4.5/4.6 models in user
	// reports (anthropics/claude-agent-sdk-python#694: tools.0.custom.eager_input_streaming;
	// anthropics/claude-code#82549: tools.11.custom.defer_loading; BerriAI/litellm#19815:
	// input_examples outside Opus 4.5). The "custom" in those messages is the
	// tool variant's name, not a JSON key, so the paths here leave it out.
	dropClaude45 = []string{"tools.*.eager_input_streaming", "tools.*.defer_loading", "tools.*.input_examples"}
)

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// Prices of the Anthropic API (platform.claude.com/docs/en/about-claude/pricing
// and each model's overview page, read 2026-10). Bedrock charges the same
// for the global profile and the base id.
var (
	priceFable51     = Price{Input: 10, Output: 50, CacheWrite5m: 12.50, CacheWrite1h: 20, CacheRead: 0.25}
	priceFable5      = Price{Input: 10, Output: 50, CacheWrite5m: 12.50, CacheWrite1h: 20, CacheRead: 1}
	priceOpus45      = Price{Input: 5, Output: 25, CacheWrite5m: 6.25, CacheWrite1h: 10, CacheRead: 0.50}
	priceOpus4       = Price{Input: 15, Output: 75, CacheWrite5m: 18.75, CacheWrite1h: 30, CacheRead: 1.50}
	priceSonnet5     = Price{Input: 2, Output: 10, CacheWrite5m: 2.50, CacheWrite1h: 4, CacheRead: 0.20}
	priceSonnet4     = Price{Input: 3, Output: 15, CacheWrite5m: 3.75, CacheWrite1h: 6, CacheRead: 0.30}
	priceHaiku45     = Price{Input: 1, Output: 5, CacheWrite5m: 1.25, CacheWrite1h: 2, CacheRead: 0.10}
	priceHaiku35     = Price{Input: 0.80, Output: 4, CacheWrite5m: 1, CacheWrite1h: 1.6, CacheRead: 0.08}
	priceHaiku3      = Price{Input: 0.25, Output: 1.25, CacheWrite5m: 0.30, CacheWrite1h: 0.50, CacheRead: 0.03}
	priceHaiku55     = Price{Input: 0.10, Output: 0.50, CacheWrite5m: 0.125, CacheWrite1h: 0.20, CacheRead: 0.01, LongPromptOver: 100_000, LongPrompt: &priceHaiku55Long}
	priceHaiku55Long = Price{Input: 0.50, Output: 2.50, CacheWrite5m: 0.625, CacheWrite1h: 1, CacheRead: 0.05}
)

// All lists every model, newest release first. Release dates are the
// platform.claude.com model pages' "Released" (and the day the Anthropic Go
// SDK added the id); the dated ids of the 4.5 models carry their snapshot
// date, which precedes the release.
var All = []Model{
	{ID: "claude-haiku-5-5", Name: "Claude Haiku 5.5", Released: "2026-10-07", Family: "haiku",
		ContextWindow: 1_000_000, MaxOutput: 128_000, ExclusiveSampling: true, Price: priceHaiku55,
		Bedrock: Bedrock{ID: "anthropic.claude-haiku-5-5", Geos: "us eu global", Guess: true,
			Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-sonnet-5-5", Name: "Claude Sonnet 5.5", Released: "2026-09-28", Family: "sonnet",
		ContextWindow: 1_000_000, MaxOutput: 128_000, ExclusiveSampling: true,
		// Cache reads cut from $0.20 to $0.10 on 2026-10-07.
		Price: Price{Input: 2, Output: 10, CacheWrite5m: 2.50, CacheWrite1h: 4, CacheRead: 0.10},
		Bedrock: Bedrock{ID: "anthropic.claude-sonnet-5-5", Geos: "us eu jp au global",
			Accept: betasClaude47Accept, Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-opus-5-5", Name: "Claude Opus 5.5", Released: "2026-09-22", Family: "opus",
		ContextWindow: 1_000_000, MaxOutput: 128_000, ExclusiveSampling: true,
		Price: Price{Input: 4, Output: 20, CacheWrite5m: 5, CacheWrite1h: 8, CacheRead: 0.20},
		Bedrock: Bedrock{ID: "anthropic.claude-opus-5-5", Geos: "us eu jp au global",
			Accept: betasClaude47Accept, Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-fable-5-1", Name: "Claude Fable 5.1", Released: "2026-09-01", Family: "fable",
		ContextWindow: 1_000_000, MaxOutput: 128_000, ExclusiveSampling: true, Price: priceFable51,
		Bedrock: Bedrock{ID: "anthropic.claude-fable-5-1", Geos: "us global",
			Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-mythos-5-1", Name: "Claude Mythos 5.1", Released: "2026-09-01", Family: "mythos",
		ContextWindow: 1_000_000, MaxOutput: 128_000, ExclusiveSampling: true, Price: priceFable51,
		Bedrock: Bedrock{ID: "anthropic.claude-mythos-5-1", Geos: "us global", Guess: true,
			Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-opus-5", Name: "Claude Opus 5", Released: "2026-07-24", Family: "opus",
		ContextWindow: 1_000_000, MaxOutput: 128_000, ExclusiveSampling: true, Price: priceOpus45,
		Bedrock: Bedrock{ID: "anthropic.claude-opus-5", Geos: "us eu au global",
			Accept: betasClaude47Accept, Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-sonnet-5", Name: "Claude Sonnet 5", Released: "2026-06-30", Family: "sonnet",
		ContextWindow: 1_000_000, MaxOutput: 128_000, ExclusiveSampling: true, Price: priceSonnet5,
		Bedrock: Bedrock{ID: "anthropic.claude-sonnet-5", Geos: "us eu au global",
			Accept: betasClaude47Accept, Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-fable-5", Name: "Claude Fable 5", Released: "2026-06-09", Family: "fable",
		ContextWindow: 1_000_000, MaxOutput: 128_000, ExclusiveSampling: true, Price: priceFable5,
		Bedrock: Bedrock{ID: "anthropic.claude-fable-5", Geos: "us global",
			Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-mythos-5", Name: "Claude Mythos 5", Released: "2026-06-09", Family: "mythos",
		ContextWindow: 1_000_000, MaxOutput: 128_000, ExclusiveSampling: true, Price: priceFable5,
		Bedrock: Bedrock{ID: "anthropic.claude-mythos-5", Geos: "us global", Guess: true,
			Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-opus-4-8", Name: "Claude Opus 4.8", Released: "2026-05-28", Family: "opus",
		ContextWindow: 1_000_000, MaxOutput: 128_000, ExclusiveSampling: true, Price: priceOpus45,
		Bedrock: Bedrock{ID: "anthropic.claude-opus-4-8", Geos: "us eu jp au global",
			Accept: betasClaude47Accept, Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-opus-4-7", Name: "Claude Opus 4.7", Released: "2026-04-16", Family: "opus",
		ContextWindow: 1_000_000, MaxOutput: 128_000, ExclusiveSampling: true, Price: priceOpus45,
		Bedrock: Bedrock{ID: "anthropic.claude-opus-4-7", Geos: "us eu jp au global",
			Accept: betasClaude47Accept, Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-mythos-preview", Name: "Claude Mythos Preview", Released: "2026-04-07", Family: "mythos",
		MaxOutput: 128_000, ExclusiveSampling: true,
		// Input and output as published for Project Glasswing; the cache
		// prices follow the 1.25×, 2× and 0.1× pattern.
		Price: Price{Input: 25, Output: 125, CacheWrite5m: 31.25, CacheWrite1h: 50, CacheRead: 2.50, Guess: true},
		Bedrock: Bedrock{ID: "anthropic.claude-mythos-preview", Geos: "us global", Guess: true,
			Reject: betasClaude47Reject, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-sonnet-4-6", Name: "Claude Sonnet 4.6", Released: "2026-02-17", Family: "sonnet",
		ContextWindow: 200_000, MaxOutput: 64_000, ExclusiveSampling: true, Price: priceSonnet4,
		Bedrock: Bedrock{ID: "anthropic.claude-sonnet-4-6", Geos: "us eu jp au global",
			Accept: join([]string{context1M, "tool-search-tool-2025-10-19", "effort-2025-11-24", "computer-use-2025-11-24", "tool-examples-2025-10-29"}, betasClaude4),
			Drop:   dropClaude45, Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-opus-4-6", Name: "Claude Opus 4.6", Released: "2026-02-05", Family: "opus",
		ContextWindow: 200_000, MaxOutput: 128_000, ExclusiveSampling: true, Price: priceOpus45,
		Bedrock: Bedrock{ID: "anthropic.claude-opus-4-6-v1", Geos: "us eu jp au apac global",
			Accept: join([]string{context1M, "effort-2025-11-24", "tool-search-tool-2025-10-19", "computer-use-2025-11-24", "tool-examples-2025-10-29"}, betasClaude4),
			Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-opus-4-5-20251101", Alias: "claude-opus-4-5", Name: "Claude Opus 4.5", Released: "2025-11-24", Family: "opus",
		ContextWindow: 200_000, MaxOutput: 64_000, ExclusiveSampling: true, Price: priceOpus45,
		Bedrock: Bedrock{ID: "anthropic.claude-opus-4-5-20251101-v1:0", Geos: "us eu global",
			Accept: join([]string{"effort-2025-11-24", "tool-search-tool-2025-10-19", "tool-examples-2025-10-29", "computer-use-2025-11-24"}, betasClaude4),
			Reject: []string{context1M},
			Drop:   []string{"tools.*.eager_input_streaming", "tools.*.defer_loading"},
			Fields: fieldsEffort, ToolFields: toolFields45}},
	{ID: "claude-haiku-4-5-20251001", Alias: "claude-haiku-4-5", Name: "Claude Haiku 4.5", Released: "2025-10-15", Family: "haiku",
		ContextWindow: 200_000, MaxOutput: 64_000, ExclusiveSampling: true, Price: priceHaiku45,
		Bedrock: Bedrock{ID: "anthropic.claude-haiku-4-5-20251001-v1:0", Geos: "us eu jp au global",
			Accept: join([]string{"tool-search-tool-2025-10-19", "tool-examples-2025-10-29"}, betasClaude4),
			Reject: []string{context1M},
			Drop:   dropClaude45, Fields: fieldsClaude4, ToolFields: toolFields45}},
	{ID: "claude-sonnet-4-5-20250929", Alias: "claude-sonnet-4-5", Name: "Claude Sonnet 4.5", Released: "2025-09-29", Family: "sonnet",
		ContextWindow: 200_000, MaxOutput: 64_000, ExclusiveSampling: true, Price: priceSonnet4,
		Bedrock: Bedrock{ID: "anthropic.claude-sonnet-4-5-20250929-v1:0", Geos: "us eu jp au global",
			Accept: join([]string{context1M, "tool-search-tool-2025-10-19", "tool-examples-2025-10-29"}, betasClaude4),
			Drop:   dropClaude45, Fields: fieldsClaude4, ToolFields: toolFields45}},

	// Models retired from the Anthropic API (or about to be) that Bedrock
	// still serves. Opus 4.1 is the first model to refuse temperature with
	// top_p (Bedrock and the Anthropic API, August 2025).
	{ID: "claude-opus-4-1-20250805", Alias: "claude-opus-4-1", Name: "Claude Opus 4.1", Released: "2025-08-05", Family: "opus", BedrockOnly: true,
		ContextWindow: 200_000, MaxOutput: 32_000, ExclusiveSampling: true, Price: priceOpus4,
		Bedrock: Bedrock{ID: "anthropic.claude-opus-4-1-20250805-v1:0", Geos: "us", Accept: betasClaude4, Fields: fieldsClaude4}},
	{ID: "claude-opus-4-20250514", Alias: "claude-opus-4-0", Name: "Claude Opus 4", Released: "2025-05-22", Family: "opus", BedrockOnly: true,
		ContextWindow: 200_000, MaxOutput: 32_000, Price: priceOpus4,
		Bedrock: Bedrock{ID: "anthropic.claude-opus-4-20250514-v1:0", Geos: "us", Accept: betasClaude4, Fields: fieldsClaude4}},
	{ID: "claude-sonnet-4-20250514", Alias: "claude-sonnet-4-0", Name: "Claude Sonnet 4", Released: "2025-05-22", Family: "sonnet", BedrockOnly: true,
		ContextWindow: 200_000, MaxOutput: 64_000, Price: priceSonnet4,
		Bedrock: Bedrock{ID: "anthropic.claude-sonnet-4-20250514-v1:0", Geos: "us eu apac global",
			Accept: join([]string{context1M}, betasClaude4), Fields: fieldsClaude4}},
	{ID: "claude-3-7-sonnet-20250219", Alias: "claude-3-7-sonnet-latest", Name: "Claude Sonnet 3.7", Released: "2025-02-24", Family: "sonnet", BedrockOnly: true,
		ContextWindow: 200_000, MaxOutput: 64_000, Price: priceSonnet4,
		Bedrock: Bedrock{ID: "anthropic.claude-3-7-sonnet-20250219-v1:0", Name: "Claude 3.7 Sonnet", Geos: "us eu apac", Accept: betasClaude37}},
	{ID: "claude-3-5-haiku-20241022", Alias: "claude-3-5-haiku-latest", Name: "Claude Haiku 3.5", Released: "2024-10-22", Family: "haiku", BedrockOnly: true,
		ContextWindow: 200_000, MaxOutput: 8192, Price: priceHaiku35,
		Bedrock: Bedrock{ID: "anthropic.claude-3-5-haiku-20241022-v1:0", Name: "Claude 3.5 Haiku", Geos: "us", CannotCount: true, Accept: betasClaude3}},
	{ID: "claude-3-5-sonnet-20241022", Alias: "claude-3-5-sonnet-latest", Name: "Claude Sonnet 3.5 (New)", Released: "2024-10-22", Family: "sonnet", BedrockOnly: true,
		ContextWindow: 200_000, MaxOutput: 8192, Price: priceSonnet4,
		Bedrock: Bedrock{ID: "anthropic.claude-3-5-sonnet-20241022-v2:0", Name: "Claude 3.5 Sonnet v2", Geos: "us apac", Accept: betasClaude3}},
	{ID: "claude-3-haiku-20240307", Name: "Claude Haiku 3", Released: "2024-03-07", Family: "haiku", BedrockOnly: true,
		ContextWindow: 200_000, MaxOutput: 4096, Price: priceHaiku3,
		Bedrock: Bedrock{ID: "anthropic.claude-3-haiku-20240307-v1:0", Name: "Claude 3 Haiku", Geos: "us eu apac", OnDemand: true, CannotCount: true, Accept: betasClaude3}},
}
