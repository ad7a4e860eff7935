package claudebridge_test

import (
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
)

func TestANewKeySecretIsPrefixedAndHashedAndNeverRepeats(t *testing.T) {
	s1, p1, h1 := claudebridge.NewKeySecret()
	s2, _, _ := claudebridge.NewKeySecret()
	if !strings.HasPrefix(s1, "cb-") {
		t.Errorf("secret %q lacks cb-", s1[:3])
	}
	if got, want := len(s1), 3+43; got != want {
		t.Errorf("secret length = %d, want %d", got, want)
	}
	if !strings.HasPrefix(s1, p1) || len(p1) != 9 {
		t.Errorf("prefix %q is not the secret's first 9 characters", p1)
	}
	if got, want := h1, claudebridge.HashKey(s1); got != want {
		t.Errorf("hash = %q, want %q", got, want)
	}
	if s1 == s2 {
		t.Error("two secrets are the same")
	}
}

func TestAKeyValidatesItsBudgetPeriod(t *testing.T) {
	k := claudebridge.Key{Name: "x", BudgetUSD: 5}
	if got, want := claudebridge.ErrorCode(k.Validate()), claudebridge.EINVALID; got != want {
		t.Errorf("budget without period: code = %q, want %q", got, want)
	}
	k.BudgetPeriod = "day"
	if err := k.Validate(); err != nil {
		t.Errorf("budget per day: %v", err)
	}
}

func TestAKeyMayNotTakeANameOfTheMetricsKeyLabel(t *testing.T) {
	for _, name := range []string{"static", "none"} {
		k := claudebridge.Key{Name: name}
		err := k.Validate()
		if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
			t.Errorf("name %q: code %q, want %q", name, got, want)
		}
		if want := "is reserved"; !strings.Contains(claudebridge.ErrorMessage(err), want) {
			t.Errorf("name %q: message %q lacks %q", name, claudebridge.ErrorMessage(err), want)
		}
	}
	for _, name := range []string{"Static", "none-team", "statics"} {
		k := claudebridge.Key{Name: name}
		if err := k.Validate(); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
}
