// Package redact takes secrets out of what is logged or shown.
package redact

import (
	"net/url"
	"strings"
)

// URL returns raw with the password of its user information replaced by
// "xxxxx" (postgres://user:xxxxx@host/db), as url.URL.Redacted does. A
// string that does not parse as a URL but has user information before
// its host loses all of it. Anything else comes back as it is.
func URL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
		if u.User == nil || u.Scheme == "" {
			return raw
		}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		return scheme + "://xxxxx@" + rest[at+1:]
	}
	return raw
}
