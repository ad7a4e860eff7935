package e2e

import (
	"slices"
	"strings"
	"testing"
)

// The servers under test get none of the developer's settings: each
// variable README's settings table names is taken out of their
// environment, whenever it was added to the table.
func TestTheServersGetNoneOfTheSettingsTheREADMENames(t *testing.T) {
	names := readmeSettings()
	// Settings of every age, as a check that the table was read whole.
	for _, want := range []string{"AI_PROVIDER", "LISTEN_ADDR", "AWS_REGION", "STRICT_FIELDS", "TRUSTED_USER_HEADER",
		"TRUSTED_PROXIES", "CHAT_ALLOW_ORIGINS", "DATABASE_URL", "MAX_TOKENS", "CHAT_TURNS_PER_USER"} {
		if !slices.Contains(names, want) {
			t.Errorf("the settings read from README lack %s: %v", want, names)
		}
	}
	for _, name := range names {
		t.Setenv(name, "from-the-developer")
	}
	t.Setenv("E2E_UNRELATED", "kept")
	env := baseEnv()
	for _, kv := range env {
		if strings.HasSuffix(kv, "=from-the-developer") {
			t.Errorf("the servers would get %s", kv)
		}
	}
	if !slices.Contains(env, "E2E_UNRELATED=kept") {
		t.Error("a variable that is no setting was taken out too")
	}
}
