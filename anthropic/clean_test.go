package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/claudebridge/claudebridge"
)

func TestCleanMessageHidesAccountsRolesARNsAndHosts(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"User: arn:aws:sts::123456789012:assumed-role/BedrockRole/i-0abc is not authorized to perform: bedrock:InvokeModel",
			"User: <arn> is not authorized to perform: bedrock:InvokeModel"},
		{"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123 is not valid",
			"<arn> is not valid"},
		{"account 123456789012 may not call this model", "account <account> may not call this model"},
		{"the role role/ClaudeBridge may not call it", "the role <role> may not call it"},
		{"cannot reach Bedrock: dial tcp: lookup bedrock-runtime.us-east-1.amazonaws.com: no such host",
			"cannot reach Bedrock: dial tcp: lookup <host>: no such host"},
		{`Post "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke": EOF`, `Post "<host>": EOF`},
		{"dial tcp 10.1.2.3:443: connect: connection refused", "dial tcp <host>: connect: connection refused"},
	} {
		got, want := CleanMessage(tc.in), tc.want
		if got != want {
			t.Errorf("CleanMessage(%q) = %q, want %q", tc.in, got, want)
		}
	}
}

func TestCleanMessageLeavesFieldPathsModelIdsAndNumbers(t *testing.T) {
	for _, s := range []string{
		"messages.0.content.1.type: Field required",
		"tools.0.custom.eager_input_streaming: Extra inputs are not permitted",
		"prompt is too long: 208310 tokens > 200000 maximum",
		"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0 is not available",
		"model: claude-sonnet-4-5-20250929",
		`messages: roles must alternate between "user" and "assistant"`,
		"This request would exceed the rate limit. For details, refer to: https://docs.claude.com/en/api/rate-limits.",
	} {
		got, want := CleanMessage(s), s
		if got != want {
			t.Errorf("CleanMessage changed %q to %q", want, got)
		}
	}
}

func TestErrorJSONShowsTheCleanedMessage(t *testing.T) {
	err := claudebridge.Errorf(claudebridge.EPERMISSION, "User: arn:aws:iam::123456789012:user/ops is not authorized")
	var body struct{ Error struct{ Message string } }
	if e := json.Unmarshal(ErrorJSON(err, "req_1"), &body); e != nil {
		t.Fatal(e)
	}
	got, want := body.Error.Message, "User: <arn> is not authorized"
	if got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}
