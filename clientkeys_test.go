package claudebridge_test

import (
	"testing"

	"github.com/claudebridge/claudebridge"
)

func TestClientKeysAllowOnlyTheConfiguredKeys(t *testing.T) {
	keys := claudebridge.NewClientKeys(" k1 ", "", "k2")
	for key, want := range map[string]bool{"k1": true, "k2": true, "k3": false, "": false, " k1 ": false} {
		if got := keys.Allow(key); got != want {
			t.Errorf("Allow(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestNoClientKeysAllowEveryKey(t *testing.T) {
	keys := claudebridge.NewClientKeys("", " ")
	if keys != nil {
		t.Fatalf("got a key set from blank keys, want nil")
	}
	if !keys.Allow("anything") || !keys.Allow("") {
		t.Errorf("a nil key set refused a key")
	}
}
