package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/auth/bearer"
)

// keysGateway is the gateway whose keys are virtual ones.
func keysGateway() gateway {
	return gateway{name: "keys", url: keysGatewayURL, model: "claude-sonnet-4-5"}
}

// keysCLI runs `claudebridge keys args...` on the keys gateway's database
// and returns its stdout.
func keysCLI(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSpace(runCLI(t, []string{"DATABASE_URL=" + keysDB}, append([]string{"keys"}, args...)...))
}

// runCLI runs `claudebridge args...` with env on top of a clean one and
// returns its stdout; it fails t if the command fails.
func runCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(claudebridgeBin, args...)
	cmd.Env = append(baseEnv(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("claudebridge %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// adminCreate makes a key through the admin API and returns its secret.
func adminCreate(t *testing.T, body string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", keysGatewayURL+"/admin/keys", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var made struct{ Key string }
	json.NewDecoder(resp.Body).Decode(&made)
	if resp.StatusCode != http.StatusCreated || made.Key == "" {
		t.Fatalf("POST /admin/keys %s: status %d", body, resp.StatusCode)
	}
	return made.Key
}

// modelsStatus is the status of GET /v1/models with key: a call that
// counts against no limit, to watch a key come and go.
func modelsStatus(t *testing.T, key string) int {
	t.Helper()
	return modelsStatusAt(t, keysGatewayURL, key)
}

// within polls f every 20 ms until it is true, and returns how long that
// took; it fails the test after limit.
func within(t *testing.T, limit time.Duration, what string, f func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !f() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		<-tick.C
	}
	return time.Since(start)
}

func TestAKeyMadeByTheCLIWorksWithinASecondLimitsAndIsRefusedWithinASecondOfRevocation(t *testing.T) {
	name := "cli-" + strings.ReplaceAll(nonce(t), " ", "-")
	name = strings.Trim(strings.NewReplacer("(", "", ")", "").Replace(name), "-")
	secret := keysCLI(t, "create", "--name", name, "--rpm", "2", "--tpm", "100000")
	// serve reads the keys' version every second: a process start and a
	// request's round trip are the slack.
	took := within(t, 1500*time.Millisecond, "the new key is taken", func() bool { return modelsStatus(t, secret) == 200 })
	t.Logf("the new key was taken after %s", took)

	client := newClient(keysGateway(), option.WithAPIKey(secret))
	for i := range 2 {
		if _, err := client.Messages.New(ctxFor(t), userText("claude-sonnet-4-5", "Hi "+nonce(t))); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	_, err := client.Messages.New(ctxFor(t), userText("claude-sonnet-4-5", "Hi "+nonce(t)))
	apiErr := wantAPIError(t, err, 429, "rate_limit_error")
	h := apiErr.Response.Header
	if h.Get("retry-after") == "" {
		t.Error("429 without retry-after")
	}
	if got, want := h.Get("anthropic-ratelimit-requests-limit"), "2"; got != want {
		t.Errorf("requests-limit = %q, want %q", got, want)
	}
	if got, want := h.Get("anthropic-ratelimit-requests-remaining"), "0"; got != want {
		t.Errorf("requests-remaining = %q, want %q", got, want)
	}
	if _, err := time.Parse(time.RFC3339, h.Get("anthropic-ratelimit-tokens-reset")); err != nil {
		t.Errorf("tokens-reset: %v", err)
	}

	keysCLI(t, "revoke", name)
	took = within(t, 1500*time.Millisecond, "the revoked key is refused", func() bool { return modelsStatus(t, secret) == 401 })
	t.Logf("the revoked key was refused after %s", took)
	if list := keysCLI(t, "list"); !strings.Contains(list, name) || strings.Contains(list, secret) {
		t.Errorf("keys list: want the name and no secret:\n%s", list)
	}
}

func TestFiftyConcurrentSDKCallsOfAKeyWithRPM10LetExactlyTenThrough(t *testing.T) {
	secret := adminCreate(t, `{"name":"fifty-`+time.Now().Format("150405.000000")+`","rpm":10}`)
	within(t, 1500*time.Millisecond, "the new key is taken", func() bool { return modelsStatus(t, secret) == 200 })
	client := newClient(keysGateway(), option.WithAPIKey(secret))
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for i := range 50 {
		wg.Go(func() {
			_, err := client.Messages.New(ctxFor(t), userText("claude-sonnet-4-5", "Hi "+nonce(t)+string(rune('a'+i%26))))
			var apiErr *anthropic.Error
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.As(err, &apiErr) && apiErr.StatusCode == 429:
				limited++
			default:
				t.Errorf("call: %v", err)
			}
		})
	}
	wg.Wait()
	if got, want := ok, 10; got != want {
		t.Errorf("answered = %d, want %d", got, want)
	}
	if got, want := limited, 40; got != want {
		t.Errorf("429s = %d, want %d", got, want)
	}
}

func TestAVirtualKeyIsABedrockAPIKeyForTheAWSSDK(t *testing.T) {
	secret := adminCreate(t, `{"name":"bedrock-`+time.Now().Format("150405.000000")+`","models":["claude-sonnet-4-5-20250929"]}`)
	within(t, 1500*time.Millisecond, "the new key is taken", func() bool { return modelsStatus(t, secret) == 200 })
	// The Go SDK sends a bearer token over HTTPS only, as a deployment
	// behind TLS has it: a TLS proxy in front of the gateway.
	target, _ := url.Parse(keysGatewayURL)
	proxy := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	defer proxy.Close()
	client := func(token string) *bedrockruntime.Client {
		return bedrockruntime.New(bedrockruntime.Options{
			Region:                  awsRegion,
			BaseEndpoint:            aws.String(proxy.URL),
			HTTPClient:              &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: proxy.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}}},
			Retryer:                 aws.NopRetryer{},
			BearerAuthTokenProvider: bearer.StaticTokenProvider{Token: bearer.Token{Value: token}},
			AuthSchemePreference:    []string{"httpBearerAuth"},
		})
	}
	msg := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hi " + nonce(t)}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := client(secret).Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), Messages: msg})
	if err != nil {
		t.Fatalf("converse with the key: %v", err)
	}
	if out.Usage == nil || aws.ToInt32(out.Usage.OutputTokens) == 0 {
		t.Error("no output tokens")
	}
	_, err = client(secret).Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String("us.anthropic.claude-haiku-4-5-20251001-v1:0"), Messages: msg})
	var denied *types.AccessDeniedException
	if !errors.As(err, &denied) {
		t.Errorf("a model off the key's list: %v, want AccessDeniedException", err)
	}
	_, err = client("cb-not-a-key").Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), Messages: msg})
	if !errors.As(err, &denied) {
		t.Errorf("an unknown key: %v, want AccessDeniedException", err)
	}
}

func TestTheAdminAPIIsNotFoundWithoutAnAdminKey(t *testing.T) {
	req, _ := http.NewRequest("GET", anthropicGatewayURL+"/admin/keys", nil)
	req.Header.Set("Authorization", "Bearer anything")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, 404; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
}
