package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/mock"
)

func TestTrustedUserHeaderOnAPublicAddressNeedsTrustedProxies(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{"TRUSTED_USER_HEADER": "X-Forwarded-User", "API_KEYS": "k"}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = "0.0.0.0:8080"
	if err := cfg.checkTrustedHeader(); err == nil {
		t.Error("TRUSTED_USER_HEADER without TRUSTED_PROXIES was accepted on 0.0.0.0")
	}
}

func TestTrustedUserHeaderWithTrustedProxiesIsAccepted(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{"TRUSTED_USER_HEADER": "X-Forwarded-User", "TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7"}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = "0.0.0.0:8080"
	if err := cfg.checkTrustedHeader(); err != nil {
		t.Error(err)
	}
	if got, want := len(cfg.TrustedProxies), 2; got != want {
		t.Fatalf("%d proxies, want %d", got, want)
	}
	if got, want := cfg.TrustedProxies[1], netip.MustParsePrefix("192.168.1.7/32"); got != want {
		t.Errorf("proxy %v, want %v", got, want)
	}
}

func TestTrustedProxiesDefaultToLoopback(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.TrustedProxies[0].Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("default proxies %v hold no 127.0.0.1", cfg.TrustedProxies)
	}
}

func TestSecuritySettingsAreRefusedWhenMalformed(t *testing.T) {
	for _, vars := range []map[string]string{
		{"TRUSTED_PROXIES": "proxy.example"},
		{"BEDROCK_ALLOW_UNSIGNED_PAYLOAD": "maybe"},
		{"CHAT_ALLOW_ORIGINS": "*"},
	} {
		if _, err := loadConfig(env(vars)); err == nil {
			t.Errorf("%v was accepted", vars)
		}
	}
}

func TestChatOriginsAreApartFromTheAPIs(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{"CORS_ALLOW_ORIGINS": "*", "CHAT_ALLOW_ORIGINS": "https://chat.example"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(cfg.ChatOrigins), 1; got != want {
		t.Fatalf("%d chat origins, want %d", got, want)
	}
	if got, want := cfg.ChatOrigins[0], "https://chat.example"; got != want {
		t.Errorf("chat origin %q, want %q", got, want)
	}
}

// answered is a door that answers 200.
var answered = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

func statusOf(h http.Handler, path, host string) int {
	r := httptest.NewRequest(http.MethodPost, path, nil)
	r.Host = host
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func TestOpenDoorsOnLoopbackRefuseOtherNames(t *testing.T) {
	v1, model := openGuarded(&Config{Listen: "127.0.0.1:8080"}, ring(t, nil), answered, answered)
	if got, want := statusOf(v1, "/v1/messages", "rebound.example:8080"), http.StatusForbidden; got != want {
		t.Errorf("/v1: status %d, want %d", got, want)
	}
	if got, want := statusOf(model, "/model/m/invoke", "rebound.example:8080"), http.StatusForbidden; got != want {
		t.Errorf("/model: status %d, want %d", got, want)
	}
	if got, want := statusOf(v1, "/v1/messages", "127.0.0.1:8080"), http.StatusOK; got != want {
		t.Errorf("/v1 at 127.0.0.1: status %d, want %d", got, want)
	}
}

func TestDoorsWithKeysAreNotGuarded(t *testing.T) {
	v1, model := openGuarded(&Config{Listen: "127.0.0.1:8080", APIKeys: []string{"k"}}, ring(t, nil, "k"), answered, answered)
	if got, want := statusOf(v1, "/v1/messages", "gateway.example"), http.StatusOK; got != want {
		t.Errorf("/v1: status %d, want %d", got, want)
	}
	if got, want := statusOf(model, "/model/m/invoke", "gateway.example"), http.StatusOK; got != want {
		t.Errorf("/model: status %d, want %d", got, want)
	}
}

// ring is the keyring of static keys and store's.
func ring(t *testing.T, store claudebridge.KeyService, static ...string) *limits.Keyring {
	t.Helper()
	if store == nil {
		store = &mock.Keys{}
	}
	k, err := limits.NewKeyring(context.Background(), claudebridge.NewClientKeys(static...), store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDoorsWithAStoredKeyAreNotGuardedThoughOpenAtStartUp(t *testing.T) {
	store := &mock.Keys{}
	keys := ring(t, store)
	v1, model := openGuarded(&Config{Listen: "127.0.0.1:8080"}, keys, answered, answered)
	if got, want := statusOf(v1, "/v1/messages", "gateway.example"), http.StatusForbidden; got != want {
		t.Fatalf("before: status %d, want %d", got, want)
	}
	store.Add(claudebridge.Key{Name: "ci"})
	keys.Refresh(context.Background())
	if got, want := statusOf(v1, "/v1/messages", "gateway.example"), http.StatusOK; got != want {
		t.Errorf("/v1: status %d, want %d", got, want)
	}
	if got, want := statusOf(model, "/model/m/invoke", "gateway.example"), http.StatusOK; got != want {
		t.Errorf("/model: status %d, want %d", got, want)
	}
}

func TestTheFrontDoorWithAccessKeysIsNotGuarded(t *testing.T) {
	_, model := openGuarded(&Config{Listen: "127.0.0.1:8080", BedrockAccessKeys: map[string]string{"AKID": "s"}}, ring(t, nil), answered, answered)
	if got, want := statusOf(model, "/model/m/invoke", "gateway.example"), http.StatusOK; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
}

func TestTheUpstreamsPasswordIsNotInTheStartUpLine(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "https://user:s3cret@api.example"}))
	if err != nil {
		t.Fatal(err)
	}
	_, about, err := newUpstream(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(about, "s3cret") {
		t.Errorf("start-up line %q shows the password", about)
	}
}
