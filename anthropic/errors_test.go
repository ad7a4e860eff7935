package anthropic

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

func TestStatusAndCodeAgree(t *testing.T) {
	for _, code := range []string{claudebridge.EINVALID, claudebridge.EAUTH, claudebridge.EBILLING, claudebridge.EPERMISSION,
		claudebridge.ENOTFOUND, claudebridge.ETOOLARGE, claudebridge.ERATELIMIT, claudebridge.EOVERLOADED, claudebridge.EINTERNAL} {
		_, typ := Status(code)
		if Code(typ) != code {
			t.Errorf("%s → %s → %s", code, typ, Code(typ))
		}
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, &claudebridge.Error{Code: claudebridge.ERATELIMIT, Message: "slow down", RetryAfter: 1500 * time.Millisecond}, "req_1")
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("status %d retry-after %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	var body struct {
		Type      string
		Error     struct{ Type, Message string }
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "error" || body.Error.Type != "rate_limit_error" || body.Error.Message != "slow down" || body.RequestID != "req_1" {
		t.Fatalf("%+v", body)
	}
	rec = httptest.NewRecorder()
	WriteError(rec, errors.New("secret detail"), "")
	if rec.Code != 500 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error.Message == "secret detail" {
		t.Fatalf("internal errors must not show their text: %d %s", rec.Code, rec.Body)
	}
}
