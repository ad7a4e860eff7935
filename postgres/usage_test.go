package postgres

import (
	"testing"

	"github.com/claudebridge/claudebridge"
)

// The chat checks the bounds first; a caller that does not gets the
// client's error, not a failed cast.
func TestAUsageBoundThatIsNoDateIsInvalid(t *testing.T) {
	db := open(t)
	alice, err := db.CreateUser(t.Context(), "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to string }{{"2026-13-01", ""}, {"", "yesterday"}} {
		_, err := db.Usage(t.Context(), alice.ID, tc.from, tc.to)
		if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
			t.Errorf("usage %q to %q: code %q (%v), want %q", tc.from, tc.to, got, err, want)
		}
	}
}
