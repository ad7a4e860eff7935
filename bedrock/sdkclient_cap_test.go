package bedrock

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/httpbody"
)

func TestAnAnswerDeclaringMoreThanTheCapIsRefusedUnread(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(httpbody.MaxUpstreamBytes+1))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/model/m/invoke", nil)
	resp, err := SDKHTTPClient(srv.Client()).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("no error")
	}
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINTERNAL; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
}

func TestAnAnswerWithinTheCapIsPassedOn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/model/m/invoke", nil)
	resp, err := SDKHTTPClient(srv.Client()).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
}
