package admin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge/admin"
	"github.com/claudebridge/claudebridge/mock"
)

func call(t *testing.T, h http.Handler, method, path, auth, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", "Bearer "+auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestWithoutAnAdminKeyTheAdminAPIIsNotFound(t *testing.T) {
	h := admin.New(&mock.Keys{}, "")
	w := call(t, h, "GET", "/admin/keys", "anything", "")
	if got, want := w.Code, 404; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
}

func TestAWrongAdminKeyIsRefused(t *testing.T) {
	h := admin.New(&mock.Keys{}, "admin-secret")
	for _, auth := range []string{"", "wrong"} {
		w := call(t, h, "GET", "/admin/keys", auth, "")
		if got, want := w.Code, 401; got != want {
			t.Errorf("auth %q: status %d, want %d", auth, got, want)
		}
	}
}

func TestAKeyIsCreatedShownOnceListedAndRevoked(t *testing.T) {
	store := &mock.Keys{}
	h := admin.New(store, "admin-secret")
	w := call(t, h, "POST", "/admin/keys", "admin-secret", `{"name":"ci bot","rpm":2,"models":["claude-haiku-4-5"]}`)
	if got, want := w.Code, 201; got != want {
		t.Fatalf("create: status %d, want %d: %s", got, want, w.Body)
	}
	var made admin.KeyJSON
	json.Unmarshal(w.Body.Bytes(), &made)
	if !strings.HasPrefix(made.Key, "cb-") {
		t.Errorf("key = %q, want cb-...", made.Key)
	}
	if got, want := made.RPM, 2; got != want {
		t.Errorf("rpm = %d, want %d", got, want)
	}
	w = call(t, h, "GET", "/admin/keys", "admin-secret", "")
	if strings.Contains(w.Body.String(), made.Key) {
		t.Error("the list shows the secret")
	}
	var list struct{ Data []admin.KeyJSON }
	json.Unmarshal(w.Body.Bytes(), &list)
	if got, want := len(list.Data), 1; got != want {
		t.Fatalf("keys = %d, want %d", got, want)
	}
	if got, want := list.Data[0].Prefix, made.Key[:9]; got != want {
		t.Errorf("prefix = %q, want %q", got, want)
	}
	w = call(t, h, "DELETE", "/admin/keys/ci%20bot", "admin-secret", "")
	if got, want := w.Code, 200; got != want {
		t.Fatalf("revoke: status %d, want %d: %s", got, want, w.Body)
	}
	w = call(t, h, "GET", "/admin/keys", "admin-secret", "")
	json.Unmarshal(w.Body.Bytes(), &list)
	if list.Data[0].RevokedAt == nil {
		t.Error("the revoked key has no revoked_at")
	}
	w = call(t, h, "DELETE", "/admin/keys/nobody", "admin-secret", "")
	if got, want := w.Code, 404; got != want {
		t.Errorf("revoke unknown: status %d, want %d", got, want)
	}
}

func TestAKeyWithABadFieldIsInvalid(t *testing.T) {
	h := admin.New(&mock.Keys{}, "admin-secret")
	for _, body := range []string{`{"name":""}`, `{"name":"x","rpm":-1}`, `{"name":"x","budget_usd":5}`, `{"name":"x","colour":"red"}`} {
		w := call(t, h, "POST", "/admin/keys", "admin-secret", body)
		if got, want := w.Code, 400; got != want {
			t.Errorf("%s: status %d, want %d", body, got, want)
		}
	}
}
