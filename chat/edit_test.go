package chat_test

import (
	"strings"
	"testing"
)

func TestEditReplacesAUserMessageAndWhatFollowed(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	first := s.startTurn(map[string]any{"type": "send", "text": "One [[words=10]]"})
	s.follow(0, 0)
	s.startTurn(map[string]any{"type": "send", "conversation_id": first.ConversationID, "text": "Two [[words=12]]"})
	s.follow(0, 0)
	s.startTurn(map[string]any{"type": "send", "conversation_id": first.ConversationID, "text": "Three [[words=12]]"})
	s.follow(0, 0)
	before := c.conversation(first.ConversationID)
	if got, want := len(before.Messages), 6; got != want {
		t.Fatalf("%d messages before the edit, want %d", got, want)
	}

	edit := s.startTurn(map[string]any{"type": "edit", "conversation_id": first.ConversationID,
		"message_id": before.Messages[2].ID, "text": "Two, edited [[words=8]]"})
	text, _, done := s.follow(0, 0)
	if got, want := done.Status, "complete"; got != want {
		t.Fatalf("done status %q, want %q", got, want)
	}
	after := c.conversation(first.ConversationID)
	if got, want := len(after.Messages), 4; got != want {
		t.Fatalf("%d messages after the edit, want %d", got, want)
	}
	if got, want := after.Messages[0].ID, before.Messages[0].ID; got != want {
		t.Errorf("first message %s, want it kept (%s)", got, want)
	}
	if got, want := after.Messages[1].ID, before.Messages[1].ID; got != want {
		t.Errorf("first answer %s, want it kept (%s)", got, want)
	}
	if got, want := after.Messages[2].Content, "Two, edited [[words=8]]"; got != want {
		t.Errorf("edited message %q, want %q", got, want)
	}
	if got, want := after.Messages[2].ID, edit.UserMessageID; got != want {
		t.Errorf("edited message id %s, want the turn's user_message_id %s", got, want)
	}
	if got, want := after.Messages[3].ID, edit.MessageID; got != want {
		t.Errorf("answer id %s, want the turn's message_id %s", got, want)
	}
	if got, want := after.Messages[3].Content, text; got != want {
		t.Errorf("answer %q, want the streamed %q", got, want)
	}
	sent := string(e.upstream.lastFields()["messages"])
	if !strings.Contains(sent, "Two, edited") || strings.Contains(sent, "Three") || strings.Contains(sent, `"Two [[words`) {
		t.Errorf("sent upstream %s; want the history up to the edited message only", sent)
	}
}

func TestEditRefusesAnAnswerAnEmptyTextAndAnotherUsersMessage(t *testing.T) {
	e := newEnv(t, false)
	alice := e.login("alice", "alice-password-1")
	s := alice.socket()
	turn := s.startTurn(map[string]any{"type": "send", "text": "Hi [[words=5]]"})
	s.follow(0, 0)

	s.send(map[string]any{"type": "edit", "conversation_id": turn.ConversationID, "message_id": turn.MessageID, "text": "x"})
	if f := s.read(); f.Type != "error" || f.Code != "not_found_error" {
		t.Errorf("editing an answer: %+v, want a not_found_error", f)
	}
	s.send(map[string]any{"type": "edit", "conversation_id": turn.ConversationID, "message_id": turn.UserMessageID, "text": "  "})
	if f := s.read(); f.Type != "error" || f.Code != "invalid_request_error" {
		t.Errorf("editing to empty text: %+v, want an invalid_request_error", f)
	}
	bob := e.login("bob", "bob-password-12")
	bs := bob.socket()
	bs.send(map[string]any{"type": "edit", "conversation_id": turn.ConversationID, "message_id": turn.UserMessageID, "text": "mine now"})
	if f := bs.read(); f.Type != "error" || f.Code != "not_found_error" {
		t.Errorf("bob editing alice's message: %+v, want a not_found_error", f)
	}
	if got, want := len(alice.conversation(turn.ConversationID).Messages), 2; got != want {
		t.Errorf("%d messages after refused edits, want %d", got, want)
	}
}

func TestSearchListsMatchingConversationsOverREST(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	hit := s.startTurn(map[string]any{"type": "send", "text": "Tell me about otters [[words=5]]"})
	s.follow(0, 0)
	s.startTurn(map[string]any{"type": "send", "text": "Something else [[words=5]]"})
	s.follow(0, 0)

	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		Next string `json:"next_cursor"`
	}
	if status, body := c.do("GET", "/api/conversations?q=OTTERS", nil, &page); status != 200 {
		t.Fatalf("search: %d %s", status, body)
	}
	if got, want := len(page.Data), 1; got != want {
		t.Fatalf("search found %d conversations, want %d", got, want)
	}
	if got, want := page.Data[0].ID, hit.ConversationID; got != want {
		t.Errorf("search found %s, want %s", got, want)
	}
	if got, want := page.Next, ""; got != want {
		t.Errorf("search next_cursor %q, want %q", got, want)
	}
}

func TestConfigNamesTheProvider(t *testing.T) {
	e := newEnv(t, true)
	e.shut()
	e.provider = "emulator"
	e.open()
	c := e.localClient()
	var cfg struct {
		Provider string `json:"provider"`
	}
	if status, body := c.do("GET", "/api/config", nil, &cfg); status != 200 {
		t.Fatalf("config: %d %s", status, body)
	}
	if got, want := cfg.Provider, "emulator"; got != want {
		t.Errorf("provider %q, want %q", got, want)
	}
}
