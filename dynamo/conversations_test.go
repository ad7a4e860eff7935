package dynamo

import (
	"testing"

	"github.com/claudebridge/claudebridge"
)

// SQLite's LIKE folds ASCII letters only; the stores answer alike.
func TestSearchFoldsTheCaseOfASCIILettersOnly(t *testing.T) {
	db := open(t)
	u, err := db.CreateUser(t.Context(), "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	c := &claudebridge.Conversation{UserID: u.ID, Title: "Éclair RECIPE", Model: "model-a"}
	if err := db.CreateConversation(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{{"recipe", 1}, {"ÉCLAIR", 1}, {"éclair", 0}} {
		found, err := db.SearchConversations(t.Context(), u.ID, tc.query, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(found), tc.want; got != want {
			t.Errorf("search %q: %d hits, want %d", tc.query, got, want)
		}
	}
}
