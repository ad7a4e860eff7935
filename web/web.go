// Package web holds the chat page: hand-written HTML, CSS and JavaScript
// modules (no build step, no CDN), embedded in the binary.
//
// Handler serves the page at "/" (and at "/usage", which opens the usage
// view) and its assets under "/static/". Every answer carries a strict
// Content-Security-Policy: the page loads nothing from elsewhere and no
// inline script, so that model output that slipped into the DOM still could
// not run.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
)

//go:embed index.html static
var files embed.FS

// ContentSecurityPolicy is sent with every answer of Handler.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// contentTypes are the types of the assets, set explicitly so that they do
// not depend on the machine's MIME tables (a module script served as
// text/plain is refused by browsers).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

// Handler serves GET and HEAD of "/" and "/usage" (the page, never cached,
// so that a new binary's page is picked up at once) and "/static/..." (its
// assets, revalidated by ETag on every load: the assets change with the
// binary and carry no version in their names). Other paths are 404, other
// methods 405.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, ContentSecurityPolicy) })
}

// HandlerWithSocket is Handler for a page whose WebSocket is elsewhere
// (CHAT_SOCKET_URL, API Gateway's): its origin is added to the policy's
// connect-src, and nothing else is loosened. A URL without a ws or wss
// origin adds nothing.
func HandlerWithSocket(socketURL string) http.Handler {
	u, err := url.Parse(socketURL)
	if err != nil || (u.Scheme != "wss" && u.Scheme != "ws") || u.Host == "" || strings.ContainsAny(u.Host, " ;,'") {
		return Handler()
	}
	policy := strings.Replace(ContentSecurityPolicy, "connect-src 'self'", "connect-src 'self' "+u.Scheme+"://"+u.Host, 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, policy) })
}

func serve(w http.ResponseWriter, r *http.Request, policy string) {
	h := w.Header()
	h.Set("Content-Security-Policy", policy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := ""
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html" || p == "/usage":
		name = "index.html"
		h.Set("Cache-Control", "no-cache, no-store")
	case strings.HasPrefix(p, "/static/"):
		name = path.Clean(strings.TrimPrefix(p, "/"))
		if !strings.HasPrefix(name, "static/") {
			http.NotFound(w, r)
			return
		}
		h.Set("Cache-Control", "no-cache")
	default:
		http.NotFound(w, r)
		return
	}
	body, err := fs.ReadFile(files, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", etags[name])
	if match := r.Header.Get("If-None-Match"); match != "" && match == etags[name] {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}
