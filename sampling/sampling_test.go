package sampling_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/mock"
	"github.com/claudebridge/claudebridge/sampling"
)

func request(t *testing.T, model, sampled string) *claudebridge.Request {
	t.Helper()
	r, err := anthropic.ParseRequest([]byte(`{"model":"`+model+`","max_tokens":10,`+sampled+`"messages":[{"role":"user","content":"hi"}]}`), http.Header{}, false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// seen returns an upstream that records the request each call gets.
func seen(got **claudebridge.Request) *mock.Upstream {
	return &mock.Upstream{
		MessagesFn: func(_ context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
			*got = r
			return &claudebridge.Response{}, nil
		},
		StreamFn: func(_ context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
			*got = r
			return &mock.Stream{}, nil
		},
	}
}

func TestTopPIsDroppedForModelsThatRefuseThePair(t *testing.T) {
	for _, c := range []struct {
		model   string
		dropped bool
	}{
		{"claude-sonnet-4-5-20250929", true},
		{"claude-haiku-4-5", true},
		{"claude-opus-5", true},
		{"claude-sonnet-5-5", true},
		{"us.anthropic.claude-opus-4-6-v1", true},
		{"claude-opus-4-1-20250805", true},
		{"claude-mythos-preview", true},
		{"claude-3-7-sonnet-latest", false},
		{"claude-sonnet-4-20250514", false},
	} {
		var got *claudebridge.Request
		u := &sampling.Upstream{Next: seen(&got)}
		r := request(t, c.model, `"temperature":0.3,"top_p":0.9,`)
		if _, err := u.Messages(context.Background(), r); err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		_, kept := got.Fields["top_p"]
		if kept == c.dropped {
			t.Errorf("%s: top_p kept = %v", c.model, kept)
		}
		if got, want := string(got.Fields["temperature"]), "0.3"; got != want {
			t.Errorf("%s: temperature %s, want %s", c.model, got, want)
		}
		if _, ok := r.Fields["top_p"]; !ok {
			t.Errorf("%s: the caller's request was changed", c.model)
		}
	}
}

func TestRejectRefusesThePairWithAnInvalidRequestError(t *testing.T) {
	var got *claudebridge.Request
	u := &sampling.Upstream{Next: seen(&got), Policy: sampling.Reject}
	_, err := u.Stream(context.Background(), request(t, "claude-sonnet-4-5", `"temperature":0.3,"top_p":0.9,`))
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
	if got != nil {
		t.Error("the refused call reached the upstream")
	}
	// Either alone, or a null, is no conflict.
	for _, sampled := range []string{`"temperature":0.3,`, `"top_p":0.9,`, `"temperature":0.3,"top_p":null,`} {
		if _, err := u.Stream(context.Background(), request(t, "claude-sonnet-4-5", sampled)); err != nil {
			t.Errorf("%s: %v", sampled, err)
		}
	}
}

// resolving is an upstream that knows the model behind an ARN.
type resolving struct {
	*mock.Upstream
	base map[string]string
}

func (r resolving) BaseModel(_ context.Context, id string) string {
	if b, ok := r.base[id]; ok {
		return b
	}
	return id
}

func TestAnIDIsJudgedByTheModelTheUpstreamSaysItStandsFor(t *testing.T) {
	const arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/team-sonnet"
	var got *claudebridge.Request
	u := &sampling.Upstream{Next: resolving{seen(&got), map[string]string{arn: "anthropic.claude-sonnet-4-5-20250929-v1:0"}}}
	if _, err := u.Messages(context.Background(), request(t, arn, `"temperature":0.3,"top_p":0.9,`)); err != nil {
		t.Fatal(err)
	}
	if _, kept := got.Fields["top_p"]; kept {
		t.Error("top_p kept for an ARN of a model that refuses the pair")
	}
	if got, want := got.Model, arn; got != want {
		t.Errorf("model %q, want the client's %q", got, want)
	}
}
