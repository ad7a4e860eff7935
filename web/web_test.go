package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, method, path string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func TestPageAndAssets(t *testing.T) {
	cases := []struct {
		path, contentType, cache, contains string
	}{
		{"/", "text/html; charset=utf-8", "no-cache, no-store", `<script type="module" src="/static/app.js">`},
		{"/usage", "text/html; charset=utf-8", "no-cache, no-store", `id="usage"`},
		{"/static/app.js", "text/javascript; charset=utf-8", "no-cache", "renderMarkdown } from './markdown.js'"},
		{"/static/markdown.js", "text/javascript; charset=utf-8", "no-cache", "export function renderMarkdown"},
		{"/static/style.css", "text/css; charset=utf-8", "no-cache", "prefers-color-scheme: dark"},
	}
	for _, c := range cases {
		resp := get(t, http.MethodGet, c.path, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", c.path, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != c.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.contentType)
		}
		if got := resp.Header.Get("Cache-Control"); got != c.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", c.path, got, c.cache)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", c.path, got)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", c.path)
		}
		if !strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s: body lacks %q", c.path, c.contains)
		}
	}
}

func TestPolicyIsStrict(t *testing.T) {
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe-") {
		t.Errorf("CSP allows unsafe sources: %s", ContentSecurityPolicy)
	}
}

// The page must not need what the policy forbids: no inline script or
// style, no handler attributes, nothing loaded from another origin (a
// link a person follows, <a href>, loads nothing into the page).
func TestPageNeedsNothingThePolicyForbids(t *testing.T) {
	resp := get(t, http.MethodGet, "/", nil)
	body, _ := io.ReadAll(resp.Body)
	page := string(body)
	for _, re := range []string{`<script(?:\s[^>]*)?>\s*[^<\s]`, `<style`, `\son[a-z]+=`, `\sstyle=`, `src="(?:https?:)?//`, `<link[^>]*href="(?:https?:)?//`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("index.html has %q, which the policy blocks", m)
		}
	}
	// Every asset the page names is served.
	for _, m := range regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(page, -1) {
		if r := get(t, http.MethodGet, m[1], nil); r.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", m[1], r.StatusCode)
		}
	}
}

// The scripts put text into the DOM through textContent only: no
// innerHTML, outerHTML, insertAdjacentHTML, document.write or eval.
func TestScriptsNeverParseHTML(t *testing.T) {
	names, err := files.ReadDir("static")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|DOMParser`)
	for _, n := range names {
		if !strings.HasSuffix(n.Name(), ".js") {
			continue
		}
		src, _ := files.ReadFile("static/" + n.Name())
		if m := forbidden.Find(src); m != nil {
			t.Errorf("static/%s uses %s", n.Name(), m)
		}
	}
}

func TestConditionalGet(t *testing.T) {
	first := get(t, http.MethodGet, "/static/app.js", nil)
	etag := first.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if r := get(t, http.MethodGet, "/static/app.js", map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: status %d, want 304", r.StatusCode)
	}
	if r := get(t, http.MethodGet, "/static/style.css", map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusOK {
		t.Errorf("another file's ETag: status %d, want 200", r.StatusCode)
	}
}

func TestRefusals(t *testing.T) {
	for _, p := range []string{"/static/../web.go", "/static/nope.js", "/web.go", "/index.htm", "/static/", "/api/x"} {
		if r := get(t, http.MethodGet, p, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, r.StatusCode)
		}
	}
	r := get(t, http.MethodPost, "/", nil)
	if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: status %d Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
	h := get(t, http.MethodHead, "/static/app.js", nil)
	if b, _ := io.ReadAll(h.Body); h.StatusCode != http.StatusOK || len(b) != 0 || h.Header.Get("Content-Length") == "" {
		t.Errorf("HEAD: status %d, %d body bytes", h.StatusCode, len(b))
	}
}

func TestAPageWhoseSocketIsElsewhereMayConnectToItsOriginAndNoOther(t *testing.T) {
	rec := httptest.NewRecorder()
	HandlerWithSocket("wss://abc123.execute-api.us-east-1.amazonaws.com/chat").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	policy := rec.Header().Get("Content-Security-Policy")
	if want := "connect-src 'self' wss://abc123.execute-api.us-east-1.amazonaws.com;"; !strings.Contains(policy, want) {
		t.Errorf("policy %q lacks %q", policy, want)
	}
	if got, want := strings.Replace(policy, " wss://abc123.execute-api.us-east-1.amazonaws.com", "", 1), ContentSecurityPolicy; got != want {
		t.Errorf("policy less the socket's origin %q, want %q", got, want)
	}
	rec = httptest.NewRecorder()
	HandlerWithSocket("wss://evil.example; script-src *").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got, want := rec.Header().Get("Content-Security-Policy"), ContentSecurityPolicy; got != want {
		t.Errorf("policy with a URL that would inject a directive %q, want %q", got, want)
	}
}
