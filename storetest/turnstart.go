package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// turnStarts checks claudebridge.TurnStarter: a turn's start and end each
// stored in one step, the same as the steps one by one would store them,
// and nothing at all when another process holds the conversation.
func turnStarts(t *testing.T, open func(t *testing.T) Store) {
	runAll(t, open, []behaviour{
		{"AStartedTurnIsStoredAsItsStepsWouldStoreIt", aStartedTurnIsStoredAsItsStepsWouldStoreIt},
		{"ATurnStartedInANewConversationStoresItWithItsID", aTurnStartedInANewConversationStoresItWithItsID},
		{"ATurnStartedWhereAnotherOwnerHoldsChangesNothing", aTurnStartedWhereAnotherOwnerHoldsChangesNothing},
		{"AStartedTurnSavesAChangedConversation", aStartedTurnSavesAChangedConversation},
		{"ATurnStartedInAnAbsentConversationIsNotFound", aTurnStartedInAnAbsentConversationIsNotFound},
		{"AnEndedTurnIsSavedAndItsHoldGivenUp", anEndedTurnIsSavedAndItsHoldGivenUp},
		{"OfEightOwnersStartingTurnsInOneConversationAtOnceOneDoes", ofEightOwnersStartingTurnsInOneConversationAtOnceOneDoes},
	})
}

// starter is s as a TurnStarter; the test is skipped for a store without.
func starter(t *testing.T, s Store) claudebridge.TurnStarter {
	t.Helper()
	ts, ok := s.(claudebridge.TurnStarter)
	if !ok {
		t.Skipf("%T stores a turn's start step by step", s)
	}
	return ts
}

// live gives each owner a lease that runs an hour past at.
func live(t *testing.T, s Store, at time.Time, owners ...string) {
	t.Helper()
	for _, o := range owners {
		if err := leases(t, s).RenewTurnLease(t.Context(), o, at.Add(time.Hour)); err != nil {
			t.Fatalf("RenewTurnLease %s: %v", o, err)
		}
	}
}

// aSend is what a turn for a send stores: the user's text and the answer
// it starts writing.
func aSend(c *claudebridge.Conversation, owner, text, turnID string) *claudebridge.TurnStart {
	return &claudebridge.TurnStart{Conversation: c, Owner: owner, At: c.CreatedAt, Messages: []*claudebridge.Message{
		{ConversationID: c.ID, Role: "user", Content: text, Status: claudebridge.MessageComplete},
		{ConversationID: c.ID, Role: "assistant", Status: claudebridge.MessageStreaming, Model: c.Model, TurnID: turnID},
	}}
}

// storedMessages reads a conversation's messages and fails t if it cannot.
func storedMessages(t *testing.T, s Store, userID int64, conversationID string) []claudebridge.Message {
	t.Helper()
	list, err := s.Messages(t.Context(), userID, conversationID)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	return list
}

// contents lists "role:content/status" of each message, in order.
func contents(list []claudebridge.Message) []string {
	var out []string
	for _, m := range list {
		out = append(out, m.Role+":"+m.Content+"/"+m.Status)
	}
	return out
}

func aStartedTurnIsStoredAsItsStepsWouldStoreIt(t *testing.T, s Store) {
	ts := starter(t, s)
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	addMessage(t, s, c.ID, "user", "first", claudebridge.MessageComplete)
	addMessage(t, s, c.ID, "assistant", "an answer", claudebridge.MessageComplete)
	live(t, s, c.CreatedAt, "p1")
	start := aSend(c, "p1", "second", "turn_2")
	got, ok, err := ts.StartTurn(t.Context(), start)
	if err != nil || !ok {
		t.Fatalf("StartTurn in a free conversation: ok %v, err %v", ok, err)
	}
	stored := storedMessages(t, s, alice.ID, c.ID)
	want := []string{"user:first/complete", "assistant:an answer/complete", "user:second/complete", "assistant:/streaming"}
	if g := contents(stored); !slices.Equal(g, want) {
		t.Fatalf("stored messages %q, want %q", g, want)
	}
	if g := contents(got); !slices.Equal(g, want) {
		t.Errorf("returned messages %q, want %q (the conversation after the start)", g, want)
	}
	for i, m := range start.Messages {
		st := stored[2+i]
		if m.ID != st.ID || m.Seq != st.Seq || m.Seq != 3+i || !m.CreatedAt.Equal(st.CreatedAt) || m.ConversationID != c.ID {
			t.Errorf("message %d filled as id %q seq %d at %v, stored as %q seq %d at %v", i, m.ID, m.Seq, m.CreatedAt, st.ID, st.Seq, st.CreatedAt)
		}
		if got[2+i].ID != st.ID || got[2+i].TurnID != st.TurnID {
			t.Errorf("returned message %d is %q of turn %q, stored %q of %q", i, got[2+i].ID, got[2+i].TurnID, st.ID, st.TurnID)
		}
	}
	if after := conversation(t, s, alice.ID, c.ID); !after.UpdatedAt.After(c.CreatedAt) {
		t.Errorf("the conversation's UpdatedAt stayed %v: not touched", after.UpdatedAt)
	}
	// Held: another owner is refused it.
	live(t, s, c.CreatedAt, "p2")
	if reserve(t, s, c.ID, "p2", c.CreatedAt) {
		t.Error("another owner reserved the conversation of a started turn")
	}
	// Claimed: a sweep leaves the answer of a live owner, where it marks an
	// unclaimed one at once (no grace).
	if marked := sweep(t, s, stored[3].UpdatedAt.Add(time.Minute), 0); len(marked) != 0 {
		t.Errorf("a sweep marked %v: the answer was not claimed by its live owner", marked)
	}
}

