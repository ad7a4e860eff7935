package chat

import (
	"testing"

	"github.com/claudebridge/claudebridge"
)

func TestTurnStoppedWhileBeingPreparedEndsAtLaunch(t *testing.T) {
	ts := newTurns(&Server{opts: Options{TurnsPerUser: 2}})
	if err := ts.reserve(1, "conv_a"); err != nil {
		t.Fatal(err)
	}
	ts.stopConversation("conv_a") // a DELETE while the turn is set up
	tr := &turn{id: "turn_a", conv: &claudebridge.Conversation{ID: "conv_a"}}
	if cause := ts.enter(tr); cause != errStopped {
		t.Fatalf("entered with %v, want errStopped", cause)
	}
	ts.free(tr)
	// The mark is spent: the next turn of a conversation of that id runs.
	if err := ts.reserve(1, "conv_a"); err != nil {
		t.Fatal(err)
	}
	if cause := ts.enter(&turn{id: "turn_b", conv: &claudebridge.Conversation{ID: "conv_a"}}); cause != nil {
		t.Fatalf("next turn entered with %v", cause)
	}
}
