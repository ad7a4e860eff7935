package metrics

import (
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// Tally follows a Messages stream's events for what its Call records: the
// time to the first content delta and the usage. Only message_start and
// message_delta, one each per stream, are read; the others cost a
// comparison of their type.
type Tally struct {
	// Start is when the call arrived.
	Start      time.Time
	FirstToken time.Duration
	Usage      claudebridge.Usage
}

// Event notes one event of the stream.
func (t *Tally) Event(typ string, data []byte) {
	switch typ {
	case "content_block_delta":
		if t.FirstToken == 0 {
			t.FirstToken = time.Since(t.Start)
		}
	case "message_start", "message_delta":
		anthropic.AddEventUsage(&t.Usage, typ, data)
	}
}
