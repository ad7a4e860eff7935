package anthropic

import (
	"github.com/tidwall/gjson"

	"github.com/claudebridge/claudebridge"
)

// AddEventUsage takes the usage a stream event carries into u: message_start
// gives the whole usage so far (input and cache tokens), message_delta the
// counts that changed, which are cumulative: a count it leaves out stands.
// Other events leave u as it is. The usage is read in one pass. It reports
// whether the event carried a usage object; cache writes are kept by
// lifetime (usage.cache_creation), as Cost prices them.
func AddEventUsage(u *claudebridge.Usage, typ string, data []byte) bool {
	var usage gjson.Result
	switch typ {
	case "message_start":
		*u = claudebridge.Usage{}
		usage = gjson.GetBytes(data, "message.usage")
	case "message_delta":
		usage = gjson.GetBytes(data, "usage")
	default:
		return false
	}
	if !usage.IsObject() {
		return false
	}
	usage.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "input_tokens":
			setCount(&u.InputTokens, v)
		case "output_tokens":
			setCount(&u.OutputTokens, v)
		case "cache_creation_input_tokens":
			setCount(&u.CacheCreationInputTokens, v)
		case "cache_read_input_tokens":
			setCount(&u.CacheReadInputTokens, v)
		case "cache_creation":
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "ephemeral_5m_input_tokens":
					setCount(&u.CacheCreation.Ephemeral5mInputTokens, v)
				case "ephemeral_1h_input_tokens":
					setCount(&u.CacheCreation.Ephemeral1hInputTokens, v)
				}
				return true
			})
		}
		return true
	})
	return true
}

// setCount sets *dst to v when v is a number (not null, not absent).
func setCount(dst *int, v gjson.Result) {
	if v.Type == gjson.Number {
		*dst = int(v.Int())
	}
}
