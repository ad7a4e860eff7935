package gateway

import (
	"net/http"
	"strings"
)

// CORS lets browser pages on the allowed origins call the gateway.
type CORS struct {
	any     bool
	origins map[string]bool
}

// NewCORS takes the allowed origins ("*" for any); nil when none.
func NewCORS(origins ...string) *CORS {
	c := &CORS{origins: map[string]bool{}}
	for _, o := range origins {
		switch o = strings.TrimRight(strings.TrimSpace(o), "/"); o {
		case "":
		case "*":
			c.any = true
		default:
			c.origins[o] = true
		}
	}
	if !c.any && len(c.origins) == 0 {
		return nil
	}
	return c
}

// handle sets the CORS headers of an allowed origin and answers a preflight
// itself, before auth: browsers send no credentials on a preflight. It
// reports whether the request was answered.
func (c *CORS) handle(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if !c.any && !c.origins[origin] {
		return false
	}
	if c.any {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	h.Set("Access-Control-Expose-Headers", "request-id, retry-after, claudebridge-token-count, claudebridge-dropped")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
		h.Add("Vary", "Access-Control-Request-Headers")
	} else {
		h.Set("Access-Control-Allow-Headers", "authorization, content-type, x-api-key, anthropic-version, anthropic-beta, anthropic-dangerous-direct-browser-access")
	}
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
	return true
}
