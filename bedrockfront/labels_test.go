package bedrockfront

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/auth/bearer"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/bedrock"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/internal/metricstest"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/metrics"
	"github.com/claudebridge/claudebridge/mock"
	"github.com/claudebridge/claudebridge/pool"
)

func TestFrontDoorCallsAreCountedByTheirKeyAndThePoolMemberThatServedThem(t *testing.T) {
	store := &mock.Keys{}
	secret, err := store.Add(claudebridge.Key{Name: "team-a"})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := limits.NewKeyring(context.Background(), nil, store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(anthropicemu.New(anthropicemu.Options{APIKeys: []string{"sk-upstream"}}))
	t.Cleanup(api.Close)
	member := anthropicapi.New(anthropicapi.Options{BaseURL: api.URL, Key: anthropicapi.StaticKey("sk-upstream")})
	p := pool.New([]pool.Member{{Name: "anthropic", Upstream: member}}, pool.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m := metrics.New("bedrock")
	srv := httptest.NewTLSServer(New(Options{Upstream: limits.Upstream{Upstream: p}, Keyring: ring, Metrics: m}))
	t.Cleanup(srv.Close)
	client := bedrockruntime.New(bedrockruntime.Options{
		Region:                  "us-east-1",
		BaseEndpoint:            aws.String(srv.URL),
		HTTPClient:              bedrock.SDKHTTPClient(srv.Client()),
		Retryer:                 aws.NopRetryer{},
		BearerAuthTokenProvider: bearer.StaticTokenProvider{Token: bearer.Token{Value: secret}},
		AuthSchemePreference:    []string{"httpBearerAuth"},
	})
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnetBR), Messages: []types.Message{userText("Hi")}}
	if _, err := client.Converse(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	srv.Close() // the call is recorded once its handler returned
	f := metricstest.Scrape(t, m.Handler(""), "")
	labels := map[string]string{"door": "bedrock_converse", "key": "team-a", "member": "anthropic", "status": "200"}
	if got, want := f.Value("claudebridge_requests_total", labels), 1.0; got != want {
		t.Errorf("requests %v: %v, want %v", labels, got, want)
	}
}