func aTurnStartedInANewConversationStoresItWithItsID(t *testing.T, s Store) {
	ts := starter(t, s)
	alice := newUser(t, s, "alice")
	before := newConversation(t, s, alice.ID, "an older one")
	live(t, s, before.CreatedAt, "p1")
	c := &claudebridge.Conversation{ID: "conv_0123456789abcdef01234567", UserID: alice.ID, Title: "new", Model: "model-a", PromptID: "prompt_x"}
	start := aSend(c, "p1", "hello", "turn_1")
	start.New, start.At = true, before.CreatedAt
	got, ok, err := ts.StartTurn(t.Context(), start)
	if err != nil || !ok {
		t.Fatalf("StartTurn in a new conversation: ok %v, err %v", ok, err)
	}
	stored := conversation(t, s, alice.ID, c.ID)
	if stored.Title != "new" || stored.Model != "model-a" || stored.PromptID != "prompt_x" ||
		!stored.CreatedAt.Equal(c.CreatedAt) || !stored.UpdatedAt.Equal(c.UpdatedAt) || c.CreatedAt.Before(before.CreatedAt) {
		t.Errorf("stored %+v, filled %+v", stored, c)
	}
	want := []string{"user:hello/complete", "assistant:/streaming"}
	if g := contents(storedMessages(t, s, alice.ID, c.ID)); !slices.Equal(g, want) {
		t.Errorf("stored messages %q, want %q", g, want)
	}
	if g := contents(got); !slices.Equal(g, want) {
		t.Errorf("returned messages %q, want %q", g, want)
	}
	if list, _, err := s.Conversations(t.Context(), alice.ID, "", 10); err != nil || len(list) != 2 || list[0].ID != c.ID {
		t.Errorf("Conversations: %v (err %v), want the new one first of two", ids(list), err)
	}
	// Another start with the same id stores nothing.
	again := aSend(&claudebridge.Conversation{ID: c.ID, UserID: alice.ID, Title: "twice"}, "p1", "again", "turn_2")
	again.New = true
	if _, _, err := ts.StartTurn(t.Context(), again); err == nil {
		t.Error("a second new conversation with a taken id was stored")
	}
	if g := conversation(t, s, alice.ID, c.ID).Title; g != "new" {
		t.Errorf("title %q after a clash, want new", g)
	}
}

func aTurnStartedWhereAnotherOwnerHoldsChangesNothing(t *testing.T, s Store) {
	ts := starter(t, s)
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "busy")
	addMessage(t, s, c.ID, "user", "first", claudebridge.MessageComplete)
	live(t, s, c.CreatedAt, "holder", "late")
	if !reserve(t, s, c.ID, "holder", c.CreatedAt) {
		t.Fatal("holder could not reserve a free conversation")
	}
	before := conversation(t, s, alice.ID, c.ID)
	start := aSend(c, "late", "second", "turn_late")
	start.Changed, c.Title = true, "renamed by the late turn"
	got, ok, err := ts.StartTurn(t.Context(), start)
	if err != nil || ok {
		t.Fatalf("StartTurn where another holds: ok %v, err %v; want false, nil", ok, err)
	}
	if got != nil {
		t.Errorf("a refused start returned messages %q", contents(got))
	}
	if g, want := contents(storedMessages(t, s, alice.ID, c.ID)), []string{"user:first/complete"}; !slices.Equal(g, want) {
		t.Errorf("messages after a refused start %q, want %q", g, want)
	}
	after := conversation(t, s, alice.ID, c.ID)
	if after.Title != before.Title || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("a refused start changed the conversation: %q at %v, was %q at %v", after.Title, after.UpdatedAt, before.Title, before.UpdatedAt)
	}
	if reserve(t, s, c.ID, "late", c.CreatedAt) {
		t.Error("the refused owner holds the conversation")
	}
}

