package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/claudebridge/claudebridge"
)

func refuseAll(*http.Request) error {
	return claudebridge.Errorf(claudebridge.EPERMISSION, "not from this site")
}

func TestCheckedAnswersARefusalAsAPermissionError(t *testing.T) {
	h := Checked(http.NotFoundHandler(), refuseAll)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/messages", nil))
	if got, want := w.Code, http.StatusForbidden; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	var body struct {
		Type  string `json:"type"`
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if got, want := body.Error.Type, "permission_error"; got != want {
		t.Errorf("error type %q, want %q", got, want)
	}
	if w.Header().Get("request-id") == "" {
		t.Error("no request-id")
	}
}

func TestCheckedLeavesTheHealthChecksAlone(t *testing.T) {
	h := Checked(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }), refuseAll)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if got, want := w.Code, http.StatusOK; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
}
