package redact

import "testing"

func TestAPasswordInAURLIsRedacted(t *testing.T) {
	for raw, want := range map[string]string{
		"postgres://user:s3cret@db.example/chat": "postgres://user:xxxxx@db.example/chat",
		"https://user:s3cret@api.example":        "https://user:xxxxx@api.example",
		"https://user:s%ZZcret@api.example/v1":   "https://xxxxx@api.example/v1",
		"https://api.example/v1":                 "https://api.example/v1",
		"/var/lib/claudebridge/chat.db":          "/var/lib/claudebridge/chat.db",
	} {
		if got := URL(raw); got != want {
			t.Errorf("URL(%q) = %q, want %q", raw, got, want)
		}
	}
}
