package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge/internal/metricstest"
)

// startPoolGateway starts a gateway whose UPSTREAMS are the Bedrock
// emulator (us-east-1) first and the Anthropic API emulator second. The
// message ids tell them apart: msg_bdrk_... from Bedrock, msg_01... from
// the Anthropic API.
func startPoolGateway(t *testing.T) (gateway, *server) {
	t.Helper()
	if claudebridgeBin == "" {
		t.Skip("claudebridge was not built")
	}
	name := "pool gateway " + nonce(t) // each run's own log
	url, err := start(name, claudebridgeBin, []string{
		"UPSTREAMS=bedrock:" + awsRegion + ",anthropic",
		"UPSTREAM_BREAKER_FAILURES=3",
		"UPSTREAM_BREAKER_COOLDOWN=2s",
		"RETRY_MAX_ATTEMPTS=1", // every move is the pool's
		"API_KEYS=" + gatewayKey,
		"ADMIN_KEY=" + adminKey,
		"DATABASE_URL=" + tempDir + "/pool.db",
		"LOG_LEVEL=debug",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=" + bedrockEmulatorURL,
		"AWS_ENDPOINT_URL_BEDROCK=" + bedrockEmulatorURL,
		"AWS_ACCESS_KEY_ID=" + awsKeyID,
		"AWS_SECRET_ACCESS_KEY=" + awsSecret,
		"ANTHROPIC_BASE_URL=" + anthropicEmulatorURL,
		"ANTHROPIC_API_KEY=" + upstreamAPIKey,
	}, "serve", "--listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return gateway{name: "pool", url: url, model: "claude-sonnet-4-5"}, serverNamed(name)
}

// servedBy posts body and returns which emulator answered: "bedrock" or
// "anthropic".
func servedBy(t *testing.T, gw gateway, body string) string {
	t.Helper()
	resp := postRaw(t, gw, "/v1/messages", body, nil)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("answered %d: %s", resp.StatusCode, b)
	}
	var m struct{ ID string }
	json.Unmarshal(b, &m)
	return emulatorOf(t, m.ID)
}

func emulatorOf(t *testing.T, id string) string {
	t.Helper()
	switch {
	case strings.HasPrefix(id, "msg_bdrk_"):
		return "bedrock"
	case strings.HasPrefix(id, "msg_01"):
		return "anthropic"
	}
	t.Fatalf("message id %q is neither emulator's", id)
	return ""
}

func say(gw gateway, text string) string {
	return fmt.Sprintf(`{"model":%q,"max_tokens":64,"messages":[{"role":"user","content":%q}]}`, gw.model, text)
}

