package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

func TestUpstreamsNamesAnOrderedPoolOfMembers(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{"ANTHROPIC_API_KEY": "k",
		"UPSTREAMS":                 "bedrock:us-east-1, bedrock:us-west-2:profile=west,anthropic,emulator:eu-west-1,bedrock:profile=p",
		"UPSTREAM_BREAKER_FAILURES": "3", "UPSTREAM_BREAKER_COOLDOWN": "1m", "UPSTREAM_BREAKER_FAILURE_RATE": "0.25"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []UpstreamMember{
		{Name: "bedrock:us-east-1", Kind: "bedrock", Region: "us-east-1"},
		{Name: "bedrock:us-west-2:profile=west", Kind: "bedrock", Region: "us-west-2", Profile: "west"},
		{Name: "anthropic", Kind: "anthropic"},
		{Name: "emulator:eu-west-1", Kind: "emulator", Region: "eu-west-1"},
		{Name: "bedrock:profile=p", Kind: "bedrock", Profile: "p"},
	}
	if got, want := len(cfg.Upstreams), len(want); got != want {
		t.Fatalf("%d members, want %d", got, want)
	}
	for i, w := range want {
		if got := cfg.Upstreams[i]; got != w {
			t.Errorf("member %d: %+v, want %+v", i, got, w)
		}
	}
	if got, want := cfg.Provider, "pool"; got != want {
		t.Errorf("provider %q, want %q", got, want)
	}
	if got, want := cfg.BreakerFailures, 3; got != want {
		t.Errorf("breaker failures %d, want %d", got, want)
	}
	if got, want := cfg.BreakerFailureRate, 0.25; got != want {
		t.Errorf("breaker failure rate %v, want %v", got, want)
	}
	if got, want := cfg.BreakerCooldown, time.Minute; got != want {
		t.Errorf("breaker cooldown %v, want %v", got, want)
	}
}

func TestMalformedUpstreamsAreRefused(t *testing.T) {
	for _, v := range []string{"openai", "bedrock:us-east-1:us-west-2", "anthropic:us-east-1", "bedrock:profile=",
		"bedrock:us-east-1:endpoint=x", "emulator:profile=p", "bedrock:us-east-1,bedrock:us-east-1", "bedrock:us-east-1:"} {
		if _, err := loadConfig(env(map[string]string{"UPSTREAMS": v, "ANTHROPIC_API_KEY": "k"})); err == nil {
			t.Errorf("UPSTREAMS=%s was taken", v)
		}
	}
	for _, rate := range []string{"2", "-0.1", "half"} {
		if _, err := loadConfig(env(map[string]string{"UPSTREAM_BREAKER_FAILURE_RATE": rate})); err == nil {
			t.Errorf("UPSTREAM_BREAKER_FAILURE_RATE=%s was taken", rate)
		}
	}
	_, err := loadConfig(env(map[string]string{"UPSTREAMS": "bedrock,anthropic"}))
	if got, want := err != nil && strings.Contains(err.Error(), "ANTHROPIC_API_KEY"), true; got != want {
		t.Errorf("anthropic without a key: %v", err)
	}
}

func TestAPoolOfTwoEmulatorsAnswersAndShowsBothMembersClosed(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{"UPSTREAMS": "emulator:us-east-1,emulator:us-west-2"}))
	if err != nil {
		t.Fatal(err)
	}
	served, about, err := newGatewayUpstream(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(about, "built-in Bedrock emulator"), 2; got != want {
		t.Errorf("%q names %d emulators, want %d", about, got, want)
	}
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"hello"}]}`)
	r := &claudebridge.Request{Model: "claude-sonnet-4-5", Body: body}
	json.Unmarshal(body, &r.Fields)
	if _, err := served.Messages(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	states := served.Pool.States()
	if got, want := len(states), 2; got != want {
		t.Fatalf("%d members, want %d", got, want)
	}
	for _, s := range states {
		if got, want := s.State, "closed"; got != want {
			t.Errorf("%s is %s, want %s", s.Name, got, want)
		}
	}
}
