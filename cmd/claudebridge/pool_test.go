package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
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

// TestEachBedrockMemberSignsWithItsOwnRegionAndProfile: each emulator
// takes only signatures scoped to its region and only its own key, so a
// member answers only with the region and the profile's credentials that
// UPSTREAMS gave it.
func TestEachBedrockMemberSignsWithItsOwnRegionAndProfile(t *testing.T) {
	west := httptest.NewServer(bedrockemu.New(bedrockemu.Options{Region: "us-west-2", Credentials: map[string]string{"AKIDDEFAULT": "default-secret"}}))
	defer west.Close()
	eu := httptest.NewServer(bedrockemu.New(bedrockemu.Options{Region: "eu-west-1", Credentials: map[string]string{"AKIDPROFILE": "profile-secret"}}))
	defer eu.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	os.WriteFile(config, []byte("[default]\nendpoint_url = "+west.URL+"\n"+
		"[profile eu]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\nendpoint_url = "+eu.URL+"\n"), 0o600)
	for k, v := range map[string]string{
		"HOME": dir, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDDEFAULT", "AWS_SECRET_ACCESS_KEY": "default-secret",
		"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
	} {
		t.Setenv(k, v)
	}
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"hello"}]}`)
	for _, c := range []struct {
		spec UpstreamMember
		ok   bool
	}{
		{UpstreamMember{Kind: "bedrock", Region: "us-west-2"}, true},
		{UpstreamMember{Kind: "bedrock"}, false}, // us-east-1 of AWS_REGION: the west emulator refuses the signature
		// The profile's key and endpoint, over the environment's.
		{UpstreamMember{Kind: "bedrock", Region: "eu-west-1", Profile: "eu"}, true},
	} {
		cfg, err := loadConfig(os.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		up, _, err := newMember(context.Background(), cfg, c.spec, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		r := &claudebridge.Request{Model: "claude-sonnet-4-5", Body: body}
		json.Unmarshal(body, &r.Fields)
		_, err = up.Messages(context.Background(), r)
		if got, want := err == nil, c.ok; got != want {
			t.Errorf("%+v: answered %v (%v), want %v", c.spec, got, err, want)
		}
	}
}
