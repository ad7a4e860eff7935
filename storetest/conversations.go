package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// conversations checks the conversation half of ConversationService:
// create, read, list and page, rename, delete, search, and that one
// user never reaches another's.
func conversations(t *testing.T, open func(t *testing.T) Store) {
	runAll(t, open, []behaviour{
		{"ACreatedConversationReadsBackAsCreated", aCreatedConversationReadsBackAsCreated},
		{"AnAbsentConversationIsNotFound", anAbsentConversationIsNotFound},
		{"TheListIsNewestFirstAndATouchedConversationMovesUp", theListIsNewestFirstAndATouchedConversationMovesUp},
		{"PagesGiveEveryConversationOnceAndTheLastHasNoCursor", pagesGiveEveryConversationOnceAndTheLastHasNoCursor},
		{"APageThatEndsTheListExactlyHasNoCursor", aPageThatEndsTheListExactlyHasNoCursor},
		{"ACursorThisStoreDidNotGiveIsInvalid", aCursorThisStoreDidNotGiveIsInvalid},
		{"AnUpdateSavesTitleModelAndPromptAndTouches", anUpdateSavesTitleModelAndPromptAndTouches},
		{"ADeletedConversationIsGoneWithItsMessages", aDeletedConversationIsGoneWithItsMessages},
		{"AnotherUsersConversationIsNotFoundAndUnchanged", anotherUsersConversationIsNotFoundAndUnchanged},
		{"SearchFindsTitlesAndMessageTextOfItsUserOnly", searchFindsTitlesAndMessageTextOfItsUserOnly},
		{"SearchMatchesWildcardCharactersLiterally", searchMatchesWildcardCharactersLiterally},
		{"SearchFollowsEditedAndDeletedMessages", searchFollowsEditedAndDeletedMessages},
		{"SearchLimitsItsAnswer", searchLimitsItsAnswer},
		{"AnEmptySearchIsInvalid", anEmptySearchIsInvalid},
	})
}

