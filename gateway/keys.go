package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/limits"
)

// clientKey returns the key r carries, as x-api-key or as Authorization:
// Bearer; "" if none.
func clientKey(r *http.Request) string {
	key := r.Header.Get("x-api-key")
	if key == "" {
		if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
			key = strings.TrimSpace(auth[7:])
		}
	}
	return key
}

// checkKey returns EAUTH unless r carries a key the gateway takes: one of
// Keyring's when it is set, else one of Keys. With no key configured
// (Keys nil, or an Open keyring) every request passes. It returns the
// virtual key r carries, nil for a static key or none.
func (g *Gateway) checkKey(r *http.Request) (*limits.Entry, error) {
	if g.Keyring != nil {
		return g.Keyring.Lookup(clientKey(r))
	}
	if g.Keys == nil {
		return nil, nil
	}
	key := clientKey(r)
	if key == "" {
		return nil, claudebridge.Errorf(claudebridge.EAUTH, "x-api-key header or Authorization: Bearer is required")
	}
	if !g.Keys.Allow(key) {
		return nil, claudebridge.Errorf(claudebridge.EAUTH, "invalid x-api-key")
	}
	return nil, nil
}

// admit counts a Messages call of a virtual key against its limits and
// sets the anthropic-ratelimit-* headers of the answer, refused or not.
// A nil key (static, open) has no limits: nil ticket, nil error.
func admit(ctx context.Context, w http.ResponseWriter, key *limits.Entry, req *claudebridge.Request) (*limits.Ticket, error) {
	if key == nil {
		return nil, nil
	}
	t, state, err := key.Admit(ctx, req.Model, req.JSON(), limits.MaxTokens(req))
	state.SetHeaders(w.Header())
	return t, err
}

// checkModel refuses a model the virtual key may not call, and sets the
// headers of its limits, for the calls that count against no limit
// (count_tokens).
func checkModel(w http.ResponseWriter, key *limits.Entry, model string) error {
	if key == nil {
		return nil
	}
	key.State().SetHeaders(w.Header())
	if !key.AllowsModel(model) {
		return claudebridge.Errorf(claudebridge.EPERMISSION, "This API key may not use the model %s", model)
	}
	return nil
}
