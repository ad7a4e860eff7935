package converse

import claudebridge "github.com/claudebridge/claudebridge"

// tokenUsage is Converse's TokenUsage. CacheDetails splits
// cacheWriteInputTokens by cache lifetime, 1h before 5m, as Bedrock sorts
// them; it is absent when nothing was written.
type tokenUsage struct {
	InputTokens           int           `json:"inputTokens"`
	OutputTokens          int           `json:"outputTokens"`
	TotalTokens           int           `json:"totalTokens"`
	CacheReadInputTokens  int           `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int           `json:"cacheWriteInputTokens"`
	CacheDetails          []cacheDetail `json:"cacheDetails,omitempty"`
}

// cacheDetail is Converse's CacheDetail: TTL is "5m" or "1h".
type cacheDetail struct {
	TTL         string `json:"ttl"`
	InputTokens int    `json:"inputTokens"`
}

// messagesUsage is a Messages usage object, fields in the order the
// Anthropic API sends them. CacheCreation splits the cache writes by
// lifetime; it is nil when the split is unknown.
type messagesUsage struct {
	InputTokens              int            `json:"input_tokens"`
	CacheCreationInputTokens int            `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int            `json:"cache_read_input_tokens"`
	CacheCreation            *cacheCreation `json:"cache_creation,omitempty"`
	OutputTokens             int            `json:"output_tokens"`
}

// cacheCreation is the Messages usage.cache_creation object.
type cacheCreation struct {
	Ephemeral5m int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1h int `json:"ephemeral_1h_input_tokens"`
}

// messagesUsageOf is u as a Messages usage object, its cache writes split
// by lifetime when u gives a split.
func messagesUsageOf(u claudebridge.Usage) messagesUsage {
	out := messagesUsage{
		InputTokens:              u.InputTokens,
		CacheCreationInputTokens: u.CacheCreationInputTokens,
		CacheReadInputTokens:     u.CacheReadInputTokens,
		OutputTokens:             u.OutputTokens,
	}
	if c := u.CacheCreation; c != (claudebridge.CacheCreation{}) {
		out.CacheCreation = &cacheCreation{Ephemeral5m: c.Ephemeral5mInputTokens, Ephemeral1h: c.Ephemeral1hInputTokens}
	}
	return out
}

// usageFromMessages makes a Converse TokenUsage. cacheDetails is written
// only from a cache_creation split; the writes the split does not account
// for are reported as 5-minute writes, the default lifetime.
func usageFromMessages(u messagesUsage) tokenUsage {
	out := tokenUsage{
		InputTokens:           u.InputTokens,
		OutputTokens:          u.OutputTokens,
		TotalTokens:           u.InputTokens + u.OutputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens,
		CacheReadInputTokens:  u.CacheReadInputTokens,
		CacheWriteInputTokens: u.CacheCreationInputTokens,
	}
	if c := u.CacheCreation; c != nil && u.CacheCreationInputTokens > 0 {
		short := max(c.Ephemeral5m, u.CacheCreationInputTokens-c.Ephemeral1h)
		if c.Ephemeral1h > 0 {
			out.CacheDetails = append(out.CacheDetails, cacheDetail{TTL: "1h", InputTokens: c.Ephemeral1h})
		}
		if short > 0 {
			out.CacheDetails = append(out.CacheDetails, cacheDetail{TTL: "5m", InputTokens: short})
		}
	}
	return out
}

// usageToMessages makes a Messages usage; cache_creation is set when
// Bedrock split the cache writes by lifetime.
func usageToMessages(u tokenUsage) messagesUsage {
	out := messagesUsage{
		InputTokens:              u.InputTokens,
		OutputTokens:             u.OutputTokens,
		CacheCreationInputTokens: u.CacheWriteInputTokens,
		CacheReadInputTokens:     u.CacheReadInputTokens,
	}
	if len(u.CacheDetails) > 0 {
		out.CacheCreation = &cacheCreation{}
		for _, d := range u.CacheDetails {
			switch d.TTL {
			case "1h":
				out.CacheCreation.Ephemeral1h += d.InputTokens
			default:
				out.CacheCreation.Ephemeral5m += d.InputTokens
			}
		}
	}
	return out
}
