package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Each test here replays an attack on a `claudebridge serve` of its own
// (or the shared ones) and expects the refusal.

const messagesBody = `{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"Hello"}]}`

// startOpenServe starts a serve on loopback with no client key, on the
// Anthropic emulator, with env on top.
func startOpenServe(t *testing.T, name string, env ...string) string {
	t.Helper()
	url, err := start(name, claudebridgeBin, append([]string{
		"AI_PROVIDER=anthropic",
		"ANTHROPIC_BASE_URL=" + anthropicEmulatorURL,
		"ANTHROPIC_API_KEY=" + upstreamAPIKey,
		"DATABASE_URL=" + filepath.Join(tempDir, strings.ReplaceAll(name, " ", "-")+".db"),
	}, env...), "serve", "--listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// send makes one request to base+path with the given Host (when not
// empty) and headers, and returns the status, the headers and the body.
func send(t *testing.T, method, base, path, host, body string, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func anthropicErrorType(body string) string {
	var e struct {
		Error struct{ Type string } `json:"error"`
	}
	json.Unmarshal([]byte(body), &e)
	return e.Error.Type
}

func TestAnOpenGatewayRefusesOtherSitesAndReboundNames(t *testing.T) {
	base := startOpenServe(t, "open gateway")
	model := "/model/anthropic.claude-sonnet-4-5-20250929-v1:0/invoke"
	invokeBody := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[{"role":"user","content":"Hello"}]}`
	for _, c := range []struct {
		name, host string
		headers    map[string]string
	}{
		{"DNS rebinding", "rebound.example.test:8080", nil},
		{"a page of another site", "", map[string]string{"Origin": "https://attacker.example.test", "Sec-Fetch-Site": "cross-site"}},
		{"a cross-site request without Origin", "", map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		status, _, body := send(t, "POST", base, "/v1/messages", c.host, messagesBody, c.headers)
		if status != http.StatusForbidden || anthropicErrorType(body) != "permission_error" {
			t.Errorf("/v1/messages, %s: %d %s; want 403 permission_error", c.name, status, body)
		}
		status, h, body := send(t, "POST", base, model, c.host, invokeBody, c.headers)
		if status != http.StatusForbidden || !strings.HasPrefix(h.Get("X-Amzn-ErrorType"), "AccessDeniedException") {
			t.Errorf("/model, %s: %d %s %s; want 403 AccessDeniedException", c.name, status, h.Get("X-Amzn-ErrorType"), body)
		}
	}
	// The programs of this machine are served as before.
	if status, _, body := send(t, "POST", base, "/v1/messages", "", messagesBody, nil); status != http.StatusOK {
		t.Errorf("from this machine: %d %s", status, body)
	}
	if status, _, body := send(t, "POST", base, "/v1/messages", "", messagesBody, map[string]string{"Origin": base}); status != http.StatusOK {
		t.Errorf("from the server's own origin: %d %s", status, body)
	}
}

// headOnly sends the head of a request announcing a large body, sends no
// body, and returns the status line of the answer: a server that waits for
// the body before it authenticates answers nothing.
func headOnly(t *testing.T, base, path string, headers map[string]string) string {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\n", path, u.Host)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	io.WriteString(conn, b.String())
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: no answer before the body: %v", path, err)
	}
	return strings.TrimSpace(line)
}

func TestAStrangerIsRefusedBeforeItsBodyIsSent(t *testing.T) {
	for _, c := range []struct {
		path    string
		headers map[string]string
	}{
		{"/v1/messages", map[string]string{"x-api-key": "wrong"}},
		{"/v1/messages/count_tokens", nil},
		{"/model/anthropic.claude-sonnet-4-5-20250929-v1:0/invoke", map[string]string{"Authorization": "Bearer wrong"}},
		{"/model/anthropic.claude-sonnet-4-5-20250929-v1:0/converse", nil},
		{"/api/conversations", nil},
	} {
		line := headOnly(t, anthropicGatewayURL, c.path, c.headers)
		if !strings.Contains(line, " 401 ") && !strings.Contains(line, " 403 ") {
			t.Errorf("%s: %q; want 401 or 403 before the body", c.path, line)
		}
	}
}

// signedInvoke is an InvokeModel request to the shared Anthropic gateway's
// front door, signed with its access key pair over payloadHash, which is
// also declared in x-amz-content-sha256.
func signedInvoke(t *testing.T, body []byte, payloadHash string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", anthropicGatewayURL+"/model/anthropic.claude-sonnet-4-5-20250929-v1:0/invoke", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: awsKeyID, SecretAccessKey: awsSecret},
		req, payloadHash, "bedrock", awsRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestTheFrontDoorRefusesABodyItsSignatureDoesNotCover(t *testing.T) {
	body := []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[{"role":"user","content":"Hello"}]}`)
	swapped := []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":4000,"messages":[{"role":"user","content":"Spend"}]}`)
	sum := sha256.Sum256(body)
	for name, req := range map[string]*http.Request{
		"UNSIGNED-PAYLOAD": signedInvoke(t, swapped, "UNSIGNED-PAYLOAD"),
		"a swapped body": func() *http.Request {
			r := signedInvoke(t, body, hex.EncodeToString(sum[:]))
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(swapped)), int64(len(swapped))
			return r
		}(),
	} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("X-Amzn-ErrorType"); !strings.HasPrefix(got, "InvalidSignatureException") {
			t.Errorf("%s: %d %s %s; want InvalidSignatureException", name, resp.StatusCode, got, b)
		}
	}
}

