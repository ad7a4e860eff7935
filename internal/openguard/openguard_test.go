package openguard

import (
	"net/http/httptest"
	"testing"

	"github.com/claudebridge/claudebridge"
)

func check(g *Guard, host string, headers map[string]string) error {
	r := httptest.NewRequest("POST", "http://"+host+"/v1/messages", nil)
	r.Host = host
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return g.Check(r)
}

func TestAProgramOnThisMachineIsServed(t *testing.T) {
	g := New(true, nil)
	for _, host := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080", "LOCALHOST.", "app.localhost:1"} {
		if err := check(g, host, nil); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
}

func TestARequestForAnotherNameIsRefused(t *testing.T) {
	g := New(true, nil)
	err := check(g, "attacker.example:8080", nil)
	if got, want := claudebridge.ErrorCode(err), claudebridge.EPERMISSION; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
}

func TestAnotherNameIsServedWhenTheDoorIsNotOnLoopback(t *testing.T) {
	g := New(false, nil)
	if err := check(g, "gateway.internal:8080", nil); err != nil {
		t.Errorf("refused: %v", err)
	}
}

func TestAPageOfAnotherSiteIsRefused(t *testing.T) {
	g := New(true, nil)
	err := check(g, "127.0.0.1:8080", map[string]string{"Origin": "https://attacker.example"})
	if got, want := claudebridge.ErrorCode(err), claudebridge.EPERMISSION; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
}

func TestANullOriginIsRefused(t *testing.T) {
	g := New(true, nil)
	if err := check(g, "127.0.0.1:8080", map[string]string{"Origin": "null"}); err == nil {
		t.Error("Origin: null was served")
	}
}

func TestThePagesOwnOriginIsServed(t *testing.T) {
	g := New(true, nil)
	if err := check(g, "127.0.0.1:8080", map[string]string{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}); err != nil {
		t.Errorf("refused: %v", err)
	}
}

func TestAnotherPortOfLocalhostIsAnotherOrigin(t *testing.T) {
	g := New(true, nil)
	if err := check(g, "localhost:8080", map[string]string{"Origin": "http://localhost:3000"}); err == nil {
		t.Error("served")
	}
}

func TestAnAllowedOriginIsServed(t *testing.T) {
	g := New(true, []string{"https://app.example/"})
	if err := check(g, "127.0.0.1:8080", map[string]string{"Origin": "https://app.example", "Sec-Fetch-Site": "cross-site"}); err != nil {
		t.Errorf("refused: %v", err)
	}
}

func TestAnyOriginIsServedWhenStarIsAllowed(t *testing.T) {
	g := New(true, []string{"*"})
	if err := check(g, "127.0.0.1:8080", map[string]string{"Origin": "https://other.example"}); err != nil {
		t.Errorf("refused: %v", err)
	}
}

func TestACrossSiteRequestWithoutOriginIsRefused(t *testing.T) {
	g := New(true, nil)
	if err := check(g, "127.0.0.1:8080", map[string]string{"Sec-Fetch-Site": "cross-site"}); err == nil {
		t.Error("served")
	}
}
