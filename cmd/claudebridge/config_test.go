package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestProviderIsInferred(t *testing.T) {
	t.Setenv("HOME", t.TempDir()) // no ~/.aws here
	for _, c := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{}, "emulator"},
		{map[string]string{"ANTHROPIC_API_KEY": "k"}, "anthropic"},
		{map[string]string{"ANTHROPIC_SECRET_NAME": "s"}, "anthropic"},
		{map[string]string{"AWS_PROFILE": "dev"}, "bedrock"},
		{map[string]string{"AWS_ACCESS_KEY_ID": "AKID"}, "bedrock"},
		{map[string]string{"AI_PROVIDER": "anthropic_api", "ANTHROPIC_API_KEY": "k"}, "anthropic"},
		{map[string]string{"AI_PROVIDER": "Bedrock"}, "bedrock"},
	} {
		cfg, err := loadConfig(env(c.vars))
		if err != nil || cfg.Provider != c.want {
			t.Errorf("%v: %v %v, want %s", c.vars, cfg, err, c.want)
		}
	}
}

func TestBadSettingsAreRefused(t *testing.T) {
	for _, vars := range []map[string]string{
		{"AI_PROVIDER": "openai"},
		{"AI_PROVIDER": "anthropic"},
		{"SAMPLING_CONFLICT": "maybe"},
		{"RETRY_MAX_ATTEMPTS": "0"},
		{"READ_TIMEOUT": "soon"},
		{"LOG_LEVEL": "loud"},
		{"BEDROCK_MODEL_MAP": "claude-x"},
	} {
		if _, err := loadConfig(env(vars)); err == nil {
			t.Errorf("%v was accepted", vars)
		}
	}
}

func TestSettingsAreRead(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{
		"API_KEYS": "a, b", "BEARER_TOKEN": "c", "READ_TIMEOUT": "90", "REQUEST_TIMEOUT": "2m",
		"BEDROCK_MODEL_MAP": "claude-x=anthropic.claude-x-v1:0", "SAMPLING_CONFLICT": "reject",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.APIKeys, ",") != "a,b,c" || cfg.ReadTimeout.Seconds() != 90 || cfg.RequestTimeout.Minutes() != 2 ||
		cfg.BedrockModels["claude-x"] != "anthropic.claude-x-v1:0" || cfg.Sampling != "reject" {
		t.Fatalf("%+v", cfg)
	}
}

func TestOpenGatewayStaysOnLoopback(t *testing.T) {
	for _, c := range []struct {
		listen   string
		keys     []string
		insecure bool
		ok       bool
	}{
		{"127.0.0.1:8080", nil, false, true},
		{"[::1]:8080", nil, false, true},
		{"localhost:8080", nil, false, true},
		{"0.0.0.0:8080", nil, false, false},
		{"0.0.0.0:8080", []string{"k"}, false, true},
		{"0.0.0.0:8080", nil, true, true},
	} {
		cfg := &Config{Listen: c.listen, APIKeys: c.keys, Insecure: c.insecure}
		if err := cfg.checkListen(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestCostSettingsAreReadAndBadOnesRefused(t *testing.T) {
	prices := filepath.Join(t.TempDir(), "prices.json")
	if err := os.WriteFile(prices, []byte(`{"version":"team-2026-12","models":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(env(map[string]string{"PRICES_FILE": prices, "MAX_COST_PER_REQUEST": "$0.50",
		"CHAT_BUDGET_USD": "20", "CHAT_BUDGET_PERIOD": "day"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Prices.Version, "team-2026-12"; got != want {
		t.Errorf("price version %q, want %q", got, want)
	}
	if got, want := cfg.MaxCostPerRequest, 0.5; got != want {
		t.Errorf("max cost per request %v, want %v", got, want)
	}
	if got, want := cfg.ChatBudgetUSD, 20.0; got != want {
		t.Errorf("chat budget %v, want %v", got, want)
	}
	if got, want := cfg.ChatBudgetPeriod, "day"; got != want {
		t.Errorf("chat budget period %q, want %q", got, want)
	}
	for _, vars := range []map[string]string{
		{"PRICES_FILE": filepath.Join(t.TempDir(), "absent.json")},
		{"MAX_COST_PER_REQUEST": "-1"},
		{"MAX_COST_PER_REQUEST": "a lot"},
		{"CHAT_BUDGET_USD": "NaN"},
		{"CHAT_BUDGET_PERIOD": "week"},
	} {
		if _, err := loadConfig(env(vars)); err == nil {
			t.Errorf("%v was accepted", vars)
		}
	}
}

func TestTheChatSocketURLIsReadAndMustBeAWebSocketURL(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	cfg, err := loadConfig(env(map[string]string{"CHAT_SOCKET_URL": " wss://abc.execute-api.us-east-1.amazonaws.com/chat "}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.ChatSocketURL, "wss://abc.execute-api.us-east-1.amazonaws.com/chat"; got != want {
		t.Errorf("ChatSocketURL %q, want %q", got, want)
	}
	if _, err := loadConfig(env(map[string]string{"CHAT_SOCKET_URL": "https://abc.execute-api.us-east-1.amazonaws.com/chat"})); err == nil {
		t.Error("an https:// CHAT_SOCKET_URL was taken, want an error")
	}
}
