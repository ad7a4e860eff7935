package storetest

import (
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
)

// prompts checks PromptService: saved system prompts, one user's each.
func prompts(t *testing.T, open func(t *testing.T) Store) {
	runAll(t, open, []behaviour{
		{"ACreatedPromptReadsBackAsCreated", aCreatedPromptReadsBackAsCreated},
		{"PromptsAreListedByName", promptsAreListedByName},
		{"AnUpdateSavesNameAndTextAndTouches", anUpdateSavesNameAndTextAndTouches},
		{"ADeletedPromptIsGoneAndItsConversationsGoOnWithout", aDeletedPromptIsGoneAndItsConversationsGoOnWithout},
		{"AnAbsentPromptIsNotFound", anAbsentPromptIsNotFound},
		{"AnotherUsersPromptIsNotFoundAndUnchanged", anotherUsersPromptIsNotFoundAndUnchanged},
	})
}

func newPrompt(t *testing.T, s Store, userID int64, name, text string) *claudebridge.Prompt {
	t.Helper()
	p := &claudebridge.Prompt{UserID: userID, Name: name, Text: text}
	if err := s.CreatePrompt(t.Context(), p); err != nil {
		t.Fatalf("CreatePrompt %q: %v", name, err)
	}
	return p
}

func aCreatedPromptReadsBackAsCreated(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	p := newPrompt(t, s, alice.ID, "pirate", "Talk like a pirate.")
	if !strings.HasPrefix(p.ID, "prompt_") {
		t.Errorf("ID %q, want it to start with prompt_", p.ID)
	}
	if p.CreatedAt.IsZero() {
		t.Errorf("CreatedAt is zero")
	}
	if got, want := p.UpdatedAt, p.CreatedAt; !got.Equal(want) {
		t.Errorf("a new prompt's UpdatedAt %v, want its CreatedAt %v", got, want)
	}
	got, err := s.Prompt(t.Context(), alice.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.UserID, alice.ID; got != want {
		t.Errorf("UserID %d, want %d", got, want)
	}
	if got, want := got.Name, "pirate"; got != want {
		t.Errorf("Name %q, want %q", got, want)
	}
	if got, want := got.Text, "Talk like a pirate."; got != want {
		t.Errorf("Text %q, want %q", got, want)
	}
	if got, want := got.CreatedAt, p.CreatedAt; !got.Equal(want) {
		t.Errorf("CreatedAt %v, want %v", got, want)
	}
	if got, want := got.UpdatedAt, p.UpdatedAt; !got.Equal(want) {
		t.Errorf("UpdatedAt %v, want %v", got, want)
	}
}

// The page shows the prompts in the order the store gives: by name.
func promptsAreListedByName(t *testing.T, s Store) {
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	for _, name := range []string{"pirate", "lawyer", "poet"} {
		newPrompt(t, s, alice.ID, name, "Be a "+name+".")
	}
	newPrompt(t, s, bob.ID, "bard", "Be a bard.")
	list, err := s.Prompts(t.Context(), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list {
		names = append(names, p.Name)
		if got, want := p.Text, "Be a "+p.Name+"."; got != want {
			t.Errorf("%s: Text %q, want %q", p.Name, got, want)
		}
	}
	if got, want := strings.Join(names, ","), "lawyer,pirate,poet"; got != want {
		t.Errorf("prompts %s, want %s", got, want)
	}
	none, err := s.Prompts(t.Context(), newUser(t, s, "carol").ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(none), 0; got != want {
		t.Errorf("prompts of a user with none %d, want %d", got, want)
	}
}

func anUpdateSavesNameAndTextAndTouches(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	p := newPrompt(t, s, alice.ID, "pirate", "Talk like a pirate.")
	created := p.CreatedAt
	p.Name, p.Text = "parrot", "Talk like a parrot."
	if err := s.UpdatePrompt(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	got, err := s.Prompt(t.Context(), alice.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.Name, "parrot"; got != want {
		t.Errorf("Name %q, want %q", got, want)
	}
	if got, want := got.Text, "Talk like a parrot."; got != want {
		t.Errorf("Text %q, want %q", got, want)
	}
	if got, want := got.CreatedAt, created; !got.Equal(want) {
		t.Errorf("CreatedAt after an update %v, want it kept %v", got, want)
	}
	if got.UpdatedAt.Before(created) {
		t.Errorf("UpdatedAt after an update %v, before CreatedAt %v", got.UpdatedAt, created)
	}
}

func aDeletedPromptIsGoneAndItsConversationsGoOnWithout(t *testing.T, s Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	p := newPrompt(t, s, alice.ID, "pirate", "Talk like a pirate.")
	kept := newPrompt(t, s, alice.ID, "poet", "Rhyme.")
	c := &claudebridge.Conversation{UserID: alice.ID, Title: "ahoy", Model: "model-a", PromptID: p.ID}
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	other := &claudebridge.Conversation{UserID: alice.ID, Title: "verse", Model: "model-a", PromptID: kept.ID}
	if err := s.CreateConversation(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePrompt(ctx, alice.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Prompt(ctx, alice.ID, p.ID)
	wantCode(t, "Prompt after delete", err, claudebridge.ENOTFOUND)
	err = s.DeletePrompt(ctx, alice.ID, p.ID)
	wantCode(t, "DeletePrompt again", err, claudebridge.ENOTFOUND)
	if got, want := conversation(t, s, alice.ID, c.ID).PromptID, ""; got != want {
		t.Errorf("PromptID of a conversation whose prompt was deleted %q, want none", got)
	}
	if got, want := conversation(t, s, alice.ID, other.ID).PromptID, kept.ID; got != want {
		t.Errorf("PromptID of a conversation with another prompt %q, want %q", got, want)
	}
	list, err := s.Prompts(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 1; got != want {
		t.Fatalf("prompts after delete %d, want %d", got, want)
	}
	if got, want := list[0].ID, kept.ID; got != want {
		t.Errorf("prompt left %s, want %s", got, want)
	}
}

func anAbsentPromptIsNotFound(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	newPrompt(t, s, alice.ID, "pirate", "Arr.")
	_, err := s.Prompt(t.Context(), alice.ID, "prompt_absent")
	wantCode(t, "Prompt of an absent ID", err, claudebridge.ENOTFOUND)
	err = s.UpdatePrompt(t.Context(), &claudebridge.Prompt{ID: "prompt_absent", UserID: alice.ID, Name: "x", Text: "y"})
	wantCode(t, "UpdatePrompt of an absent ID", err, claudebridge.ENOTFOUND)
	err = s.DeletePrompt(t.Context(), alice.ID, "prompt_absent")
	wantCode(t, "DeletePrompt of an absent ID", err, claudebridge.ENOTFOUND)
}

func anotherUsersPromptIsNotFoundAndUnchanged(t *testing.T, s Store) {
	ctx := t.Context()
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	p := newPrompt(t, s, alice.ID, "pirate", "Talk like a pirate.")
	c := &claudebridge.Conversation{UserID: alice.ID, Title: "ahoy", Model: "model-a", PromptID: p.ID}
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}

	_, err := s.Prompt(ctx, bob.ID, p.ID)
	wantCode(t, "bob reading alice's prompt", err, claudebridge.ENOTFOUND)
	err = s.UpdatePrompt(ctx, &claudebridge.Prompt{ID: p.ID, UserID: bob.ID, Name: "bob's", Text: "mine now"})
	wantCode(t, "bob updating alice's prompt", err, claudebridge.ENOTFOUND)
	err = s.DeletePrompt(ctx, bob.ID, p.ID)
	wantCode(t, "bob deleting alice's prompt", err, claudebridge.ENOTFOUND)
	list, err := s.Prompts(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 0; got != want {
		t.Errorf("bob lists %d prompts, want %d", got, want)
	}

	got, err := s.Prompt(ctx, alice.ID, p.ID)
	if err != nil {
		t.Fatalf("alice's prompt after bob's delete: %v", err)
	}
	if got, want := got.Text, "Talk like a pirate."; got != want {
		t.Errorf("alice's prompt after bob's update %q, want %q", got, want)
	}
	if got, want := conversation(t, s, alice.ID, c.ID).PromptID, p.ID; got != want {
		t.Errorf("alice's conversation's prompt after bob's delete %q, want %q", got, want)
	}
}
