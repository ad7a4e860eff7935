package cost

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/mock"
)

func request(t *testing.T, body string) *claudebridge.Request {
	t.Helper()
	r := &claudebridge.Request{Body: []byte(body)}
	if err := json.Unmarshal(r.Body, &r.Fields); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(r.Fields["model"], &r.Model)
	return r
}

func TestARequestOverTheCapIsRefusedBeforeItIsSent(t *testing.T) {
	sent := 0
	up := &mock.Upstream{MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
		sent++
		return &claudebridge.Response{}, nil
	}}
	c := &Cap{Next: up, Prices: Builtin(), Upstream: "anthropic", Max: 0.01}
	// 1,000 output tokens of Sonnet 4.5 are $0.015 alone.
	r := request(t, `{"model":"claude-sonnet-4-5","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}`)
	_, err := c.Messages(context.Background(), r)
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Fatalf("code %q, want %q (err %v)", got, want, err)
	}
	if msg := claudebridge.ErrorMessage(err); !strings.Contains(msg, "$0.0100") {
		t.Errorf("message %q does not name the cap", msg)
	}
	if got, want := sent, 0; got != want {
		t.Errorf("calls sent %d, want %d", got, want)
	}
}

func TestARequestUnderTheCapIsSent(t *testing.T) {
	sent := 0
	up := &mock.Upstream{MessagesFn: func(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
		sent++
		return &claudebridge.Response{}, nil
	}}
	c := &Cap{Next: up, Prices: Builtin(), Upstream: "anthropic", Max: 0.02}
	r := request(t, `{"model":"claude-sonnet-4-5","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}`)
	if _, err := c.Messages(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got, want := sent, 1; got != want {
		t.Errorf("calls sent %d, want %d", got, want)
	}
}
