package chat

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/httpbody"
	"github.com/claudebridge/claudebridge/internal/openguard"
)

// LocalUser is the one user of local mode.
const LocalUser = "local"

// SessionCookie holds the session token; the store keeps only its hash.
const SessionCookie = "cb_session"

// sessionLifetime is how long a login lasts.
const sessionLifetime = 30 * 24 * time.Hour

// HashPassword returns the bcrypt hash of a password, as the user store
// keeps it.
func HashPassword(password string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(b), err
}

// dummyHash is compared against when the user does not exist, so that a
// login takes as long for a wrong name as for a wrong password. Made at
// the first login, not at start-up: a bcrypt hash is tens of milliseconds
// of CPU that every command and every Lambda cold start would pay.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("claudebridge-no-such-user")
	return h
})

// identity is who a request comes from.
type identity struct {
	user        *claudebridge.User
	sessionHash string // "" unless by session cookie
	local       bool
}

// csrf is the token the page must echo in X-CSRF-Token, so a page of
// another site that cannot read /api/me cannot know it. A session's is
// keyed by the session's hash, which only the store and the cookie's holder
// can know: every process sharing the store (a fleet, Lambda's instances)
// takes it. Without a session (local, trusted header) it is keyed by the
// user's name under Secret.
func (s *Server) csrf(id *identity) string {
	var m hash.Hash
	if id.sessionHash != "" {
		m = hmac.New(sha256.New, []byte(id.sessionHash))
		m.Write([]byte("csrf"))
	} else {
		m = hmac.New(sha256.New, s.secret)
		m.Write([]byte("user:" + id.user.Name))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// newToken is a bearer secret of 256 random bits, URL-safe: a session's
// cookie, a socket's ticket. The store keeps only its hashToken.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// identify finds the user of r: the trusted header if configured and
// present, the local user in local mode, else the session cookie. EAUTH
// when there is none.
func (s *Server) identify(r *http.Request) (*identity, error) {
	ctx := r.Context()
	if h := s.opts.TrustedUserHeader; h != "" && s.fromTrustedProxy(r) {
		if name := strings.TrimSpace(r.Header.Get(h)); name != "" {
			u, err := s.trustedUser(ctx, name)
			if err != nil {
				return nil, err
			}
			return &identity{user: u}, nil
		}
	}
	if s.opts.Local {
		if !openguard.LoopbackHost(r.Host) {
			// Without login, a page of another site whose name was
			// re-pointed at 127.0.0.1 (DNS rebinding) would be same-origin
			// with the chat: only the Host it asks for tells it apart.
			return nil, claudebridge.Errorf(claudebridge.EPERMISSION, "Without login the chat answers only at a loopback address (localhost, 127.0.0.1, [::1])")
		}
		u, err := s.ensureUser(ctx, LocalUser)
		if err != nil {
			return nil, err
		}
		return &identity{user: u, local: true}, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, claudebridge.Errorf(claudebridge.EAUTH, "Not logged in")
	}
	hash := hashToken(c.Value)
	u, err := s.opts.Users.SessionUser(ctx, hash)
	if err != nil {
		return nil, err
	}
	return &identity{user: u, sessionHash: hash}, nil
}

// ensureUser is EnsureUser, remembered: it is called on every request of
// the local and trusted-header users.
func (s *Server) ensureUser(ctx context.Context, name string) (*claudebridge.User, error) {
	if u, ok := s.users.Load(name); ok {
		return u.(*claudebridge.User), nil
	}
	u, err := s.opts.Users.EnsureUser(ctx, name)
	if err != nil {
		return nil, err
	}
	s.users.Store(name, u)
	return u, nil
}

// trustedUser is the user a trusted proxy names. A user with a password
// logs in with it: a header never stands in for it.
func (s *Server) trustedUser(ctx context.Context, name string) (*claudebridge.User, error) {
	if u, ok := s.users.Load(name); ok {
		return u.(*claudebridge.User), nil
	}
	_, hash, err := s.opts.Users.UserByName(ctx, name)
	if err != nil && claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		return nil, err
	}
	if hash != "" {
		return nil, claudebridge.Errorf(claudebridge.EPERMISSION, "This user has a password and must log in")
	}
	return s.ensureUser(ctx, name)
}

// fromTrustedProxy reports whether r comes straight from one of
// TrustedProxies.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	ip, ok := remoteIP(r.RemoteAddr)
	return ok && s.trusted(ip)
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func remoteIP(addr string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		ip, err := netip.ParseAddr(addr)
		return ip.Unmap(), err == nil
	}
	return ap.Addr().Unmap(), true
}

