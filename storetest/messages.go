package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// messages checks the message half of ConversationService: append,
// update, cut, import, the crash sweep, and concurrent writers.
func messages(t *testing.T, open func(t *testing.T) Store) {
	runAll(t, open, []behaviour{
		{"MessagesAreNumberedFromOneAndReadBackInOrder", messagesAreNumberedFromOneAndReadBackInOrder},
		{"AMessageReadsBackWithEveryField", aMessageReadsBackWithEveryField},
		{"AMessageTouchesItsConversation", aMessageTouchesItsConversation},
		{"AMessageToAnAbsentConversationIsNotFound", aMessageToAnAbsentConversationIsNotFound},
		{"AnUpdateSavesTheAnswerAndKeepsItsPlace", anUpdateSavesTheAnswerAndKeepsItsPlace},
		{"TheCountedFlagIsSavedAndCleared", theCountedFlagIsSavedAndCleared},
		{"StreamingTextsAreSavedOnlyWhileTheirTurnWritesThem", streamingTextsAreSavedOnlyWhileTheirTurnWritesThem},
		{"AnUpdateOfAnAbsentMessageIsNotFound", anUpdateOfAnAbsentMessageIsNotFound},
		{"DeleteMessagesFromCutsThatSeqAndLaterOfThatConversationOnly", deleteMessagesFromCutsThatSeqAndLaterOfThatConversationOnly},
		{"AMessageAfterACutTakesTheNextNumber", aMessageAfterACutTakesTheNextNumber},
		{"ASweepOfUnclaimedAnswersMarksAndReturnsOnlyStreamingMessages", aSweepOfUnclaimedAnswersMarksAndReturnsOnlyStreamingMessages},
		{"AnImportStoresWholeConversationsOfItsUser", anImportStoresWholeConversationsOfItsUser},
		{"ConcurrentAppendsGetDistinctDenseSeqs", concurrentAppendsGetDistinctDenseSeqs},
	})
}

func messagesAreNumberedFromOneAndReadBackInOrder(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	other := newConversation(t, s, alice.ID, "other")
	var made []*claudebridge.Message
	for i, role := range []string{"user", "assistant", "user", "assistant"} {
		made = append(made, addMessage(t, s, c.ID, role, fmt.Sprint("text ", i), claudebridge.MessageComplete))
		// Another conversation's messages do not take this one's numbers.
		addMessage(t, s, other.ID, role, "elsewhere", claudebridge.MessageComplete)
	}
	for i, m := range made {
		if got, want := m.Seq, i+1; got != want {
			t.Errorf("message %d: Seq %d, want %d", i, got, want)
		}
		if !strings.HasPrefix(m.ID, "msg_") {
			t.Errorf("message %d: ID %q, want it to start with msg_", i, m.ID)
		}
	}
	list := messageList(t, s, alice.ID, c.ID)
	if got, want := len(list), 4; got != want {
		t.Fatalf("messages %d, want %d", got, want)
	}
	for i, m := range list {
		if got, want := m.Seq, i+1; got != want {
			t.Errorf("message %d read back with Seq %d, want %d", i, got, want)
		}
		if got, want := m.ID, made[i].ID; got != want {
			t.Errorf("message %d: ID %s, want %s", i, got, want)
		}
		if got, want := m.Content, fmt.Sprint("text ", i); got != want {
			t.Errorf("message %d: Content %q, want %q", i, got, want)
		}
	}
	empty := newConversation(t, s, alice.ID, "empty")
	if got, want := len(messageList(t, s, alice.ID, empty.ID)), 0; got != want {
		t.Errorf("messages of a new conversation %d, want %d", got, want)
	}
}

// checkMessage compares every stored field of got with want.
func checkMessage(t *testing.T, what string, got, want claudebridge.Message) {
	t.Helper()
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"ID", got.ID, want.ID},
		{"ConversationID", got.ConversationID, want.ConversationID},
		{"Seq", got.Seq, want.Seq},
		{"Role", got.Role, want.Role},
		{"Content", got.Content, want.Content},
		{"Status", got.Status, want.Status},
		{"Error", got.Error, want.Error},
		{"Model", got.Model, want.Model},
		{"Usage.InputTokens", got.Usage.InputTokens, want.Usage.InputTokens},
		{"Usage.OutputTokens", got.Usage.OutputTokens, want.Usage.OutputTokens},
		{"Usage.CacheCreationInputTokens", got.Usage.CacheCreationInputTokens, want.Usage.CacheCreationInputTokens},
		{"Usage.CacheReadInputTokens", got.Usage.CacheReadInputTokens, want.Usage.CacheReadInputTokens},
		{"OutputTokensCounted", got.OutputTokensCounted, want.OutputTokensCounted},
		{"TurnID", got.TurnID, want.TurnID},
	} {
		if f.got != f.want {
			t.Errorf("%s: %s %v, want %v", what, f.name, f.got, f.want)
		}
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s: CreatedAt %v, want %v", what, got.CreatedAt, want.CreatedAt)
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s: UpdatedAt %v, want %v", what, got.UpdatedAt, want.UpdatedAt)
	}
}

