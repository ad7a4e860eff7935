package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/batches"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/internal/metricstest"
	"github.com/claudebridge/claudebridge/internal/syncbuf"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/metrics"
	"github.com/claudebridge/claudebridge/mock"
	"github.com/claudebridge/claudebridge/pool"
)

// emulated is the Anthropic API emulator over loopback, reached with key.
func emulated(t *testing.T, key string) claudebridge.Upstream {
	t.Helper()
	emu := httptest.NewServer(anthropicemu.New(anthropicemu.Options{APIKeys: []string{"upstream-key"}}))
	t.Cleanup(emu.Close)
	return anthropicapi.New(anthropicapi.Options{BaseURL: emu.URL, Key: anthropicapi.StaticKey(key)})
}

// keyedPool serves a gateway whose keys are "static" and the virtual key
// k, over a pool of two emulators of which the first refuses the
// gateway's key (its own failure: each call fails over to the second).
func keyedPool(t *testing.T, k claudebridge.Key, configure func(*gateway.Gateway)) (srv *httptest.Server, secret string) {
	t.Helper()
	store := &mock.Keys{}
	secret, err := store.Add(k)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := limits.NewKeyring(context.Background(), claudebridge.NewClientKeys("static-secret"), store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := pool.New([]pool.Member{{Name: "first", Upstream: emulated(t, "wrong-key")}, {Name: "second", Upstream: emulated(t, "upstream-key")}},
		pool.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	g := &gateway.Gateway{Upstream: limits.Upstream{Upstream: p}, Keyring: ring}
	configure(g)
	srv = httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv, secret
}

func TestCallsAreCountedByTheirKeyAndThePoolMemberThatServedThem(t *testing.T) {
	m := metrics.New("anthropic")
	srv, secret := keyedPool(t, claudebridge.Key{Name: "team-a"}, func(g *gateway.Gateway) { g.Metrics = m })
	io.Copy(io.Discard, post(t, srv.URL+"/v1/messages", message("hi", ""), map[string]string{"x-api-key": secret}).Body)
	io.Copy(io.Discard, post(t, srv.URL+"/v1/messages", message("hi", `"stream":true,`), map[string]string{"x-api-key": secret}).Body)
	io.Copy(io.Discard, post(t, srv.URL+"/v1/messages", message("hi", ""), map[string]string{"x-api-key": "static-secret"}).Body)
	io.Copy(io.Discard, post(t, srv.URL+"/v1/messages", message("hi", ""), nil).Body)
	srv.Close() // each call is recorded once its handler returned

	f := metricstest.Scrape(t, m.Handler(""), "")
	for _, c := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"door": "messages", "key": "team-a", "member": "second", "status": "200"}, 2},
		{map[string]string{"door": "messages", "key": "static", "member": "second", "status": "200"}, 1},
		{map[string]string{"door": "messages", "key": "none", "status": "401"}, 1},
		{map[string]string{"member": "first"}, 0},
	} {
		if got := f.Value("claudebridge_requests_total", c.labels); got != c.want {
			t.Errorf("requests %v: %v, want %v", c.labels, got, c.want)
		}
	}
	if got := f.Value("claudebridge_tokens_total", map[string]string{"key": "team-a", "member": "second", "kind": "output"}); got <= 0 {
		t.Errorf("output tokens of team-a on second: %v, want more than 0", got)
	}
}

func TestTheRequestLogLineNamesTheKeyAndTheMemberButNotTheSecret(t *testing.T) {
	var logs syncbuf.Buffer
	srv, secret := keyedPool(t, claudebridge.Key{Name: "team-a"}, func(g *gateway.Gateway) {
		g.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	io.Copy(io.Discard, post(t, srv.URL+"/v1/messages", message("hi", ""), map[string]string{"x-api-key": secret}).Body)
	srv.Close()
	var line struct {
		Msg    string `json:"msg"`
		Key    string `json:"key"`
		Member string `json:"member"`
	}
	for l := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if json.Unmarshal([]byte(l), &line); line.Msg == "request" {
			break
		}
	}
	if got, want := line.Key, "team-a"; got != want {
		t.Errorf("key %q, want %q", got, want)
	}
	if got, want := line.Member, "second"; got != want {
		t.Errorf("member %q, want %q", got, want)
	}
	if got, want := strings.Contains(logs.String(), secret), false; got != want {
		t.Errorf("the secret is in the log: %v, want %v", got, want)
	}
}

func TestTheModelsOfAKeyWithAModelListAreOnlyThose(t *testing.T) {
	srv, secret := keyedPool(t, claudebridge.Key{Name: "team-a", Models: []string{"claude-sonnet-4-5", "claude-haiku-4-5"}}, func(*gateway.Gateway) {})
	get := func(path, key string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("anthropic-version", "2023-06-01")
		req.Header.Set("x-api-key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	ids := func(key string) []string {
		var page struct{ Data []struct{ ID string } }
		json.NewDecoder(get("/v1/models?limit=1000", key).Body).Decode(&page)
		var out []string
		for _, m := range page.Data {
			out = append(out, m.ID)
		}
		return out
	}
	listed := ids(secret)
	slices.Sort(listed)
	if got, want := strings.Join(listed, ","), "claude-haiku-4-5-20251001,claude-sonnet-4-5-20250929"; got != want {
		t.Errorf("models of team-a %s, want %s", got, want)
	}
	if got := len(ids("static-secret")); got <= 2 {
		t.Errorf("a static key lists %d models, want all of them", got)
	}
	if got, want := get("/v1/models/claude-opus-4-5", secret).StatusCode, http.StatusNotFound; got != want {
		t.Errorf("a model off the key's list: %d, want %d", got, want)
	}
	if got, want := get("/v1/models/claude-sonnet-4-5", secret).StatusCode, http.StatusOK; got != want {
		t.Errorf("a model on the key's list: %d, want %d", got, want)
	}
}

func TestTheBatchesAPIIsHandedTheVirtualKeysName(t *testing.T) {
	var owners []string
	srv, secret := keyedPool(t, claudebridge.Key{Name: "team-a"}, func(g *gateway.Gateway) {
		g.Batches = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			owners = append(owners, batches.Owner(r.Context()))
		})
	})
	post(t, srv.URL+"/v1/messages/batches", `{}`, map[string]string{"x-api-key": secret})
	post(t, srv.URL+"/v1/messages/batches", `{}`, map[string]string{"x-api-key": "static-secret"})
	srv.Close()
	if got, want := strings.Join(owners, ","), "team-a,"; got != want {
		t.Errorf("owners %q, want %q", got, want)
	}
}