// clientAddress is who a login comes from, for its throttle: the peer's
// address, or behind a trusted proxy the last address X-Forwarded-For
// names that is not a trusted proxy. An IPv6 address counts as its /64,
// which one client usually holds whole.
func (s *Server) clientAddress(r *http.Request) string {
	ip, ok := remoteIP(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if s.trusted(ip) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			ip = hop.Unmap()
			if !s.trusted(ip) {
				break
			}
		}
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

type identityKey struct{}

func userOf(r *http.Request) *identity { return r.Context().Value(identityKey{}).(*identity) }

// authed wraps an API handler: the request must come from a user, and a
// state-changing one must carry the CSRF token.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := s.identify(r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		// Only now is the body read, and at a minimum rate; the answer
		// must be taken within answerWriteTimeout.
		r.Body = httpbody.Paced(w, r)
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(answerWriteTimeout))
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			got := r.Header.Get("X-CSRF-Token")
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf(id))) != 1 {
				s.writeError(w, claudebridge.Errorf(claudebridge.EPERMISSION, "Missing or wrong X-CSRF-Token header; fetch /api/me for the token"))
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
}

// originAllowed reports whether a browser request's Origin is the page's
// own (the Host it was sent to) or an allowed one. No Origin (a client
// that is not a browser) is allowed: only browsers carry another site's
// requests with the user's cookie.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, o := range s.opts.AllowedOrigins {
		// "*" is not honoured: it would let any site log in and read
		// answers over the socket with the user's cookie.
		if o != "*" && strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		s.writeError(w, claudebridge.Errorf(claudebridge.EPERMISSION, "Origin not allowed"))
		return
	}
	// A throttled address is refused before its body is read.
	addr := s.clientAddress(r)
	if wait := s.loginsByAddr.wait(addr); wait > 0 {
		s.tooManyLogins(w, wait, "from this address")
		return
	}
	var body struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	r.Body = http.MaxBytesReader(w, httpbody.Paced(w, r), maxLoginBody)
	if err := decode(r, &body); err != nil {
		s.writeError(w, err)
		return
	}
	if wait := s.logins.wait(body.Name); wait > 0 {
		s.tooManyLogins(w, wait, "for this name")
		return
	}
	ctx := r.Context()
	u, hash, err := s.opts.Users.UserByName(ctx, body.Name)
	if err != nil && claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		s.writeError(w, err)
		return
	}
	if u == nil || hash == "" {
		hash = dummyHash()
	}
	match, err := s.checkPassword(ctx, hash, body.Password)
	if err != nil {
		if claudebridge.ErrorCode(err) == claudebridge.ERATELIMIT {
			s.tooManyLogins(w, time.Second, "at once")
		}
		return
	}
	if !match || u == nil || hash == dummyHash() {
		// The name is not logged: a password typed into the wrong field
		// would land in the log.
		s.log.Info("chat: login refused")
		s.logins.refused(body.Name)
		s.loginsByAddr.refused(addr)
		s.writeError(w, claudebridge.Errorf(claudebridge.EAUTH, "Wrong name or password"))
		return
	}
	s.logins.succeeded(body.Name)
	token := newToken()
	expires := time.Now().Add(sessionLifetime)
	if err := s.opts.Users.CreateSession(ctx, u.ID, hashToken(token), expires); err != nil {
		s.writeError(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: overTLS(r)})
	w.WriteHeader(http.StatusNoContent)
}

// answerWriteTimeout bounds the write of a REST answer (an export of every
// conversation included): a client that stops reading is dropped rather
// than holding the handler.
const answerWriteTimeout = 5 * time.Minute

// maxLoginBody bounds a login's body: a name and a password.
const maxLoginBody = 64 << 10

// passwordCheckWait is how long a login waits for one of the password
// checks bcrypt allows at once before it is told to come back.
const passwordCheckWait = 5 * time.Second

// checkPassword compares a password with its hash, with at most
// cap(s.passwordChecks) comparisons at once: each takes tens of
// milliseconds of a core. ERATELIMIT when none is free within
// passwordCheckWait; ctx's error when the client leaves first.
func (s *Server) checkPassword(ctx context.Context, hash, password string) (bool, error) {
	t := time.NewTimer(passwordCheckWait)
	defer t.Stop()
	select {
	case s.passwordChecks <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
		return false, claudebridge.Errorf(claudebridge.ERATELIMIT, "Too many logins at once")
	}
	defer func() { <-s.passwordChecks }()
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil, nil
}

// tooManyLogins answers 429 with Retry-After.
func (s *Server) tooManyLogins(w http.ResponseWriter, wait time.Duration, why string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	s.writeError(w, claudebridge.Errorf(claudebridge.ERATELIMIT, "Too many logins %s; try again in %d seconds", why, int(wait.Seconds())+1))
}

// overTLS reports whether the browser reached us over HTTPS, directly or
// through a proxy that says so.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if id := userOf(r); id.sessionHash != "" {
		if err := s.opts.Users.DeleteSession(r.Context(), id.sessionHash); err != nil {
			s.writeError(w, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: overTLS(r)})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	id := userOf(r)
	writeJSON(w, http.StatusOK, map[string]any{"name": id.user.Name, "local": id.local, "csrf": s.csrf(id)})
}
