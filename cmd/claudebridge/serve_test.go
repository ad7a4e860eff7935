package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
)

// TestBedrockOverTLSWithCABundle runs the Bedrock upstream the way an
// operator behind a TLS-inspecting proxy does: the endpoint's certificate is
// trusted through AWS_CA_BUNDLE, which the upstream client must honour.
func TestBedrockOverTLSWithCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(bedrockemu.New(bedrockemu.Options{Credentials: map[string]string{"AKIDTEST": "secret"}}))
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"HOME": t.TempDir(), "AWS_CA_BUNDLE": bundle, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": srv.URL, "AWS_ENDPOINT_URL_BEDROCK": srv.URL,
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
	} {
		t.Setenv(k, v)
	}
	cfg, err := loadConfig(os.Getenv)
	if err != nil || cfg.Provider != "bedrock" {
		t.Fatalf("%v %v", cfg, err)
	}
	up, _, err := newUpstream(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"hello"}]}`)
	r := &claudebridge.Request{Model: "claude-sonnet-4-5", Body: body}
	json.Unmarshal(body, &r.Fields)
	resp, err := up.Messages(context.Background(), r)
	if err != nil {
		t.Fatalf("a call over TLS trusted through AWS_CA_BUNDLE failed: %v", err)
	}
	if resp.Usage.OutputTokens == 0 {
		t.Fatalf("no answer: %s", resp.Body)
	}
}
