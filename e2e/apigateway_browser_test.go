package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge/internal/dynalitetest"
)

// TestBrowserThroughAPIGateway runs e2e/browser/apigateway.mjs: the page of
// claudebridge as a Lambda function, served through the Function URL
// stand-in, with its chat on the API Gateway WebSocket stand-in; every
// route and every turn is an invocation of a pool of runtime emulators
// whose only shared state is the store, on DynamoDB (dynalite). An answer
// streams, Stop keeps its text, a reload mid-answer resumes it without gap
// or duplicate, and a turn longer than API Gateway's 29 s integration
// timeout completes.
func TestBrowserThroughAPIGateway(t *testing.T) {
	requireBrowser(t)
	env := append(lambdaEnv(t),
		"DATABASE_URL="+dynalitetest.URL(t),
		"AWS_ENDPOINT_URL_DYNAMODB="+dynalitetest.Endpoint(t),
		"AWS_REGION="+awsRegion, "AWS_ACCESS_KEY_ID="+awsKeyID, "AWS_SECRET_ACCESS_KEY="+awsSecret,
		"TURN_LEASE=5s")
	for _, u := range browserUsers {
		cmd := exec.Command(claudebridgeBin, "users", "add", u[0])
		cmd.Env = append(baseEnv(), env...)
		cmd.Stdin = strings.NewReader(u[1] + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("claudebridge users add %s: %v\n%s", u[0], err, out)
		}
	}
	pageURL, _ := startAPIGatewayChat(t, env)
	runNodeTests(t, filepath.Join(repoRoot(), "e2e", "browser"), []string{
		"CHAT_URL=" + pageURL, "CHAT_URL_LOGIN=" + pageURL,
		"CHAT_USER_A=" + browserUsers[0][0], "CHAT_PASS_A=" + browserUsers[0][1],
	}, nil, "apigateway.mjs")
}