// wsStatus opens /api/ws from origin and returns the status of the answer.
func wsStatus(t *testing.T, base, origin string, jar http.CookieJar) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Origin", origin)
	resp, err := (&http.Client{Jar: jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStarInCORSAllowOriginsDoesNotOpenTheChat(t *testing.T) {
	base := startOpenServe(t, "chat with cors star", "CORS_ALLOW_ORIGINS=*")
	if got := wsStatus(t, base, "https://attacker.example.test", nil); got != http.StatusForbidden {
		t.Errorf("WebSocket from another site: %d, want 403", got)
	}
	status, _, body := send(t, "POST", base, "/api/login", "", `{"name":"a","password":"b"}`, map[string]string{"Origin": "https://attacker.example.test"})
	if status != http.StatusForbidden {
		t.Errorf("login from another site: %d %s, want 403", status, body)
	}
	// The API, which CORS_ALLOW_ORIGINS is for, still takes that origin.
	status, h, body := send(t, "POST", base, "/v1/messages", "", messagesBody, map[string]string{"Origin": "https://attacker.example.test"})
	if status != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("/v1/messages from an allowed origin: %d %s", status, body)
	}
}

func TestTrustedUserHeaderIsTakenOnlyFromTrustedProxies(t *testing.T) {
	db := filepath.Join(tempDir, "trusted.db")
	cmd := exec.Command(claudebridgeBin, "serve", "--listen", "0.0.0.0:0")
	cmd.Env = append(baseEnv(), "AI_PROVIDER=anthropic", "ANTHROPIC_BASE_URL="+anthropicEmulatorURL, "ANTHROPIC_API_KEY="+upstreamAPIKey,
		"API_KEYS="+gatewayKey, "DATABASE_URL="+db, "TRUSTED_USER_HEADER=X-Forwarded-User")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "TRUSTED_PROXIES") {
		t.Errorf("serve on 0.0.0.0 with TRUSTED_USER_HEADER and no TRUSTED_PROXIES: %v\n%s", err, out)
	}
	base := startOpenServe(t, "trusted header elsewhere", "TRUSTED_USER_HEADER=X-Forwarded-User", "TRUSTED_PROXIES=192.0.2.1")
	if status, _, body := send(t, "GET", base, "/api/me", "", "", map[string]string{"X-Forwarded-User": "admin"}); status != http.StatusUnauthorized {
		t.Errorf("the header from a peer that is no trusted proxy: %d %s, want 401", status, body)
	}
	base = startOpenServe(t, "trusted header here", "TRUSTED_USER_HEADER=X-Forwarded-User")
	addUser(t, "trusted-header-here.db", "alice", "correct horse")
	if status, _, body := send(t, "GET", base, "/api/me", "", "", map[string]string{"X-Forwarded-User": "alice"}); status != http.StatusForbidden {
		t.Errorf("the header naming a user with a password: %d %s, want 403", status, body)
	}
}

func TestWrongPasswordsAreThrottledAndRemovedUsersLoggedOut(t *testing.T) {
	addUser(t, "login-throttle.db", "alice", "correct horse") // before start: with no user, loopback is local mode
	base := startOpenServe(t, "login throttle")
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Post(base+"/api/login", "application/json", strings.NewReader(`{"name":"alice","password":"correct horse"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	for i := range 5 {
		status, _, _ := send(t, "POST", base, "/api/login", "", `{"name":"alice","password":"guess`+fmt.Sprint(i)+`"}`, nil)
		if status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, status)
		}
	}
	status, h, _ := send(t, "POST", base, "/api/login", "", `{"name":"alice","password":"correct horse"}`, nil)
	if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Errorf("after 5 wrong passwords: %d, Retry-After %q; want 429 with Retry-After", status, h.Get("Retry-After"))
	}
	remove := exec.Command(claudebridgeBin, "users", "remove", "alice")
	remove.Env = append(baseEnv(), "DATABASE_URL="+filepath.Join(tempDir, "login-throttle.db"))
	if out, err := remove.CombinedOutput(); err != nil {
		t.Fatalf("users remove: %v\n%s", err, out)
	}
	resp, err = client.Get(base + "/api/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a removed user's session: %d, want 401", resp.StatusCode)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(tempDir, "login-throttle.db"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("database file mode %v, want 0600", fi.Mode().Perm())
		}
	}
}

func TestAnUpstreamThatDeclaresAHugeAnswerIsRefused(t *testing.T) {
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1099511627776") // a terabyte, never sent
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
	}))
	defer huge.Close()
	base, err := start("huge upstream", claudebridgeBin, []string{
		"AI_PROVIDER=anthropic", "ANTHROPIC_BASE_URL=http://user:s3cret-in-url@" + strings.TrimPrefix(huge.URL, "http://"),
		"ANTHROPIC_API_KEY=" + upstreamAPIKey, "RETRY_MAX_ATTEMPTS=1",
		"DATABASE_URL=" + filepath.Join(tempDir, "huge.db"), "MAX_TOKENS=16", "ANTHROPIC_MODEL_ID=claude-sonnet-4-5",
	}, "serve", "--listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := send(t, "POST", base, "/v1/messages", "", messagesBody, nil)
	if status < 500 || anthropicErrorType(body) != "api_error" {
		t.Errorf("%d %s; want a 5xx api_error", status, body)
	}
	if status, _, _ := send(t, "GET", base, "/healthz", "", "", nil); status != http.StatusOK {
		t.Errorf("the server after the answer: /healthz %d", status)
	}
	if log := serverNamed("huge upstream").log(); strings.Contains(log, "s3cret-in-url") {
		t.Errorf("the log shows the password of ANTHROPIC_BASE_URL:\n%s", log)
	}
}
