package chat

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

type usageJSON struct {
	Day   string `json:"day"`
	Model string `json:"model"`
	claudebridge.Usage
	// CountedOutputTokens is the part of output_tokens counted from the
	// text of cut answers, not reported by the model.
	CountedOutputTokens int     `json:"counted_output_tokens"`
	CostUSD             float64 `json:"cost_usd"`
}

// usage answers the user's usage per day and model, from and to
// YYYY-MM-DD (both optional, inclusive).
func (s *Server) usage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	for name, v := range map[string]string{"from": from, "to": to} {
		if _, err := time.Parse(time.DateOnly, v); v != "" && err != nil {
			s.writeError(w, claudebridge.Errorf(claudebridge.EINVALID, "%s: want YYYY-MM-DD", name))
			return
		}
	}
	rows, err := s.opts.Usage.Usage(r.Context(), userOf(r).user.ID, from, to)
	if err != nil {
		s.writeError(w, err)
		return
	}
	data := make([]usageJSON, 0, len(rows))
	total := 0.0
	for _, row := range rows {
		data = append(data, usageJSON{row.Day, row.Model, row.Usage, row.CountedOutputTokens, row.CostUSD})
		total += row.CostUSD
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "total_cost_usd": total})
}

// RecordInterrupted counts the output tokens of answers a crash cut (their
// text was saved as it streamed; the model's count never came), stores
// them marked counted, and adds what the count adds to their users' usage
// and cost, on the day of their last save. Called with what a sweep
// (claudebridge.TurnLeaseService.InterruptLapsed) returned.
func RecordInterrupted(ctx context.Context, conversations claudebridge.ConversationService, usage claudebridge.UsageService, list []claudebridge.InterruptedMessage) error {
	var errs []error
	for _, im := range list {
		m := im.Message
		added := countTokens(m.Content) - m.Usage.OutputTokens
		if m.Role != "assistant" || added <= 0 {
			continue
		}
		day := m.UpdatedAt.UTC().Format(time.DateOnly)
		m.Usage.OutputTokens += added
		m.OutputTokensCounted = true
		if err := conversations.UpdateMessage(ctx, &m); err != nil {
			errs = append(errs, err)
			continue
		}
		u := claudebridge.Usage{OutputTokens: added}
		if err := usage.AddUsage(ctx, im.UserID, day, m.Model, u, anthropic.Cost(m.Model, u), true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
