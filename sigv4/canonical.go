package sigv4

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// canonicalURI is the path as the client sent it, URI-encoded once more:
// every AWS service but S3 signs the already-escaped path escaped again
// (so "%3A" in a model id is signed as "%253A").
func canonicalURI(r *http.Request) string {
	p := r.RequestURI
	if u, err := url.ParseRequestURI(p); err == nil && u.IsAbs() {
		p = u.EscapedPath()
	}
	if p == "" {
		// A request built in process (not read from the wire) has no
		// RequestURI.
		p = r.URL.EscapedPath()
	}
	p, _, _ = strings.Cut(p, "?")
	if p == "" {
		return "/"
	}
	return awsEscape(p, false)
}

// canonicalQuery sorts the query parameters by name then value, each
// escaped with the AWS rules.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return raw
	}
	var pairs []string
	for k, vs := range values {
		for _, val := range vs {
			pairs = append(pairs, awsEscape(k, true)+"="+awsEscape(val, true))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// canonicalHeaders lists the signed headers with trimmed values. The
// request's Host stands for both host and the HTTP/2 :authority, which Go
// does not keep among the headers.
func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	for _, name := range names {
		var value string
		switch name {
		case "host", ":authority":
			value = r.Host
		case "content-length":
			value = r.Header.Get("Content-Length")
			if value == "" && r.ContentLength >= 0 {
				value = strconv.FormatInt(r.ContentLength, 10)
			}
		default:
			var vals []string
			for _, v := range r.Header.Values(name) {
				vals = append(vals, strings.Join(strings.Fields(v), " "))
			}
			value = strings.Join(vals, ",")
		}
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(value)
		b.WriteByte('\n')
	}
	return b.String()
}

// awsEscape percent-encodes every byte but the unreserved characters (and
// '/', unless encodeSlash).
func awsEscape(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
