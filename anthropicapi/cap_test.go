package anthropicapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/internal/httpbody"
)

func TestAnAnswerDeclaringMoreThanTheCapIsAnErrorNotAnAllocation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<40)) // a terabyte, never sent
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
	}))
	defer srv.Close()
	up := New(Options{BaseURL: srv.URL, Key: StaticKey("k")})
	req, err := anthropic.ParseRequest([]byte(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}`), http.Header{}, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = up.Messages(context.Background(), req)
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINTERNAL; got != want {
		t.Fatalf("code %q (%v), want %q", got, err, want)
	}
	if httpbody.MaxUpstreamBytes >= 1<<40 {
		t.Fatal("the cap is above the declared length")
	}
}
