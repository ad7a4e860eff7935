package chat

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/sqlite"
)

// securityServer is a chat server on a fresh database, with alice (who has
// a password) in it; no upstream is needed to log in or identify.
func securityServer(t *testing.T, opts Options) *Server {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hash, _ := HashPassword("correct horse")
	if _, err := db.CreateUser(context.Background(), "alice", hash); err != nil {
		t.Fatal(err)
	}
	opts.Users, opts.Conversations, opts.Prompts, opts.Usage = db, db, db, db
	opts.Models = func(context.Context) ([]claudebridge.Model, error) { return nil, nil }
	return New(opts)
}

func fromPeer(peer string, headers map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.RemoteAddr = peer
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

var proxy = []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")}

func TestTheTrustedHeaderOfAnUntrustedPeerIsIgnored(t *testing.T) {
	s := securityServer(t, Options{TrustedUserHeader: "X-Forwarded-User", TrustedProxies: proxy})
	_, err := s.identify(fromPeer("203.0.113.9:4000", map[string]string{"X-Forwarded-User": "mallory"}))
	if got, want := claudebridge.ErrorCode(err), claudebridge.EAUTH; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
}

func TestTheTrustedHeaderOfATrustedProxyNamesTheUser(t *testing.T) {
	s := securityServer(t, Options{TrustedUserHeader: "X-Forwarded-User", TrustedProxies: proxy})
	id, err := s.identify(fromPeer("10.0.0.5:4000", map[string]string{"X-Forwarded-User": "bob"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := id.user.Name, "bob"; got != want {
		t.Errorf("user %q, want %q", got, want)
	}
}

func TestTheTrustedHeaderNeverNamesAUserWithAPassword(t *testing.T) {
	s := securityServer(t, Options{TrustedUserHeader: "X-Forwarded-User", TrustedProxies: proxy})
	_, err := s.identify(fromPeer("10.0.0.5:4000", map[string]string{"X-Forwarded-User": "alice"}))
	if got, want := claudebridge.ErrorCode(err), claudebridge.EPERMISSION; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
}

func TestStarDoesNotOpenTheChatToOtherSites(t *testing.T) {
	s := securityServer(t, Options{AllowedOrigins: []string{"*"}})
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/api/login", strings.NewReader(`{}`))
	r.Header.Set("Origin", "https://attacker.example")
	if s.originAllowed(r) {
		t.Error("* let another site in")
	}
}

func TestAListedOriginMayUseTheChat(t *testing.T) {
	s := securityServer(t, Options{AllowedOrigins: []string{"https://chat.example/"}})
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/api/login", nil)
	r.Header.Set("Origin", "https://chat.example")
	if !s.originAllowed(r) {
		t.Error("the listed origin was refused")
	}
}

func login(s *Server, peer, name, password string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader(`{"name":"`+name+`","password":"`+password+`"}`))
	r.RemoteAddr = peer
	w := httptest.NewRecorder()
	s.login(w, r)
	return w
}

func TestWrongPasswordsFromOneAddressThrottleIt(t *testing.T) {
	s := securityServer(t, Options{})
	for i := range 20 {
		if got, want := login(s, "198.51.100.7:1", "user"+string(rune('a'+i)), "wrong").Code, http.StatusUnauthorized; got != want {
			t.Fatalf("guess %d: status %d, want %d", i, got, want)
		}
	}
	w := login(s, "198.51.100.7:2", "alice", "correct horse")
	if got, want := w.Code, http.StatusTooManyRequests; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if got, want := login(s, "198.51.100.8:1", "alice", "correct horse").Code, http.StatusNoContent; got != want {
		t.Errorf("another address: status %d, want %d", got, want)
	}
}

func TestBehindATrustedProxyTheForwardedAddressIsThrottled(t *testing.T) {
	s := securityServer(t, Options{TrustedProxies: proxy})
	r := fromPeer("10.0.0.5:1", map[string]string{"X-Forwarded-For": "192.0.2.1, 198.51.100.7"})
	if got, want := s.clientAddress(r), "198.51.100.7"; got != want {
		t.Errorf("address %q, want %q", got, want)
	}
	r = fromPeer("203.0.113.9:1", map[string]string{"X-Forwarded-For": "192.0.2.1"})
	if got, want := s.clientAddress(r), "203.0.113.9"; got != want {
		t.Errorf("an untrusted peer's X-Forwarded-For was believed: %q, want %q", got, want)
	}
}

func TestAnIPv6ClientCountsAsItsSlash64(t *testing.T) {
	s := securityServer(t, Options{})
	a := s.clientAddress(fromPeer("[2001:db8:1:2::1]:1", nil))
	b := s.clientAddress(fromPeer("[2001:db8:1:2::ffff]:1", nil))
	if a != b {
		t.Errorf("%q and %q differ", a, b)
	}
}

func TestPasswordChecksAreBoundedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Server{passwordChecks: make(chan struct{}, 1)}
		s.passwordChecks <- struct{}{} // a check under way
		_, err := s.checkPassword(context.Background(), dummyHash(), "x")
		if got, want := claudebridge.ErrorCode(err), claudebridge.ERATELIMIT; got != want {
			t.Errorf("code %q, want %q", got, want)
		}
	})
}

func TestAPasswordCheckWaitsForAFreeSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Server{passwordChecks: make(chan struct{}, 1)}
		s.passwordChecks <- struct{}{}
		go func() { <-s.passwordChecks }() // the check under way ends
		ok, err := s.checkPassword(context.Background(), dummyHash(), "claudebridge-no-such-user")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Error("the right password did not match")
		}
	})
}