func aMessageReadsBackWithEveryField(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	m := &claudebridge.Message{
		ConversationID: c.ID, Role: "assistant", Content: "**partial** answer", Status: claudebridge.MessageError,
		Error: "The model is overloaded", Model: "model-b", TurnID: "turn_1", OutputTokensCounted: true,
		Usage: claudebridge.Usage{InputTokens: 11, OutputTokens: 22, CacheCreationInputTokens: 33, CacheReadInputTokens: 44},
	}
	if err := s.AddMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if m.CreatedAt.IsZero() {
		t.Errorf("CreatedAt is zero")
	}
	if got, want := m.UpdatedAt, m.CreatedAt; !got.Equal(want) {
		t.Errorf("a new message's UpdatedAt %v, want its CreatedAt %v", got, want)
	}
	list := messageList(t, s, alice.ID, c.ID)
	if got, want := len(list), 1; got != want {
		t.Fatalf("messages %d, want %d", got, want)
	}
	checkMessage(t, "read back", list[0], *m)
}

func aMessageTouchesItsConversation(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	later := newConversation(t, s, alice.ID, "later")
	m := addMessage(t, s, c.ID, "user", "hello", claudebridge.MessageComplete)
	got := conversation(t, s, alice.ID, c.ID)
	if got.UpdatedAt.Before(m.CreatedAt) {
		t.Errorf("conversation UpdatedAt %v, before its new message's CreatedAt %v", got.UpdatedAt, m.CreatedAt)
	}
	if got.UpdatedAt.Before(later.UpdatedAt) {
		t.Errorf("conversation UpdatedAt %v, before a conversation created earlier %v", got.UpdatedAt, later.UpdatedAt)
	}
	if got, want := got.CreatedAt, c.CreatedAt; !got.Equal(want) {
		t.Errorf("conversation CreatedAt %v after a message, want it kept %v", got, want)
	}
}

func aMessageToAnAbsentConversationIsNotFound(t *testing.T, s Store) {
	newUser(t, s, "alice")
	err := s.AddMessage(t.Context(), &claudebridge.Message{ConversationID: "conv_absent", Role: "user", Content: "hi", Status: claudebridge.MessageComplete})
	wantCode(t, "AddMessage to an absent conversation", err, claudebridge.ENOTFOUND)
}

// A turn stores its answer streaming, then saves it as it ends: by
// another model and turn when it is continued.
func anUpdateSavesTheAnswerAndKeepsItsPlace(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	addMessage(t, s, c.ID, "user", "question", claudebridge.MessageComplete)
	m := &claudebridge.Message{ConversationID: c.ID, Role: "assistant", Status: claudebridge.MessageStreaming, Model: "model-a", TurnID: "turn_1"}
	if err := s.AddMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	created := m.CreatedAt
	m.Content, m.Status, m.Error, m.Model, m.TurnID = "the whole answer", claudebridge.MessageComplete, "", "model-b", "turn_2"
	m.Usage = claudebridge.Usage{InputTokens: 5, OutputTokens: 6, CacheCreationInputTokens: 7, CacheReadInputTokens: 8}
	if err := s.UpdateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if m.UpdatedAt.Before(created) {
		t.Errorf("UpdatedAt after an update %v, before CreatedAt %v", m.UpdatedAt, created)
	}
	list := messageList(t, s, alice.ID, c.ID)
	if got, want := len(list), 2; got != want {
		t.Fatalf("messages %d, want %d", got, want)
	}
	want := *m
	want.CreatedAt = created
	checkMessage(t, "after update", list[1], want)

	m.Status, m.Error = claudebridge.MessageError, "The upstream failed"
	if err := s.UpdateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	list = messageList(t, s, alice.ID, c.ID)
	if got, want := list[1].Error, "The upstream failed"; got != want {
		t.Errorf("Error %q, want %q", got, want)
	}
	if got, want := list[1].Status, claudebridge.MessageError; got != want {
		t.Errorf("Status %q, want %q", got, want)
	}
}

