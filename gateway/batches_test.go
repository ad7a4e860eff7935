package gateway_test

import (
	"net/http"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/gateway"
)

// batchesRecorder stands in for the Message Batches API: it answers 200
// with the path it was handed.
func batchesRecorder(paths *[]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*paths = append(*paths, r.Method+" "+r.URL.Path)
	})
}

func TestTheBatchesAPIIsHandedOnOnlyWithAKeyAndAVersion(t *testing.T) {
	var handed []string
	srv := newGateway(t, func(g *gateway.Gateway) {
		g.Keys = claudebridge.NewClientKeys("client-key")
		g.Batches = batchesRecorder(&handed)
	})
	for _, c := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no key", map[string]string{}, http.StatusUnauthorized},
		{"no version", map[string]string{"x-api-key": "client-key", "anthropic-version": ""}, http.StatusBadRequest},
		{"key and version", map[string]string{"x-api-key": "client-key"}, http.StatusOK},
	} {
		resp := post(t, srv.URL+"/v1/messages/batches/msgbatch_01x/cancel", `{}`, c.header)
		if got, want := resp.StatusCode, c.status; got != want {
			t.Errorf("%s: status %d, want %d", c.name, got, want)
		}
		if resp.StatusCode != http.StatusOK {
			readError(t, resp)
		}
	}
	if got, want := len(handed), 1; got != want {
		t.Fatalf("handed %d requests, want %d: %q", got, want, handed)
	}
	if got, want := handed[0], "POST /v1/messages/batches/msgbatch_01x/cancel"; got != want {
		t.Errorf("handed %q, want %q", got, want)
	}
}

func TestBatchesPathsAreNotFoundWithoutABatchesHandler(t *testing.T) {
	srv := newGateway(t, nil)
	resp := post(t, srv.URL+"/v1/messages/batches", `{"requests":[]}`, nil)
	if got, want := resp.StatusCode, http.StatusNotFound; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := readError(t, resp).Error.Type, "not_found_error"; got != want {
		t.Errorf("error type %q, want %q", got, want)
	}
}
