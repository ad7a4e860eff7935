package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/bedrock"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/mock"
	"github.com/claudebridge/claudebridge/pool"
	"github.com/claudebridge/claudebridge/retry"
)

// TestReadyAsksTheUpstream: /readyz is ready when the upstream's key loads
// from Secrets Manager, and not ready when the secret is not there, through
// the retry layer that serve puts between them.
func TestReadyAsksTheUpstream(t *testing.T) {
	aws := httptest.NewServer(bedrockemu.New(bedrockemu.Options{
		Secrets: map[string]string{"prod/anthropic": `{"api_key":"sk-ready"}`},
	}))
	defer aws.Close()
	sm := secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: &aws.URL, HTTPClient: bedrock.SDKHTTPClient(aws.Client()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	for _, c := range []struct {
		secret string
		status int
	}{{"prod/anthropic", http.StatusOK}, {"prod/missing", 529}} {
		up := anthropicapi.New(anthropicapi.Options{BaseURL: "http://127.0.0.1:1", Key: anthropicapi.SecretsManagerKey(sm, c.secret)})
		srv := httptest.NewServer(&gateway.Gateway{Upstream: &retry.Upstream{Next: up}})
		resp, err := http.Get(srv.URL + "/readyz")
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("secret %s: /readyz %d, want %d", c.secret, resp.StatusCode, c.status)
		}
	}
}

// TestReadyNamesEveryPoolMemberWithItsState: with UPSTREAMS, /readyz lists
// the members and their breakers; it stays ready while one is closed.
func TestReadyNamesEveryPoolMemberWithItsState(t *testing.T) {
	failing := &mock.Upstream{MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
		return nil, claudebridge.Errorf(claudebridge.EOVERLOADED, "overloaded")
	}}
	working := &mock.Upstream{MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
		return &claudebridge.Response{Body: []byte(`{}`)}, nil
	}}
	p := pool.New([]pool.Member{{Name: "bedrock:us-east-1", Upstream: failing}, {Name: "anthropic", Upstream: working}},
		pool.Options{Failures: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	p.Messages(context.Background(), &claudebridge.Request{Model: "claude-sonnet-4-5"})
	srv := httptest.NewServer(&gateway.Gateway{Upstream: &retry.Upstream{Next: p}, Members: p.States})
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("/readyz %d, want %d", got, want)
	}
	want := `{"status":"ready","upstreams":[{"name":"bedrock:us-east-1","state":"open"},{"name":"anthropic","state":"closed"}]}`
	if got := strings.TrimSpace(string(body)); got != want {
		t.Errorf("/readyz answered\n%s\nwant\n%s", got, want)
	}
}
