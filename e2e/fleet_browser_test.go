package e2e

import (
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// steeringProxy is a TCP proxy in front of a fleet that the browser tests
// steer, as a load balancer moves clients: new connections go to the
// serve it is pinned to, and it can cut every connection open or kill a
// serve. Its control API is HTTP on a port of its own:
// POST /pin?to=N, POST /cut, POST /kill?to=N.
type steeringProxy struct {
	f *fleet

	mu    sync.Mutex
	to    int
	conns map[net.Conn]bool
}

// startSteeringProxy serves the proxy and its control API, both closed by
// t.Cleanup, and returns their URLs.
func startSteeringProxy(t *testing.T, f *fleet) (proxyURL, controlURL string) {
	t.Helper()
	p := &steeringProxy{f: f, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.relay(c)
		}
	}()
	control := httptest.NewServer(http.HandlerFunc(p.control))
	t.Cleanup(control.Close)
	return "http://" + ln.Addr().String(), control.URL
}

// relay joins c to the serve the proxy is pinned to until either side
// closes or the proxy cuts them.
func (p *steeringProxy) relay(c net.Conn) {
	p.mu.Lock()
	backend := strings.TrimPrefix(p.f.urls[p.to], "http://")
	p.mu.Unlock()
	b, err := net.Dial("tcp", backend)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[b] = true, true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, b)
		p.mu.Unlock()
		c.Close()
		b.Close()
	}()
	join(c, b)
}

// cut closes every connection open through the proxy.
func (p *steeringProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *steeringProxy) control(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("to"))
	if n < 0 || n >= len(p.f.urls) {
		http.Error(w, "no such serve", http.StatusBadRequest)
		return
	}
	switch r.URL.Path {
	case "/pin":
		p.mu.Lock()
		p.to = n
		p.mu.Unlock()
	case "/cut":
		p.cut()
	case "/kill":
		s := p.f.servers[n]
		if err := killGroup(s.cmd); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		<-s.done
	default:
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// TestBrowserAcrossServes drives the chat page in Chromium through a proxy
// in front of three serves on one PostgreSQL (e2e/browser/fleet.mjs): a
// socket cut mid-answer reconnects to another serve and the answer
// completes once; Stop pressed on another serve stops the turn; a serve
// killed mid-answer has its answer marked interrupted by the others, and it
// is continued on another.
func TestBrowserAcrossServes(t *testing.T) {
	requireBrowser(t)
	f := startFleet(t, 3, "TURN_LEASE=5s", "LOG_LEVEL=debug")
	proxyURL, controlURL := startSteeringProxy(t, f)
	servers := make([]string, len(f.servers))
	for i, s := range f.servers {
		servers[i] = s.name
	}
	runNodeTests(t, filepath.Join(repoRoot(), "e2e", "browser"), []string{
		"CHAT_URL=" + proxyURL,
		"FLEET_CONTROL=" + controlURL,
	}, servers, "fleet.mjs")
}
