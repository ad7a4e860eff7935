package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge/internal/pgtest"
)

// The binary TestMain built and its temporary folder (set by startAll).
var claudebridgeBin, tempDir string

// chromiumPath is Debian's chromium, which the browser tests drive.
const chromiumPath = "/usr/bin/chromium"

// The users of the chat server with login. Made up for the tests.
var browserUsers = [2][2]string{{"alice", "alice-e2e-password"}, {"bob", "bob-e2e-password"}}

// TestBrowser runs the browser tests of e2e/browser (node --test, headless
// Chromium through playwright-core) against two chat servers on the
// Anthropic emulator: one in local mode (loopback, no user: no login) and
// one with two users made by `claudebridge users add`.
func TestBrowser(t *testing.T) {
	requireBrowser(t)
	dir := filepath.Join(repoRoot(), "e2e", "browser")
	localURL, err := startChat(t, "chat local", "chat-local.db")
	if err != nil {
		t.Fatal(err)
	}
	loginDB := "chat-login.db"
	for _, u := range browserUsers {
		addUser(t, loginDB, u[0], u[1])
	}
	loginURL, err := startChat(t, "chat login", loginDB)
	if err != nil {
		t.Fatal(err)
	}

	env := []string{
		"CHAT_URL=" + localURL,
		"CHAT_URL_LOGIN=" + loginURL,
		"CHAT_USER_A=" + browserUsers[0][0], "CHAT_PASS_A=" + browserUsers[0][1],
		"CHAT_USER_B=" + browserUsers[1][0], "CHAT_PASS_B=" + browserUsers[1][1],
	}
	runNodeTests(t, dir, env, []string{"chat local", "chat login"})

	// The login server's database, filled by the tests above, copied into
	// PostgreSQL and served by another serve: the page shows the same.
	t.Run("MigratedToPostgreSQL", func(t *testing.T) {
		pg := pgtest.URL(t)
		runCLI(t, nil, "migrate", "--from", filepath.Join(tempDir, loginDB), "--to", pg)
		migratedURL, err := start("chat migrated", claudebridgeBin, append(chatEnv(), "DATABASE_URL="+pg), "serve", "--listen", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		runNodeTests(t, dir, append(env, "MIGRATED_URL="+migratedURL), []string{"chat login", "chat migrated"}, "migrated.mjs")
	})
}

// runNodeTests runs `node --test` in dir (on files, or the folder's
// *.test.mjs) with env, and fails t with the servers' logs if they fail.
func runNodeTests(t *testing.T, dir string, env, servers []string, files ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"--test", "--test-reporter=spec", "--test-concurrency=1"}, files...)...)
	cmd.Dir = dir
	cmd.SysProcAttr = childAttr()
	// Kill the whole group (node and the Chromium it started) on timeout.
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(baseEnv(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	if err != nil {
		for _, name := range servers {
			lines, _ := serverNamed(name).logSince(0)
			t.Logf("the %s server's log:\n%s", name, tail(lines, 60))
		}
		t.Fatalf("node --test failed: %v", err)
	}
	if m := nodeSummary.FindStringSubmatch(string(out)); m == nil || m[1] == "0" {
		t.Fatalf("node --test ran no test")
	}
}

// requireBrowser skips t (fails it with CLAUDEBRIDGE_NODE_TESTS=required)
// unless node, e2e/browser's packages and Chromium are there.
func requireBrowser(t *testing.T) {
	t.Helper()
	dir := filepath.Join(repoRoot(), "e2e", "browser")
	required := os.Getenv("CLAUDEBRIDGE_NODE_TESTS") == "required"
	missing := func(what string) {
		msg := what + ": run `npm ci` in e2e/browser (make node-deps) and install Debian's chromium to run the browser tests"
		if required {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		missing("e2e/browser/node_modules is missing")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing(chromiumPath + " is missing")
	}
}

// startChat starts a chat-enabled claudebridge serve on the Anthropic
// emulator with its own database in the test's temporary folder. The
// process is stopped by stopAll with the others.
func startChat(t *testing.T, name, db string) (string, error) {
	t.Helper()
	if claudebridgeBin == "" {
		return "", fmt.Errorf("TestMain did not build claudebridge")
	}
	return start(name, claudebridgeBin, append(chatEnv(), "DATABASE_URL="+filepath.Join(tempDir, db)), "serve", "--listen", "127.0.0.1:0")
}

// chatEnv is the settings of the chat servers, less their database.
func chatEnv() []string {
	return []string{
		"AI_PROVIDER=anthropic",
		"ANTHROPIC_BASE_URL=" + anthropicEmulatorURL,
		"ANTHROPIC_API_KEY=" + upstreamAPIKey,
		"LOG_LEVEL=debug",
	}
}

// addUser runs `claudebridge users add NAME` with the password on stdin.
func addUser(t *testing.T, db, name, password string) {
	t.Helper()
	cmd := exec.Command(claudebridgeBin, "users", "add", name)
	cmd.Env = append(baseEnv(), "DATABASE_URL="+filepath.Join(tempDir, db))
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("claudebridge users add %s: %v\n%s", name, err, out)
	}
}