func aCreatedConversationReadsBackAsCreated(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	p := &claudebridge.Prompt{UserID: alice.ID, Name: "terse", Text: "Be terse."}
	if err := s.CreatePrompt(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	c := &claudebridge.Conversation{UserID: alice.ID, Title: "Hello", Model: "model-a", PromptID: p.ID}
	if err := s.CreateConversation(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "conv_") {
		t.Errorf("ID %q, want it to start with conv_", c.ID)
	}
	if c.CreatedAt.IsZero() {
		t.Errorf("CreatedAt is zero")
	}
	if got, want := c.UpdatedAt, c.CreatedAt; !got.Equal(want) {
		t.Errorf("a new conversation's UpdatedAt %v, want its CreatedAt %v", got, want)
	}
	other := newConversation(t, s, alice.ID, "Other")
	if other.ID == c.ID {
		t.Errorf("two conversations share the ID %s", c.ID)
	}

	got := conversation(t, s, alice.ID, c.ID)
	if got, want := got.UserID, alice.ID; got != want {
		t.Errorf("UserID %d, want %d", got, want)
	}
	if got, want := got.Title, "Hello"; got != want {
		t.Errorf("Title %q, want %q", got, want)
	}
	if got, want := got.Model, "model-a"; got != want {
		t.Errorf("Model %q, want %q", got, want)
	}
	if got, want := got.PromptID, p.ID; got != want {
		t.Errorf("PromptID %q, want %q", got, want)
	}
	// The times read back are the ones CreateConversation filled: a page
	// that keeps them, and a cursor made from them, see the stored ones.
	if got, want := got.CreatedAt, c.CreatedAt; !got.Equal(want) {
		t.Errorf("CreatedAt %v, want %v", got, want)
	}
	if got, want := got.UpdatedAt, c.UpdatedAt; !got.Equal(want) {
		t.Errorf("UpdatedAt %v, want %v", got, want)
	}
}

func anAbsentConversationIsNotFound(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	newConversation(t, s, alice.ID, "there")
	_, err := s.Conversation(t.Context(), alice.ID, "conv_absent")
	wantCode(t, "Conversation of an absent ID", err, claudebridge.ENOTFOUND)
	_, err = s.Messages(t.Context(), alice.ID, "conv_absent")
	wantCode(t, "Messages of an absent conversation", err, claudebridge.ENOTFOUND)
	err = s.UpdateConversation(t.Context(), &claudebridge.Conversation{ID: "conv_absent", UserID: alice.ID, Title: "x", Model: "m"})
	wantCode(t, "UpdateConversation of an absent ID", err, claudebridge.ENOTFOUND)
	err = s.DeleteConversation(t.Context(), alice.ID, "conv_absent")
	wantCode(t, "DeleteConversation of an absent ID", err, claudebridge.ENOTFOUND)
}

// listAll pages through userID's conversations, limit at a time.
func listAll(t *testing.T, s Store, userID int64, limit int) (all []claudebridge.Conversation, pages int) {
	t.Helper()
	cursor := ""
	seen := map[string]bool{}
	for {
		list, next, err := s.Conversations(t.Context(), userID, cursor, limit)
		if err != nil {
			t.Fatalf("Conversations page %d: %v", pages+1, err)
		}
		pages++
		if len(list) > limit {
			t.Errorf("page %d holds %d conversations, over the limit %d", pages, len(list), limit)
		}
		all = append(all, list...)
		if next == "" {
			return all, pages
		}
		if seen[next] || pages > 100 {
			t.Fatalf("page %d repeats a cursor or never ends: %q", pages, next)
		}
		seen[next] = true
		cursor = next
	}
}

// checkNewestFirst fails t unless list is sorted by UpdatedAt, newest
// first. Ties may come in any order: the suite does not make them, and a
// clock may.
func checkNewestFirst(t *testing.T, list []claudebridge.Conversation) {
	t.Helper()
	for i := 1; i < len(list); i++ {
		if list[i].UpdatedAt.After(list[i-1].UpdatedAt) {
			t.Errorf("conversation %d (%s, updated %v) lists after an older one (%s, updated %v)",
				i, list[i].ID, list[i].UpdatedAt, list[i-1].ID, list[i-1].UpdatedAt)
		}
	}
}

func theListIsNewestFirstAndATouchedConversationMovesUp(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	var made []*claudebridge.Conversation
	for i := range 5 {
		made = append(made, newConversation(t, s, alice.ID, fmt.Sprint("conversation ", i)))
	}
	for i := 1; i < len(made); i++ {
		if made[i].UpdatedAt.Before(made[i-1].UpdatedAt) {
			t.Errorf("conversation %d was created after conversation %d but is older", i, i-1)
		}
	}
	list, _ := listAll(t, s, alice.ID, 10)
	checkNewestFirst(t, list)

	oldest := made[0]
	m := addMessage(t, s, oldest.ID, "user", "back to this", claudebridge.MessageComplete)
	touched := conversation(t, s, alice.ID, oldest.ID)
	if touched.UpdatedAt.Before(m.CreatedAt) {
		t.Errorf("UpdatedAt after a message %v, before the message's CreatedAt %v", touched.UpdatedAt, m.CreatedAt)
	}
	list, _ = listAll(t, s, alice.ID, 10)
	checkNewestFirst(t, list)
	if got, want := len(list), 5; got != want {
		t.Fatalf("listed %d conversations, want %d", got, want)
	}
	if got, want := list[0].UpdatedAt, touched.UpdatedAt; !got.Equal(want) {
		t.Errorf("the first listed was updated %v, want the touched one's %v", got, want)
	}
	if !touched.UpdatedAt.After(made[4].UpdatedAt) {
		return // the clock did not move: which of the ties is first is not defined
	}
	if got, want := list[0].ID, oldest.ID; got != want {
		t.Errorf("first listed %s, want the touched %s", got, want)
	}
}

func pagesGiveEveryConversationOnceAndTheLastHasNoCursor(t *testing.T, s Store) {
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	var want []string
	for i := range 5 {
		want = append(want, newConversation(t, s, alice.ID, fmt.Sprint("alice ", i)).ID)
		newConversation(t, s, bob.ID, fmt.Sprint("bob ", i))
	}
	all, pages := listAll(t, s, alice.ID, 2)
	if got, want := pages, 3; got != want {
		t.Errorf("pages of 2 for 5 conversations %d, want %d", got, want)
	}
	checkNewestFirst(t, all)
	got := ids(all)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("paged %v, want each of alice's %v once", got, want)
	}
	whole, _ := listAll(t, s, alice.ID, 100)
	if got, want := ids(all), ids(whole); !slices.Equal(got, want) {
		t.Errorf("pages of 2 give %v, one page gives %v", got, want)
	}
}

