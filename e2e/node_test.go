package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNodeClients runs the Node tests of e2e/node (node --test) against the
// servers TestMain started: the Anthropic TypeScript SDK through both
// gateways, the AWS SDK for JavaScript v3 against the Bedrock emulator, and
// Claude Code through the gateway on Bedrock.
func TestNodeClients(t *testing.T) {
	dir := filepath.Join(repoRoot(), "e2e", "node")
	required := os.Getenv("CLAUDEBRIDGE_NODE_TESTS") == "required"
	missing := func(what string) {
		msg := what + ": run `npm ci` in e2e/node (make node-deps) to run the Node SDK and Claude Code tests"
		if required {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		missing("e2e/node/node_modules is missing")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.test.mjs"))
	if len(files) == 0 {
		t.Fatal("no *.test.mjs in e2e/node")
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"--test", "--test-reporter=spec"}, files...)...)
	cmd.Dir = dir
	cmd.SysProcAttr = childAttr()
	// Kill the whole group (node and the claude it started) on timeout.
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(baseEnv(),
		"GATEWAY_URL="+bedrockGatewayURL,
		"GATEWAY_ANTHROPIC_URL="+anthropicGatewayURL,
		"GATEWAY_KEY="+gatewayKey,
		"KEYS_GATEWAY_URL="+keysGatewayURL,
		"ADMIN_KEY="+adminKey,
		"CORS_ORIGIN="+corsOrigin,
		"BEDROCK_EMULATOR_URL="+bedrockEmulatorURL,
		"ANTHROPIC_EMULATOR_URL="+anthropicEmulatorURL,
		"AWS_ACCESS_KEY_ID="+awsKeyID,
		"AWS_SECRET_ACCESS_KEY="+awsSecret,
		"AWS_REGION="+awsRegion,
	)
	gwLog := serverNamed("bedrock gateway")
	_, before := gwLog.logSince(0)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	if err != nil {
		lines, _ := gwLog.logSince(before)
		t.Logf("the Bedrock gateway's log during the Node tests (LOG_LEVEL=debug):\n%s", tail(lines, 80))
		t.Fatalf("node --test failed: %v", err)
	}
	// The spec reporter closes with "ℹ pass N" and "ℹ fail N".
	if m := nodeSummary.FindStringSubmatch(string(out)); m == nil || m[1] == "0" {
		t.Fatalf("node --test ran no test")
	}
}

var nodeSummary = regexp.MustCompile(`(?m)^\S* ?pass (\d+)$`)

func tail(lines []string, n int) string {
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
