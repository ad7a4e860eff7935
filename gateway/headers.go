package gateway

import (
	"mime"
	"net/http"
	"strings"

	"github.com/claudebridge/claudebridge"
)

// checkHeaders refuses a Messages or count_tokens call whose headers the
// Anthropic API refuses, with its answers (400 invalid_request_error):
// no anthropic-version ("anthropic-version: header is required"), or one
// that is not a version ("anthropic-version: \"x\" is not a valid
// version"). Every official SDK and Claude Code send one. Which dates are
// versions is the upstream's to say: a date is let through, so that a new
// SDK's version works the day it ships. A body declared as something other
// than JSON is refused too; none declared is taken as JSON, as curl users
// expect.
func checkHeaders(h http.Header) error {
	if err := checkVersion(h); err != nil {
		return err
	}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return claudebridge.Errorf(claudebridge.EINVALID, "content-type: %q is not supported: the request body must be JSON (application/json)", ct)
		}
	}
	return nil
}

// checkVersion refuses a call without an anthropic-version that is a date,
// as checkHeaders says. The Models API requires the header too.
func checkVersion(h http.Header) error {
	switch v := h.Get("anthropic-version"); {
	case v == "":
		return claudebridge.Errorf(claudebridge.EINVALID, "anthropic-version: header is required")
	case !isDate(v):
		return claudebridge.Errorf(claudebridge.EINVALID, "anthropic-version: %q is not a valid version", v)
	}
	return nil
}

// isDate reports whether v is a date as versions are written, YYYY-MM-DD.
func isDate(v string) bool {
	if len(v) != len("2023-06-01") || v[4] != '-' || v[7] != '-' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if i != 4 && i != 7 && (v[i] < '0' || v[i] > '9') {
			return false
		}
	}
	return true
}
