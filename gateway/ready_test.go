package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/bedrock"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
	"github.com/claudebridge/claudebridge/gateway"
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