// memberStates reads /readyz's members: name → state.
func memberStates(t *testing.T, gw gateway) map[string]string {
	t.Helper()
	resp, err := http.Get(gw.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ready struct {
		Upstreams []struct{ Name, State string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&ready); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range ready.Upstreams {
		out[u.Name] = u.State
	}
	return out
}

func TestAPoolFailsOverOpensAndClosesItsBreakerAndKeepsCachePrefixesTogether(t *testing.T) {
	gw, srv := startPoolGateway(t)
	bedrock := "bedrock:" + awsRegion
	n := nonce(t)

	if got, want := servedBy(t, gw, say(gw, "hello "+n)), "bedrock"; got != want {
		t.Fatalf("a healthy pool answered from %s, want %s first", got, want)
	}

	// A stream that fails on Bedrock after its first event stays Bedrock's:
	// the client sees its error, never a second message from the other.
	_, events, _ := rawStream(t, gw, `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"cut short `+n+` [[stream-error=2@`+awsRegion+`]]"}]}`, nil)
	if got, want := strings.Count(strings.Join(names(events), " "), "message_start"), 1; got != want {
		t.Errorf("%d message_start events after a failure mid-stream, want %d: %v", got, want, names(events))
	}
	if got, want := names(events)[len(names(events))-1], "error"; got != want {
		t.Errorf("the stream ends with %q, want %q", got, want)
	}
	var start struct{ Message struct{ ID string } }
	json.Unmarshal([]byte(events[0].data), &start)
	if got, want := emulatorOf(t, start.Message.ID), "bedrock"; got != want {
		t.Errorf("the broken stream came from %s, want %s", got, want)
	}

	// A stream Bedrock refuses before its first event comes whole from the
	// Anthropic API.
	_, events, err := rawStream(t, gw, `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"overloaded `+n+` [[overloaded@`+awsRegion+`]]"}]}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(events)[len(names(events))-1], "message_stop"; got != want {
		t.Errorf("the failed-over stream ends with %q, want %q", got, want)
	}
	json.Unmarshal([]byte(events[0].data), &start)
	if got, want := emulatorOf(t, start.Message.ID), "anthropic"; got != want {
		t.Errorf("the failed-over stream came from %s, want %s", got, want)
	}

	// Two more throttled calls: the third failure in a row opens
	// Bedrock's breaker, and plain calls go to the Anthropic API.
	for i := range 2 {
		if got, want := servedBy(t, gw, say(gw, fmt.Sprintf("throttled %d %s [[throttle@%s]]", i, n, awsRegion))), "anthropic"; got != want {
			t.Errorf("a call Bedrock throttles was answered by %s, want %s", got, want)
		}
	}
	if got, want := memberStates(t, gw)[bedrock], "open"; got != want {
		t.Errorf("after 3 failures Bedrock is %q, want %q", got, want)
	}
	if got, want := srv.waitLog("upstream breaker opened", 5*time.Second), true; got != want {
		t.Errorf("no log line for the breaker opening")
	}
	if got, want := servedBy(t, gw, say(gw, "while out "+n)), "anthropic"; got != want {
		t.Errorf("with Bedrock out a plain call was answered by %s, want %s", got, want)
	}

	// After the cooldown one probe goes to Bedrock and closes the breaker.
	if !srv.waitLog("upstream breaker half-open", 10*time.Second) {
		t.Fatalf("Bedrock is not half-open 10 s after a 2 s cooldown: %v", memberStates(t, gw))
	}
	if got, want := servedBy(t, gw, say(gw, "probe "+n)), "bedrock"; got != want {
		t.Errorf("the probe was answered by %s, want %s", got, want)
	}
	if got, want := memberStates(t, gw)[bedrock], "closed"; got != want {
		t.Errorf("after the probe Bedrock is %q, want %q", got, want)
	}
	if got, want := srv.waitLog("upstream breaker closed", 5*time.Second), true; got != want {
		t.Errorf("no log line for the breaker closing")
	}

	// Requests sharing a cached prefix stay on one member; different
	// prefixes spread over both.
	used := map[string]bool{}
	for i := range 8 {
		var first string
		for turn := range 3 {
			body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":64,`+
				`"system":[{"type":"text","text":"You are assistant %d.","cache_control":{"type":"ephemeral"}}],`+
				`"messages":[{"role":"user","content":"turn %d of %s"}]}`, i, turn, n)
			by := servedBy(t, gw, body)
			if turn == 0 {
				first = by
				used[by] = true
			} else if by != first {
				t.Errorf("prefix %d: turn %d answered by %s, turn 0 by %s", i, turn, by, first)
			}
		}
	}
	if got, want := len(used), 2; got != want {
		t.Errorf("8 prefixes went to %d members, want %d", got, want)
	}

	req, _ := http.NewRequest("GET", gw.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	f := metricstest.Parse(t, resp)
	if got, want := f.Value("claudebridge_upstream_failovers_total", map[string]string{"member": bedrock}), 3.0; got != want {
		t.Errorf("failovers from Bedrock %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_upstream_member_state", map[string]string{"member": bedrock, "state": "closed"}), 1.0; got != want {
		t.Errorf("Bedrock's closed state %v, want %v", got, want)
	}
}
