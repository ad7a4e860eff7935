package bedrockfront

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/mock"
)

// keyedFrontDoor serves the front door over TLS (the SDK sends bearer
// tokens over HTTPS only) with the stored key k, and returns an SDK client
// for a bearer token.
func keyedFrontDoor(t *testing.T, k claudebridge.Key) (client func(token string) *bedrockruntime.Client, secret string) {
	t.Helper()
	store := &mock.Keys{}
	secret, err := store.Add(k)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := limits.NewKeyring(context.Background(), nil, store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(anthropicemu.New(anthropicemu.Options{APIKeys: []string{"sk-upstream"}}))
	t.Cleanup(api.Close)
	up := limits.Upstream{Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: api.URL, Key: anthropicapi.StaticKey("sk-upstream")})}
	srv := httptest.NewTLSServer(New(Options{Upstream: up, Keyring: ring}))
	t.Cleanup(srv.Close)
	return func(token string) *bedrockruntime.Client { return bearerClient(srv, token) }, secret
}

func TestAVirtualKeyIsABedrockAPIKeyWithItsRequestLimit(t *testing.T) {
	client, secret := keyedFrontDoor(t, claudebridge.Key{Name: "ci", RPM: 1})
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnetBR), Messages: []types.Message{userText("Hi")}}
	if _, err := client(secret).Converse(context.Background(), in); err != nil {
		t.Fatalf("first call: %v", err)
	}
	_, err := client(secret).Converse(context.Background(), in)
	var throttled *types.ThrottlingException
	if !errors.As(err, &throttled) {
		t.Errorf("second call: %v, want ThrottlingException", err)
	}
	_, err = client("cb-not-a-key").Converse(context.Background(), in)
	var denied *types.AccessDeniedException
	if !errors.As(err, &denied) {
		t.Errorf("unknown key: %v, want AccessDeniedException", err)
	}
}

func TestAVirtualKeyIsDeniedAModelOffItsList(t *testing.T) {
	client, secret := keyedFrontDoor(t, claudebridge.Key{Name: "ci", Models: []string{"claude-haiku-4-5"}})
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnetBR), Messages: []types.Message{userText("Hi")}}
	_, err := client(secret).Converse(context.Background(), in)
	var denied *types.AccessDeniedException
	if !errors.As(err, &denied) {
		t.Fatalf("unlisted model: %v, want AccessDeniedException", err)
	}
	if got, want := aws.ToString(denied.Message), "This API key may not use the model claude-sonnet-4-5-20250929"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}
