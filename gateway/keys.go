package gateway

import (
	"net/http"
	"strings"

	"github.com/claudebridge/claudebridge"
)

// checkKey returns EAUTH unless r carries one of keys, as x-api-key or as
// Authorization: Bearer. With no keys (nil) every request passes.
func checkKey(keys *claudebridge.ClientKeys, r *http.Request) error {
	if keys == nil {
		return nil
	}
	key := r.Header.Get("x-api-key")
	if key == "" {
		if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
			key = strings.TrimSpace(auth[7:])
		}
	}
	if key == "" {
		return claudebridge.Errorf(claudebridge.EAUTH, "x-api-key header or Authorization: Bearer is required")
	}
	if !keys.Allow(key) {
		return claudebridge.Errorf(claudebridge.EAUTH, "invalid x-api-key")
	}
	return nil
}
