package gateway

import (
	"net/http"
	"strings"

	"github.com/claudebridge/claudebridge/anthropic"
)

// Checked answers in Anthropic's error format (a permission_error, 403
// for EPERMISSION) the /v1/ requests check refuses, and passes the others,
// and the health checks, to next. serve puts it in front of a gateway
// without client keys to keep other sites' pages and DNS-rebound names out.
func Checked(next http.Handler, check func(*http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			if err := check(r); err != nil {
				id := newRequestID()
				w.Header().Set("request-id", id)
				anthropic.WriteError(w, err, id)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
