package bedrock

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/tidwall/gjson"
)

// A count request as the Anthropic SDKs send it, without max_tokens.
const countBody = `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"How many tokens is this?"}]}`

// Anthropic's count requests carry no max_tokens; Bedrock's CountTokens
// refuses an InvokeModel body without one. The count is exact, and the
// model is still asked the next time.
func TestCountWithoutMaxTokensIsExact(t *testing.T) {
	u, rc, _ := emulated(t, "us-east-1")
	first, err := u.CountTokens(context.Background(), request(t, countBody))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := first.Estimated, false; got != want {
		t.Errorf("estimated %v, want %v", got, want)
	}
	second, err := u.CountTokens(context.Background(), request(t, `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Another question"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := second.Estimated, false; got != want {
		t.Errorf("second count estimated %v, want %v", got, want)
	}
	if got, want := len(rc.calls("/count-tokens")), 2; got != want {
		t.Errorf("%d count-tokens calls, want %d", got, want)
	}
}

// The max_tokens a count is sent with is over a thinking budget, as the
// model requires.
func TestCountMaxTokensIsOverTheThinkingBudget(t *testing.T) {
	u, rc, _ := emulated(t, "us-east-1")
	body := `{"model":"claude-sonnet-4-5","thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"Hi"}]}`
	if _, err := u.CountTokens(context.Background(), request(t, body)); err != nil {
		t.Fatal(err)
	}
	calls := rc.calls("/count-tokens")
	if len(calls) != 1 {
		t.Fatalf("%d count-tokens calls, want 1", len(calls))
	}
	sent, _ := base64.StdEncoding.DecodeString(gjson.GetBytes(calls[0].Body, "input.invokeModel.body").String())
	if got, want := gjson.GetBytes(sent, "max_tokens").Int(), int64(2049); got != want {
		t.Errorf("max_tokens %d, want %d", got, want)
	}
}

// countStandIn answers CountTokens with a ValidationException of msg until
// ok is set, then with 42 tokens.
func countStandIn(t *testing.T, msg string, ok *bool) *Upstream {
	return rawUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/count-tokens") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if *ok {
			w.Write([]byte(`{"inputTokens":42}`))
			return
		}
		w.Header().Set("X-Amzn-ErrorType", "ValidationException")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"message":` + quoteJSON(msg) + `}`))
	})
}

func quoteJSON(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// A refusal of the body is the client's error and never marks the model as
// unable to count.
func TestABodyRefusalDoesNotStopCounting(t *testing.T) {
	ok := false
	u := countStandIn(t, "messages.0.content.0.type: Input tag 'nope' found using 'type' does not match any of the expected tags", &ok)
	_, err := u.CountTokens(context.Background(), request(t, countBody))
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
	ok = true
	tc, err := u.CountTokens(context.Background(), request(t, countBody))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tc.InputTokens, 42; got != want || tc.Estimated {
		t.Errorf("count %d (estimated %v), want %d exact", got, tc.Estimated, want)
	}
}

// Only a refusal that says the model does not count makes it estimated
// from then on.
func TestARefusalToCountStopsCounting(t *testing.T) {
	ok := false
	u := countStandIn(t, "The provided model doesn\u2019t support counting tokens.", &ok)
	tc, err := u.CountTokens(context.Background(), request(t, countBody))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tc.Estimated, true; got != want {
		t.Errorf("estimated %v, want %v", got, want)
	}
	ok = true
	tc, err = u.CountTokens(context.Background(), request(t, `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"other"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tc.Estimated, true; got != want {
		t.Errorf("after the refusal: estimated %v, want %v", got, want)
	}
}

// CountTokens refuses past 200,000 tokens whatever the model's window, and
// names the count: that count is the answer.
func TestACountOverTheCountingLimitIsTheCountItNames(t *testing.T) {
	ok := false
	u := countStandIn(t, "prompt is too long: 216868 tokens > 200000 maximum", &ok)
	tc, err := u.CountTokens(context.Background(), request(t, countBody))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tc.InputTokens, 216868; got != want || tc.Estimated {
		t.Errorf("count %d (estimated %v), want %d exact", got, tc.Estimated, want)
	}
}

// Through the emulator too: a prompt past CountTokens' 200,000 tokens is
// counted exactly, from the refusal, and the model still counts after it.
func TestEmulatorCountPastTheCountingLimitIsExact(t *testing.T) {
	u, _, _ := emulated(t, "us-east-1")
	long := `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"` + strings.Repeat("many words here ", 60_000) + `"}]}`
	tc, err := u.CountTokens(context.Background(), request(t, long))
	if err != nil {
		t.Fatal(err)
	}
	if tc.Estimated || tc.InputTokens <= 200_000 {
		t.Errorf("count %+v, want an exact count over 200000", tc)
	}
	short, err := u.CountTokens(context.Background(), request(t, countBody))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := short.Estimated, false; got != want {
		t.Errorf("the next count estimated %v, want %v", got, want)
	}
}

// CountTokens is sent the body InvokeModel would get, byte for byte, as
// the base64 of its request's input.invokeModel.body.
func TestCountSendsTheInvokeModelBody(t *testing.T) {
	u, rc, _ := emulated(t, "us-east-1")
	r := request(t, `{"model":"claude-sonnet-4-5","max_tokens":300,"system":"Be brief.","messages":[{"role":"user","content":"Count these <tokens> & more"}]}`)
	if _, err := u.CountTokens(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	calls := rc.calls("/count-tokens")
	if len(calls) != 1 {
		t.Fatalf("%d count-tokens calls, want 1", len(calls))
	}
	in, werr := bedrockwire.ParseCountInput(calls[0].Body)
	if werr != nil {
		t.Fatal(werr)
	}
	if got, want := string(in.InvokeModel), string(plainBody(r, nil)); got != want {
		t.Errorf("sent %s\nwant %s", got, want)
	}
}
