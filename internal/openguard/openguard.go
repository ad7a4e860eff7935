// Package openguard keeps a door that asks no client key (the gateway
// without API_KEYS, the Bedrock front door without any credential) to the
// programs of the operator's own machine. A web page the operator visits
// could otherwise spend the operator's credit and read the answers: by a
// cross-site request, or by re-pointing its own name at 127.0.0.1 (DNS
// rebinding), after which the browser takes the door for the page's own
// site.
package openguard

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/claudebridge/claudebridge"
)

// Guard decides which requests an open door may serve. Create it with New.
type Guard struct {
	loopbackOnly bool
	anyOrigin    bool
	origins      map[string]bool
}

// New returns a guard. loopbackOnly: the door listens on a loopback
// address, so that every Host other than a loopback name is a rebound one.
// allowedOrigins are the browser origins allowed to call the door
// (CORS_ALLOW_ORIGINS; "*" allows any).
func New(loopbackOnly bool, allowedOrigins []string) *Guard {
	g := &Guard{loopbackOnly: loopbackOnly, origins: map[string]bool{}}
	for _, o := range allowedOrigins {
		switch o = strings.ToLower(strings.TrimRight(strings.TrimSpace(o), "/")); o {
		case "":
		case "*":
			g.anyOrigin = true
		default:
			g.origins[o] = true
		}
	}
	return g
}

// Check returns nil when r may be served, else an EPERMISSION error that
// says why. Refused: a Host that is not a loopback name (when the door
// listens on loopback); an Origin that is neither allowed nor the door's
// own; a request the browser marks Sec-Fetch-Site: cross-site with no
// allowed Origin. Programs that are not browsers send no Origin and no
// Sec-Fetch-Site, and pass.
func (g *Guard) Check(r *http.Request) error {
	if g.loopbackOnly && !LoopbackHost(r.Host) {
		return claudebridge.Errorf(claudebridge.EPERMISSION,
			"Without client keys this server answers only at a loopback address (localhost, 127.0.0.1, [::1]); set API_KEYS to serve other names")
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if g.originAllowed(origin, r.Host) {
			return nil
		}
		return claudebridge.Errorf(claudebridge.EPERMISSION,
			"Without client keys this server refuses calls from web pages of other sites; add the page's origin to CORS_ALLOW_ORIGINS or set API_KEYS")
	}
	if strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site") {
		return claudebridge.Errorf(claudebridge.EPERMISSION,
			"Without client keys this server refuses cross-site requests from browsers; set API_KEYS")
	}
	return nil
}

// originAllowed reports whether origin is allowed, or is the door's own
// (the Host the request was sent to).
func (g *Guard) originAllowed(origin, host string) bool {
	o := strings.ToLower(strings.TrimRight(origin, "/"))
	if g.anyOrigin || g.origins[o] {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && strings.EqualFold(u.Host, host)
}

// LoopbackHost reports whether a Host names this machine: localhost (or a
// name under .localhost, which browsers resolve to loopback themselves) or
// a loopback IP, any port.
func LoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