func aStartedTurnSavesAChangedConversation(t *testing.T, s Store) {
	ts := starter(t, s)
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	live(t, s, c.CreatedAt, "p1")
	start := aSend(c, "p1", "hello", "turn_1")
	start.Changed, c.Model, c.Title = true, "model-b", "retitled"
	if _, ok, err := ts.StartTurn(t.Context(), start); err != nil || !ok {
		t.Fatalf("StartTurn: ok %v, err %v", ok, err)
	}
	if after := conversation(t, s, alice.ID, c.ID); after.Model != "model-b" || after.Title != "retitled" {
		t.Errorf("conversation after a changed start: model %q title %q, want model-b retitled", after.Model, after.Title)
	}
	// Unchanged, what is stored stays even if the caller's copy differs.
	c.Title = "not to be saved"
	start = aSend(c, "p1", "again", "turn_2")
	if _, ok, err := ts.StartTurn(t.Context(), start); err != nil || !ok {
		t.Fatalf("StartTurn: ok %v, err %v", ok, err)
	}
	if after := conversation(t, s, alice.ID, c.ID); after.Title != "retitled" {
		t.Errorf("an unchanged start saved the title %q", after.Title)
	}
}

func aTurnStartedInAnAbsentConversationIsNotFound(t *testing.T, s Store) {
	ts := starter(t, s)
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "gone")
	if err := s.DeleteConversation(t.Context(), alice.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	live(t, s, c.CreatedAt, "p1")
	_, ok, err := ts.StartTurn(t.Context(), aSend(c, "p1", "hello", "turn_1"))
	wantCode(t, "StartTurn in a deleted conversation", err, claudebridge.ENOTFOUND)
	if ok {
		t.Error("StartTurn in a deleted conversation reported it held")
	}
}

func anEndedTurnIsSavedAndItsHoldGivenUp(t *testing.T, s Store) {
	ts := starter(t, s)
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	live(t, s, c.CreatedAt, "p1", "p2")
	start := aSend(c, "p1", "hello", "turn_1")
	if _, ok, err := ts.StartTurn(t.Context(), start); err != nil || !ok {
		t.Fatalf("StartTurn: ok %v, err %v", ok, err)
	}
	answer := start.Messages[1]
	// Another owner's end gives up no hold of p1's.
	other := *answer
	if err := ts.EndTurn(t.Context(), &other, "p2"); err != nil {
		t.Fatalf("EndTurn by another owner: %v", err)
	}
	if reserve(t, s, c.ID, "p2", c.CreatedAt) {
		t.Fatal("another owner's EndTurn freed p1's hold")
	}
	answer.Content, answer.Status = "the whole answer", claudebridge.MessageComplete
	answer.Usage = claudebridge.Usage{InputTokens: 7, OutputTokens: 3}
	if err := ts.EndTurn(t.Context(), answer, "p1"); err != nil {
		t.Fatalf("EndTurn: %v", err)
	}
	got := storedMessages(t, s, alice.ID, c.ID)[1]
	if got.Content != "the whole answer" || got.Status != claudebridge.MessageComplete || got.Usage != answer.Usage {
		t.Errorf("ended answer stored as %q/%s %+v", got.Content, got.Status, got.Usage)
	}
	if !reserve(t, s, c.ID, "p2", c.CreatedAt) {
		t.Error("the conversation stayed held after its turn ended")
	}
}

func ofEightOwnersStartingTurnsInOneConversationAtOnceOneDoes(t *testing.T, s Store) {
	ts := starter(t, s)
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "contested")
	owners := []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"}
	live(t, s, c.CreatedAt, owners...)
	var wg sync.WaitGroup
	got := make([]bool, len(owners))
	for i, o := range owners {
		wg.Go(func() {
			cc := *c
			_, ok, err := ts.StartTurn(t.Context(), aSend(&cc, o, "from "+o, "turn_"+o))
			if err != nil {
				t.Errorf("StartTurn %s: %v", o, err)
			}
			got[i] = ok
		})
	}
	wg.Wait()
	var winners []string
	for i, ok := range got {
		if ok {
			winners = append(winners, owners[i])
		}
	}
	if len(winners) != 1 {
		t.Fatalf("owners that started a turn: %v, want one", winners)
	}
	want := []string{"user:from " + winners[0] + "/complete", "assistant:/streaming"}
	if g := contents(storedMessages(t, s, alice.ID, c.ID)); !slices.Equal(g, want) {
		t.Errorf("messages %q, want %q", g, want)
	}
}
