package limits

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/claudebridge/claudebridge"
)

// Estimate is the tokens a call is counted at before it runs: its body's
// bytes / 4 for the input (a JSON body holds about four bytes per token
// of English text, more per token of code and markup, so this errs high)
// plus max_tokens for the output. The call's real usage replaces it when
// the call ends (Ticket.Report).
func Estimate(bodyBytes, maxTokens int) int {
	return bodyBytes/4 + maxTokens
}

// MaxTokens returns the max_tokens field of a Messages request, 0 if none.
func MaxTokens(req *claudebridge.Request) int {
	n, _ := strconv.Atoi(string(req.Fields["max_tokens"]))
	return n
}

// Admit checks a call of model by e's key: EPERMISSION for a model the
// key may not call, EINVALID when its worst case (Prices.WorstCase, with
// the keyring's table, as MAX_COST_PER_REQUEST's) costs more than the
// key's MaxCostPerRequest, EINVALID (cost.BudgetExceeded) when
// the key has a Budget that the worst case would pass, else its limiter's
// Admit. The ticket carries the budget's reservation, settled at Release
// with the usage last reported. The state is the key's limits, for the
// answer's headers, whatever the outcome.
func (e *Entry) Admit(ctx context.Context, model string, body []byte, maxTokens int) (*Ticket, State, error) {
	bodyBytes := len(body)
	if !e.AllowsModel(model) {
		return nil, e.State(), claudebridge.Errorf(claudebridge.EPERMISSION, "This API key may not use the model %s", model)
	}
	if limit := e.Key.MaxCostPerRequest; limit > 0 && e.prices != nil {
		if worst := e.prices.WorstCase(model, e.upstream, body, maxTokens); worst > limit {
			return nil, e.State(), claudebridge.Errorf(claudebridge.EINVALID,
				// The input as cost.InputTokens counts it.
				"This request may cost up to $%s (about %d input tokens and max_tokens %d of %s), over this key's limit of $%s per request",
				dollars(worst), (bodyBytes+3)/4, maxTokens, model, dollars(limit))
		}
	}
	if e.Budget == nil {
		return e.Limiter.admit(ctx, Estimate(bodyBytes, maxTokens))
	}
	// The budget first: a call it refuses counts against no rate limit,
	// and one the limiter refuses gives its reservation back whole.
	settle, err := e.Budget.ReserveCall(ctx, claudebridge.Caller{Key: e.Key.Name}, model, body, maxTokens)
	if err != nil {
		return nil, e.State(), err
	}
	t, state, err := e.Limiter.admit(ctx, Estimate(bodyBytes, maxTokens))
	if err != nil {
		settle(claudebridge.Usage{})
		return nil, state, err
	}
	t.budget = &reservation{settle: settle}
	return t, state, nil
}

// Wait is Admit for a call no client is waiting on (a Message Batch's):
// where Admit refuses ERATELIMIT, Wait waits for room, until the window
// ends or a call of the key ends, whichever comes first, and asks again.
// Every other refusal (model, cost cap, budget, an estimate over the
// token limit alone) is Admit's, at once; ctx ending ends the wait with
// its error.
func (e *Entry) Wait(ctx context.Context, model string, body []byte, maxTokens int) (*Ticket, error) {
	for {
		ended := e.Limiter.callEnds() // before Admit: a call ending after its refusal wakes us
		t, _, err := e.Admit(ctx, model, body, maxTokens)
		var limited *claudebridge.Error
		if err == nil || !errors.As(err, &limited) || limited.Code != claudebridge.ERATELIMIT {
			return t, err
		}
		window := time.NewTimer(limited.RetryAfter)
		select {
		case <-ctx.Done():
			window.Stop()
			return nil, ctx.Err()
		case <-ended:
			window.Stop()
		case <-window.C:
		}
	}
}

// State returns the key's limits as they stand, counting nothing; a
// shared limiter's as this process last saw them in the store (no read
// for a listing's headers).
func (e *Entry) State() State {
	l := e.Limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stateLocked()
}

func dollars(x float64) string { return fmt.Sprintf("%.4f", x) }

type ticketKey struct{}

// WithTicket returns ctx carrying t, for Upstream to report the call's
// usage to.
func WithTicket(ctx context.Context, t *Ticket) context.Context {
	return context.WithValue(ctx, ticketKey{}, t)
}

func ticketFrom(ctx context.Context) *Ticket {
	t, _ := ctx.Value(ticketKey{}).(*Ticket)
	return t
}