// A store that says there is more whenever a page is full sends the page
// to an empty last page; the chat's export loops on next.
func aPageThatEndsTheListExactlyHasNoCursor(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	for i := range 4 {
		newConversation(t, s, alice.ID, fmt.Sprint("conversation ", i))
	}
	_, pages := listAll(t, s, alice.ID, 2)
	if got, want := pages, 2; got != want {
		t.Errorf("pages of 2 for 4 conversations %d, want %d", got, want)
	}
	list, next, err := s.Conversations(t.Context(), alice.ID, "", 4)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 4; got != want {
		t.Errorf("a page of 4 for 4 conversations holds %d, want %d", got, want)
	}
	if got, want := next, ""; got != want {
		t.Errorf("next after the whole list %q, want none", got)
	}
	empty := newUser(t, s, "bob")
	list, next, err = s.Conversations(t.Context(), empty.ID, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 0; got != want {
		t.Errorf("conversations of a user with none %d, want %d", got, want)
	}
	if got, want := next, ""; got != want {
		t.Errorf("next of an empty list %q, want none", got)
	}
}

// The cursor comes from the page's query string: a made-up one is the
// client's mistake, not a server failure.
func aCursorThisStoreDidNotGiveIsInvalid(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	newConversation(t, s, alice.ID, "one")
	_, _, err := s.Conversations(t.Context(), alice.ID, "not a cursor", 2)
	wantCode(t, "Conversations after a made-up cursor", err, claudebridge.EINVALID)
}

func anUpdateSavesTitleModelAndPromptAndTouches(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	p := &claudebridge.Prompt{UserID: alice.ID, Name: "terse", Text: "Be terse."}
	if err := s.CreatePrompt(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	c := newConversation(t, s, alice.ID, "Old title")
	later := newConversation(t, s, alice.ID, "Later")
	created := c.CreatedAt
	c.Title, c.Model, c.PromptID = "New title", "model-b", p.ID
	if err := s.UpdateConversation(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	got := conversation(t, s, alice.ID, c.ID)
	if got, want := got.Title, "New title"; got != want {
		t.Errorf("Title %q, want %q", got, want)
	}
	if got, want := got.Model, "model-b"; got != want {
		t.Errorf("Model %q, want %q", got, want)
	}
	if got, want := got.PromptID, p.ID; got != want {
		t.Errorf("PromptID %q, want %q", got, want)
	}
	if got, want := got.CreatedAt, created; !got.Equal(want) {
		t.Errorf("CreatedAt after a rename %v, want it kept %v", got, want)
	}
	if got.UpdatedAt.Before(later.UpdatedAt) {
		t.Errorf("UpdatedAt after a rename %v, before a conversation created earlier %v", got.UpdatedAt, later.UpdatedAt)
	}
	c.PromptID = ""
	if err := s.UpdateConversation(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if got, want := conversation(t, s, alice.ID, c.ID).PromptID, ""; got != want {
		t.Errorf("PromptID after choosing none %q, want none", got)
	}
}

func aDeletedConversationIsGoneWithItsMessages(t *testing.T, s Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "doomed")
	kept := newConversation(t, s, alice.ID, "kept")
	addMessage(t, s, c.ID, "user", "findable words", claudebridge.MessageComplete)
	answer := addMessage(t, s, c.ID, "assistant", "half", claudebridge.MessageStreaming)
	addMessage(t, s, kept.ID, "user", "other words", claudebridge.MessageComplete)

	if err := s.DeleteConversation(ctx, alice.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Conversation(ctx, alice.ID, c.ID)
	wantCode(t, "Conversation after delete", err, claudebridge.ENOTFOUND)
	_, err = s.Messages(ctx, alice.ID, c.ID)
	wantCode(t, "Messages after delete", err, claudebridge.ENOTFOUND)
	err = s.DeleteConversation(ctx, alice.ID, c.ID)
	wantCode(t, "DeleteConversation again", err, claudebridge.ENOTFOUND)
	answer.Content = "more"
	err = s.UpdateMessage(ctx, answer)
	wantCode(t, "UpdateMessage of a deleted conversation's message", err, claudebridge.ENOTFOUND)
	// Its messages are gone, not only hidden: a restart finds none of
	// them streaming, a search none of their words.
	interrupted, err := leases(t, s).InterruptLapsed(ctx, time.Now().Add(time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(interrupted), 0; got != want {
		t.Errorf("streaming messages of a deleted conversation %d, want %d", got, want)
	}
	found, err := s.SearchConversations(ctx, alice.ID, "findable", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(found), 0; got != want {
		t.Errorf("search hits in a deleted conversation %d, want %d", got, want)
	}
	list, _ := listAll(t, s, alice.ID, 10)
	if got, want := ids(list), []string{kept.ID}; !slices.Equal(got, want) {
		t.Errorf("listed %v after delete, want %v", got, want)
	}
	if got, want := len(messageList(t, s, alice.ID, kept.ID)), 1; got != want {
		t.Errorf("messages of the other conversation %d, want %d", got, want)
	}
}

func anotherUsersConversationIsNotFoundAndUnchanged(t *testing.T, s Store) {
	ctx := t.Context()
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	c := newConversation(t, s, alice.ID, "Alice's secret")
	addMessage(t, s, c.ID, "user", "secret words", claudebridge.MessageComplete)

	_, err := s.Conversation(ctx, bob.ID, c.ID)
	wantCode(t, "bob reading alice's conversation", err, claudebridge.ENOTFOUND)
	_, err = s.Messages(ctx, bob.ID, c.ID)
	wantCode(t, "bob reading alice's messages", err, claudebridge.ENOTFOUND)
	err = s.UpdateConversation(ctx, &claudebridge.Conversation{ID: c.ID, UserID: bob.ID, Title: "bob's now", Model: "model-b"})
	wantCode(t, "bob renaming alice's conversation", err, claudebridge.ENOTFOUND)
	err = s.DeleteConversation(ctx, bob.ID, c.ID)
	wantCode(t, "bob deleting alice's conversation", err, claudebridge.ENOTFOUND)
	list, next, err := s.Conversations(ctx, bob.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 0; got != want {
		t.Errorf("bob lists %d conversations, want %d", got, want)
	}
	if got, want := next, ""; got != want {
		t.Errorf("bob's next cursor %q, want none", got)
	}
	for _, q := range []string{"secret", "Alice"} {
		found, err := s.SearchConversations(ctx, bob.ID, q, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(found), 0; got != want {
			t.Errorf("bob's search for %q finds %d conversations, want %d", q, got, want)
		}
	}

	got := conversation(t, s, alice.ID, c.ID)
	if got, want := got.Title, "Alice's secret"; got != want {
		t.Errorf("alice's title after bob's rename %q, want %q", got, want)
	}
	if got, want := got.Model, "model-a"; got != want {
		t.Errorf("alice's model after bob's rename %q, want %q", got, want)
	}
	if got, want := len(messageList(t, s, alice.ID, c.ID)), 1; got != want {
		t.Errorf("alice's messages after bob's delete %d, want %d", got, want)
	}
}

func searchFindsTitlesAndMessageTextOfItsUserOnly(t *testing.T, s Store) {
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	byTitle := newConversation(t, s, alice.ID, "Gardening Tips")
	addMessage(t, s, byTitle.ID, "user", "what grows in shade?", claudebridge.MessageComplete)
	byText := newConversation(t, s, alice.ID, "Other")
	addMessage(t, s, byText.ID, "user", "hello", claudebridge.MessageComplete)
	addMessage(t, s, byText.ID, "assistant", "tell me about GARDENING in winter", claudebridge.MessageComplete)
	addMessage(t, s, newConversation(t, s, alice.ID, "Cooking").ID, "user", "pasta", claudebridge.MessageComplete)
	newConversation(t, s, bob.ID, "gardening too")

	found, err := s.SearchConversations(t.Context(), alice.ID, "gardening", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(found), 2; got != want {
		t.Fatalf("found %d conversations, want %d: %v", got, want, ids(found))
	}
	checkNewestFirst(t, found)
	got := ids(found)
	slices.Sort(got)
	want := []string{byTitle.ID, byText.ID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("found %v, want %v", got, want)
	}
	if got, want := found[0].Title, conversation(t, s, alice.ID, found[0].ID).Title; got != want {
		t.Errorf("a hit's title %q, want the stored %q", got, want)
	}
	if conversation(t, s, alice.ID, byText.ID).UpdatedAt.After(conversation(t, s, alice.ID, byTitle.ID).UpdatedAt) {
		if got, want := found[0].ID, byText.ID; got != want {
			t.Errorf("first hit %s, want the most recently updated %s", got, want)
		}
	}
}

// Search words are text, not patterns, in whatever engine matches them.
func searchMatchesWildcardCharactersLiterally(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	percent := newConversation(t, s, alice.ID, "Rates")
	addMessage(t, s, percent.ID, "user", "it went up 100% today", claudebridge.MessageComplete)
	backslash := newConversation(t, s, alice.ID, `C:\temp`)
	addMessage(t, s, newConversation(t, s, alice.ID, "Plain").ID, "user", "a1000 b-c", claudebridge.MessageComplete)

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"0%", []string{percent.ID}},
		{"%", []string{percent.ID}},
		{"_", nil},
		{"a_0", nil},
		{`\t`, []string{backslash.ID}},
		{".*", nil},
		{"[a]", nil},
	} {
		found, err := s.SearchConversations(t.Context(), alice.ID, tc.query, 10)
		if err != nil {
			t.Fatalf("search %q: %v", tc.query, err)
		}
		if got, want := ids(found), tc.want; !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("search %q found %v, want %v", tc.query, got, want)
		}
	}
}

func searchFollowsEditedAndDeletedMessages(t *testing.T, s Store) {
	ctx := t.Context()
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "Chat")
	addMessage(t, s, c.ID, "user", "question", claudebridge.MessageComplete)
	answer := addMessage(t, s, c.ID, "assistant", "", claudebridge.MessageStreaming)
	search := func(q string) int {
		t.Helper()
		found, err := s.SearchConversations(ctx, alice.ID, q, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(found)
	}
	answer.Content, answer.Status = "an aardvark answer", claudebridge.MessageComplete
	if err := s.UpdateMessage(ctx, answer); err != nil {
		t.Fatal(err)
	}
	if got, want := search("aardvark"), 1; got != want {
		t.Errorf("hits for a word an update wrote %d, want %d", got, want)
	}
	if err := s.DeleteMessagesFrom(ctx, c.ID, answer.Seq); err != nil {
		t.Fatal(err)
	}
	if got, want := search("aardvark"), 0; got != want {
		t.Errorf("hits for a word of a deleted message %d, want %d", got, want)
	}
	if got, want := search("question"), 1; got != want {
		t.Errorf("hits for a word of a kept message %d, want %d", got, want)
	}
	c.Title = "Renamed zebra"
	if err := s.UpdateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, want := search("zebra"), 1; got != want {
		t.Errorf("hits for a word of a new title %d, want %d", got, want)
	}
	if got, want := search("Chat"), 0; got != want {
		t.Errorf("hits for a word of the old title %d, want %d", got, want)
	}
}

// SearchConversations: at most limit, 1 to 100, default 20.
func searchLimitsItsAnswer(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	for i := range 101 {
		newConversation(t, s, alice.ID, fmt.Sprint("match ", i))
	}
	for _, tc := range []struct{ limit, want int }{{5, 5}, {0, 20}, {100, 100}, {1000, 100}} {
		found, err := s.SearchConversations(t.Context(), alice.ID, "match", tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(found), tc.want; got != want {
			t.Errorf("hits with limit %d: %d, want %d", tc.limit, got, want)
		}
		checkNewestFirst(t, found)
	}
}

func anEmptySearchIsInvalid(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	newConversation(t, s, alice.ID, "anything")
	for _, q := range []string{"", "   "} {
		_, err := s.SearchConversations(t.Context(), alice.ID, q, 10)
		wantCode(t, fmt.Sprintf("search %q", q), err, claudebridge.EINVALID)
	}
}
