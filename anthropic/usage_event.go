package anthropic

import (
	"github.com/tidwall/gjson"

	"github.com/claudebridge/claudebridge"
)

// AddEventUsage takes the usage a stream event carries into u: message_start
// gives the whole usage so far (input and cache tokens), message_delta the
// counts that changed, which are cumulative: a count it leaves out stands.
// Other events leave u as it is.
func AddEventUsage(u *claudebridge.Usage, typ string, data []byte) {
	switch typ {
	case "message_start":
		*u = usageIn(gjson.GetBytes(data, "message.usage"))
	case "message_delta":
		d := gjson.GetBytes(data, "usage")
		if !d.IsObject() {
			return
		}
		for _, f := range [...]struct {
			dst  *int
			path string
		}{
			{&u.InputTokens, "input_tokens"}, {&u.OutputTokens, "output_tokens"},
			{&u.CacheCreationInputTokens, "cache_creation_input_tokens"}, {&u.CacheReadInputTokens, "cache_read_input_tokens"},
			{&u.CacheCreation.Ephemeral5mInputTokens, "cache_creation.ephemeral_5m_input_tokens"},
			{&u.CacheCreation.Ephemeral1hInputTokens, "cache_creation.ephemeral_1h_input_tokens"},
		} {
			if v := d.Get(f.path); v.Type == gjson.Number {
				*f.dst = int(v.Int())
			}
		}
	}
}