// The chat saves the growing texts of all its answers at once, while its
// turns end (and store their final text) beside it: a save must never
// write over an answer that ended, or that a later turn continues.
func streamingTextsAreSavedOnlyWhileTheirTurnWritesThem(t *testing.T, s Store) {
	saver, ok := s.(claudebridge.StreamingTextSaver)
	if !ok {
		t.Skipf("%T saves streaming texts one UpdateMessage at a time", s)
	}
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	streaming := func(turnID string) *claudebridge.Message {
		m := &claudebridge.Message{ConversationID: c.ID, Role: "assistant", Status: claudebridge.MessageStreaming, TurnID: turnID}
		if err := s.AddMessage(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	growing, ended, continued := streaming("turn_a"), streaming("turn_b"), streaming("turn_c")
	ended.Content, ended.Status = "the final text", claudebridge.MessageComplete
	if err := s.UpdateMessage(t.Context(), ended); err != nil {
		t.Fatal(err)
	}
	continued.TurnID = "turn_d"
	if err := s.UpdateMessage(t.Context(), continued); err != nil {
		t.Fatal(err)
	}
	err := saver.SaveStreamingTexts(t.Context(), []claudebridge.StreamingText{
		{MessageID: growing.ID, TurnID: "turn_a", Content: "so far"},
		{MessageID: ended.ID, TurnID: "turn_b", Content: "the text before the end"},
		{MessageID: continued.ID, TurnID: "turn_c", Content: "the former turn's text"},
		{MessageID: "msg_absent", TurnID: "turn_e", Content: "nothing"},
	})
	if err != nil {
		t.Fatal(err)
	}
	list := messageList(t, s, alice.ID, c.ID)
	if got, want := len(list), 3; got != want {
		t.Fatalf("messages %d, want %d", got, want)
	}
	if got, want := list[0].Content, "so far"; got != want {
		t.Errorf("streaming answer's text %q, want %q", got, want)
	}
	if got, want := list[0].Status, claudebridge.MessageStreaming; got != want {
		t.Errorf("streaming answer's status %q, want %q", got, want)
	}
	if list[0].UpdatedAt.Before(growing.UpdatedAt) {
		t.Errorf("streaming answer's UpdatedAt %v, before its former %v", list[0].UpdatedAt, growing.UpdatedAt)
	}
	if got, want := list[1].Content, "the final text"; got != want {
		t.Errorf("ended answer's text %q, want %q", got, want)
	}
	if got, want := list[1].Status, claudebridge.MessageComplete; got != want {
		t.Errorf("ended answer's status %q, want %q", got, want)
	}
	if got, want := list[2].Content, ""; got != want {
		t.Errorf("continued answer's text %q, want %q (the former turn's save is not its)", got, want)
	}
	if err := saver.SaveStreamingTexts(t.Context(), nil); err != nil {
		t.Errorf("saving no texts: %v", err)
	}
}

// The chat marks an answer whose output tokens it counted from the text
// (Stop, a crash, an error), and unmarks it when a continuation gets the
// model's own count.
func theCountedFlagIsSavedAndCleared(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	m := addMessage(t, s, c.ID, "assistant", "", claudebridge.MessageStreaming)
	m.Status, m.Usage.OutputTokens, m.OutputTokensCounted = claudebridge.MessageStopped, 12, true
	if err := s.UpdateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if got, want := messageList(t, s, alice.ID, c.ID)[0].OutputTokensCounted, true; got != want {
		t.Errorf("OutputTokensCounted after marking %v, want %v", got, want)
	}
	m.Status, m.Usage.OutputTokens, m.OutputTokensCounted = claudebridge.MessageComplete, 40, false
	if err := s.UpdateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if got, want := messageList(t, s, alice.ID, c.ID)[0].OutputTokensCounted, false; got != want {
		t.Errorf("OutputTokensCounted after unmarking %v, want %v", got, want)
	}
}

func anUpdateOfAnAbsentMessageIsNotFound(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	err := s.UpdateMessage(t.Context(), &claudebridge.Message{ID: "msg_absent", ConversationID: c.ID, Role: "assistant", Content: "x", Status: claudebridge.MessageComplete})
	wantCode(t, "UpdateMessage of an absent message", err, claudebridge.ENOTFOUND)
}

func deleteMessagesFromCutsThatSeqAndLaterOfThatConversationOnly(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	other := newConversation(t, s, alice.ID, "other")
	for i := range 4 {
		addMessage(t, s, c.ID, "user", fmt.Sprint("text ", i), claudebridge.MessageComplete)
		addMessage(t, s, other.ID, "user", fmt.Sprint("other ", i), claudebridge.MessageComplete)
	}
	if err := s.DeleteMessagesFrom(t.Context(), c.ID, 3); err != nil {
		t.Fatal(err)
	}
	var seqs []int
	for _, m := range messageList(t, s, alice.ID, c.ID) {
		seqs = append(seqs, m.Seq)
	}
	if got, want := seqs, []int{1, 2}; !slices.Equal(got, want) {
		t.Errorf("seqs after cutting from 3: %v, want %v", got, want)
	}
	if got, want := len(messageList(t, s, alice.ID, other.ID)), 4; got != want {
		t.Errorf("messages of another conversation after the cut %d, want %d", got, want)
	}
	// Cutting past the end changes nothing and is no error.
	if err := s.DeleteMessagesFrom(t.Context(), c.ID, 10); err != nil {
		t.Errorf("cutting past the end: %v", err)
	}
	if got, want := len(messageList(t, s, alice.ID, c.ID)), 2; got != want {
		t.Errorf("messages after cutting past the end %d, want %d", got, want)
	}
}

// Regenerating cuts an answer and writes a new one in its place: the
// conversation stays numbered 1 to n, as the page shows it.
func aMessageAfterACutTakesTheNextNumber(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "chat")
	for i := range 4 {
		addMessage(t, s, c.ID, "user", fmt.Sprint("text ", i), claudebridge.MessageComplete)
	}
	if err := s.DeleteMessagesFrom(t.Context(), c.ID, 2); err != nil {
		t.Fatal(err)
	}
	m := addMessage(t, s, c.ID, "assistant", "again", claudebridge.MessageComplete)
	if got, want := m.Seq, 2; got != want {
		t.Errorf("Seq after cutting from 2: %d, want %d", got, want)
	}
	list := messageList(t, s, alice.ID, c.ID)
	if got, want := len(list), 2; got != want {
		t.Fatalf("messages %d, want %d", got, want)
	}
	if got, want := list[1].Content, "again"; got != want {
		t.Errorf("second message %q, want %q", got, want)
	}
}

// A sweep with no grace marks every streaming answer no process claimed, as
// one process alone on its store does at start-up.
func aSweepOfUnclaimedAnswersMarksAndReturnsOnlyStreamingMessages(t *testing.T, s Store) {
	ctx := t.Context()
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	ca, cb := newConversation(t, s, alice.ID, "alice's"), newConversation(t, s, bob.ID, "bob's")
	addMessage(t, s, ca.ID, "user", "q", claudebridge.MessageComplete)
	aliceCut := addMessage(t, s, ca.ID, "assistant", "half of alice's", claudebridge.MessageStreaming)
	addMessage(t, s, cb.ID, "user", "q", claudebridge.MessageComplete)
	stopped := addMessage(t, s, cb.ID, "assistant", "stopped", claudebridge.MessageStopped)
	bobCut := addMessage(t, s, cb.ID, "assistant", "half of bob's", claudebridge.MessageStreaming)

	list, err := leases(t, s).InterruptLapsed(ctx, time.Now().Add(time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 2; got != want {
		t.Fatalf("interrupted %d messages, want %d", got, want)
	}
	byID := map[string]claudebridge.InterruptedMessage{}
	for _, im := range list {
		byID[im.Message.ID] = im
	}
	for _, tc := range []struct {
		m    *claudebridge.Message
		user int64
	}{{aliceCut, alice.ID}, {bobCut, bob.ID}} {
		im, ok := byID[tc.m.ID]
		if !ok {
			t.Errorf("message %q not among the interrupted", tc.m.Content)
			continue
		}
		if got, want := im.UserID, tc.user; got != want {
			t.Errorf("%q: UserID %d, want %d", tc.m.Content, got, want)
		}
		if got, want := im.Message.Status, claudebridge.MessageInterrupted; got != want {
			t.Errorf("%q: returned Status %q, want %q", tc.m.Content, got, want)
		}
		if got, want := im.Message.Content, tc.m.Content; got != want {
			t.Errorf("%q: returned Content %q, want %q", tc.m.Content, got, want)
		}
	}
	for _, m := range append(messageList(t, s, alice.ID, ca.ID), messageList(t, s, bob.ID, cb.ID)...) {
		want := claudebridge.MessageComplete
		switch m.ID {
		case aliceCut.ID, bobCut.ID:
			want = claudebridge.MessageInterrupted
		case stopped.ID:
			want = claudebridge.MessageStopped
		}
		if got := m.Status; got != want {
			t.Errorf("%q: stored Status %q, want %q", m.Content, got, want)
		}
	}
	again, err := leases(t, s).InterruptLapsed(ctx, time.Now().Add(time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(again), 0; got != want {
		t.Errorf("interrupted by a second sweep %d, want %d", got, want)
	}
}

func anImportStoresWholeConversationsOfItsUser(t *testing.T, s Store) {
	ctx := t.Context()
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	imports := []claudebridge.ImportedConversation{
		{
			Conversation: &claudebridge.Conversation{UserID: alice.ID, Title: "first", Model: "model-a"},
			Messages: []*claudebridge.Message{
				{Role: "user", Content: "q1", Status: claudebridge.MessageComplete},
				{Role: "assistant", Content: "a1", Status: claudebridge.MessageComplete, Model: "model-a",
					Usage: claudebridge.Usage{InputTokens: 3, OutputTokens: 4}},
			},
		},
		{
			Conversation: &claudebridge.Conversation{UserID: alice.ID, Title: "second", Model: "model-b"},
			Messages:     []*claudebridge.Message{{Role: "user", Content: "q2", Status: claudebridge.MessageComplete}},
		},
	}
	if err := s.ImportConversations(ctx, imports); err != nil {
		t.Fatal(err)
	}
	for _, ic := range imports {
		c := ic.Conversation
		if !strings.HasPrefix(c.ID, "conv_") {
			t.Errorf("imported %q: ID %q, want it to start with conv_", c.Title, c.ID)
		}
		got := conversation(t, s, alice.ID, c.ID)
		if got, want := got.Title, c.Title; got != want {
			t.Errorf("imported title %q, want %q", got, want)
		}
		if got, want := got.Model, c.Model; got != want {
			t.Errorf("imported %q: model %q, want %q", c.Title, got, want)
		}
		list := messageList(t, s, alice.ID, c.ID)
		if got, want := len(list), len(ic.Messages); got != want {
			t.Fatalf("imported %q: %d messages, want %d", c.Title, got, want)
		}
		for i, m := range ic.Messages {
			if got, want := m.Seq, i+1; got != want {
				t.Errorf("imported %q message %d: Seq %d, want %d", c.Title, i, got, want)
			}
			if got, want := m.ConversationID, c.ID; got != want {
				t.Errorf("imported %q message %d: ConversationID %q, want %q", c.Title, i, got, want)
			}
			checkMessage(t, fmt.Sprintf("imported %q message %d", c.Title, i), list[i], *m)
		}
		_, err := s.Conversation(ctx, bob.ID, c.ID)
		wantCode(t, "bob reading alice's import", err, claudebridge.ENOTFOUND)
	}
	list, _ := listAll(t, s, alice.ID, 10)
	if got, want := len(list), 2; got != want {
		t.Errorf("alice lists %d conversations after the import, want %d", got, want)
	}
	// An imported conversation goes on like any other.
	next := addMessage(t, s, imports[1].Conversation.ID, "assistant", "a2", claudebridge.MessageComplete)
	if got, want := next.Seq, 2; got != want {
		t.Errorf("Seq of a message after an import of one %d, want %d", got, want)
	}
}

// Two turns of one conversation (two tabs, two processes) append at once:
// every message gets a number of its own, and no number is skipped.
func concurrentAppendsGetDistinctDenseSeqs(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	c := newConversation(t, s, alice.ID, "busy")
	const writers, each = 8, 8
	made := make([][]*claudebridge.Message, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				m := &claudebridge.Message{ConversationID: c.ID, Role: "user", Content: fmt.Sprintf("writer %d message %d", w, i), Status: claudebridge.MessageComplete}
				if err := s.AddMessage(t.Context(), m); err != nil {
					errs[w] = err
					return
				}
				made[w] = append(made[w], m)
			}
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	seqOf := map[string]int{}
	for w := range made {
		last := 0
		for _, m := range made[w] {
			seqOf[m.ID] = m.Seq
			if m.Seq <= last {
				t.Errorf("writer %d: Seq %d after its own %d", w, m.Seq, last)
			}
			last = m.Seq
		}
	}
	list := messageList(t, s, alice.ID, c.ID)
	if got, want := len(list), writers*each; got != want {
		t.Fatalf("messages %d, want %d", got, want)
	}
	for i, m := range list {
		if got, want := m.Seq, i+1; got != want {
			t.Errorf("message %d: Seq %d, want %d", i, got, want)
		}
		if got, want := seqOf[m.ID], m.Seq; got != want {
			t.Errorf("message %s: AddMessage gave Seq %d, stored %d", m.ID, got, want)
		}
	}
}
