// Package e2e holds the end-to-end tests of claudebridge: the real binary,
// built once, runs both emulators and gateways in front of them, and the
// official clients talk to it as they would to Anthropic or Bedrock: the
// Anthropic SDK for Go here, and from e2e/node the Anthropic TypeScript SDK,
// the AWS SDK for JavaScript v3 and Claude Code (TestNodeClients).
//
//	go test ./e2e/ -count=1 -v
//
// The Node tests need `npm ci` in e2e/node first; without node_modules they
// are skipped, unless CLAUDEBRIDGE_NODE_TESTS=required (set by `make test`)
// makes that a failure.
package e2e
