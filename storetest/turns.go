package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// turnLeases checks claudebridge.TurnLeaseService: which streaming
// messages a sweep of lapsed owners marks, and which it leaves to the
// processes still writing them. Times are the store's own (a message's
// UpdatedAt) plus or minus an hour, so no clock need agree to the second.
func turnLeases(t *testing.T, open func(t *testing.T) Store) {
	runAll(t, open, []behaviour{
		{"AMessageOfALiveOwnerIsLeftStreaming", aMessageOfALiveOwnerIsLeftStreaming},
		{"AMessageOfALapsedOwnerIsInterruptedAndReturnedOnce", aMessageOfALapsedOwnerIsInterruptedAndReturnedOnce},
		{"AnUnclaimedMessageIsInterruptedOnlyAfterTheGrace", anUnclaimedMessageIsInterruptedOnlyAfterTheGrace},
		{"AReleasedOwnersMessageIsTreatedAsUnclaimed", aReleasedOwnersMessageIsTreatedAsUnclaimed},
		{"OnlyStreamingMessagesAreInterrupted", onlyStreamingMessagesAreInterrupted},
		{"TheInterruptedMessageIsReturnedAsStoredWithItsUser", theInterruptedMessageIsReturnedAsStoredWithItsUser},
		{"ARenewedLeaseOutlivesItsFormerEnd", aRenewedLeaseOutlivesItsFormerEnd},
		{"AClaimOfAnAbsentMessageIsNotFound", aClaimOfAnAbsentMessageIsNotFound},
		{"ALeaseNeedsAnOwner", aLeaseNeedsAnOwner},
		{"ConcurrentSweepsReturnEachMessageOnce", concurrentSweepsReturnEachMessageOnce},
		{"ATurnIsStreamingWhileItsMessageIsForItsUserOnly", aTurnIsStreamingWhileItsMessageIsForItsUserOnly},
		{"AConversationHeldByALiveOwnerIsRefusedToAnotherUntilReleased", aConversationHeldByALiveOwnerIsRefusedToAnotherUntilReleased},
		{"AConversationHeldByALapsedOwnerPassesToAnother", aConversationHeldByALapsedOwnerPassesToAnother},
		{"OfEightOwnersReservingOneConversationAtOnceOneHasIt", ofEightOwnersReservingOneConversationAtOnceOneHasIt},
	})
}

// leases is s as a TurnLeaseService; every store of claudebridge is one.
func leases(t *testing.T, s Store) claudebridge.TurnLeaseService {
	t.Helper()
	ls, ok := s.(claudebridge.TurnLeaseService)
	if !ok {
		t.Fatalf("%T is not a claudebridge.TurnLeaseService", s)
	}
	return ls
}

// streaming stores a streaming answer in a new conversation of a new user
// and returns it with its user.
func streaming(t *testing.T, s Store, name string) (*claudebridge.User, *claudebridge.Message) {
	t.Helper()
	u := newUser(t, s, name)
	c := newConversation(t, s, u.ID, name+"'s")
	addMessage(t, s, c.ID, "user", "q", claudebridge.MessageComplete)
	return u, addMessage(t, s, c.ID, "assistant", "half of "+name+"'s", claudebridge.MessageStreaming)
}

// claimed is streaming's message claimed by owner, whose lease runs until
// until.
func claimed(t *testing.T, s Store, name, owner string, until time.Time) (*claudebridge.User, *claudebridge.Message) {
	t.Helper()
	u, m := streaming(t, s, name)
	ls := leases(t, s)
	if err := ls.RenewTurnLease(t.Context(), owner, until); err != nil {
		t.Fatalf("RenewTurnLease %s: %v", owner, err)
	}
	if err := ls.ClaimMessage(t.Context(), m.ID, owner); err != nil {
		t.Fatalf("ClaimMessage: %v", err)
	}
	return u, m
}

// sweep calls InterruptLapsed and returns the ids it marked.
func sweep(t *testing.T, s Store, at time.Time, grace time.Duration) []string {
	t.Helper()
	list, err := leases(t, s).InterruptLapsed(t.Context(), at, grace)
	if err != nil {
		t.Fatalf("InterruptLapsed: %v", err)
	}
	out := make([]string, len(list))
	for i, im := range list {
		out[i] = im.Message.ID
	}
	return out
}

// status reads back the stored status of m.
func status(t *testing.T, s Store, userID int64, m *claudebridge.Message) string {
	t.Helper()
	for _, got := range messageList(t, s, userID, m.ConversationID) {
		if got.ID == m.ID {
			return got.Status
		}
	}
	t.Fatalf("message %s is gone", m.ID)
	return ""
}

func aMessageOfALiveOwnerIsLeftStreaming(t *testing.T, s Store) {
	u, m := claimed(t, s, "alice", "proc-a", m0(t, s).Add(time.Hour))
	// Long after it was saved, but its owner's lease runs on.
	if got, want := len(sweep(t, s, m.UpdatedAt.Add(30*time.Minute), time.Minute)), 0; got != want {
		t.Fatalf("interrupted %d, want %d", got, want)
	}
	if got, want := status(t, s, u.ID, m), claudebridge.MessageStreaming; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
}

// m0 is the store's clock now, as a message it stores tells it.
func m0(t *testing.T, s Store) time.Time {
	t.Helper()
	u := newUser(t, s, "clock")
	c := newConversation(t, s, u.ID, "clock")
	return addMessage(t, s, c.ID, "user", "tick", claudebridge.MessageComplete).UpdatedAt
}

func aMessageOfALapsedOwnerIsInterruptedAndReturnedOnce(t *testing.T, s Store) {
	end := m0(t, s).Add(time.Hour)
	u, m := claimed(t, s, "alice", "proc-a", end)
	// Another process's live message stays as it is.
	bob, live := claimed(t, s, "bob", "proc-b", end.Add(time.Hour))
	got := sweep(t, s, end, 24*time.Hour)
	if len(got) != 1 {
		t.Fatalf("interrupted %v, want only %s", got, m.ID)
	}
	if got, want := got[0], m.ID; got != want {
		t.Errorf("interrupted %s, want %s", got, want)
	}
	if got, want := status(t, s, u.ID, m), claudebridge.MessageInterrupted; got != want {
		t.Errorf("lapsed owner's message: status %q, want %q", got, want)
	}
	if got, want := status(t, s, bob.ID, live), claudebridge.MessageStreaming; got != want {
		t.Errorf("live owner's message: status %q, want %q", got, want)
	}
	if got, want := len(sweep(t, s, end, 24*time.Hour)), 0; got != want {
		t.Errorf("a second sweep interrupted %d, want %d", got, want)
	}
}

func anUnclaimedMessageIsInterruptedOnlyAfterTheGrace(t *testing.T, s Store) {
	u, m := streaming(t, s, "alice")
	if got, want := len(sweep(t, s, m.UpdatedAt.Add(time.Minute), time.Hour)), 0; got != want {
		t.Fatalf("within the grace: interrupted %d, want %d", got, want)
	}
	if got, want := len(sweep(t, s, m.UpdatedAt.Add(time.Hour), time.Hour)), 1; got != want {
		t.Fatalf("after the grace: interrupted %d, want %d", got, want)
	}
	if got, want := status(t, s, u.ID, m), claudebridge.MessageInterrupted; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
}

func aReleasedOwnersMessageIsTreatedAsUnclaimed(t *testing.T, s Store) {
	u, m := claimed(t, s, "alice", "proc-a", m0(t, s).Add(24*time.Hour))
	if err := leases(t, s).ReleaseTurnLease(t.Context(), "proc-a"); err != nil {
		t.Fatal(err)
	}
	if err := leases(t, s).ReleaseTurnLease(t.Context(), "proc-a"); err != nil {
		t.Errorf("releasing an absent lease: %v", err)
	}
	if got, want := len(sweep(t, s, m.UpdatedAt.Add(time.Minute), time.Hour)), 0; got != want {
		t.Fatalf("within the grace: interrupted %d, want %d", got, want)
	}
	if got, want := len(sweep(t, s, m.UpdatedAt.Add(time.Hour), time.Hour)), 1; got != want {
		t.Fatalf("after the grace: interrupted %d, want %d", got, want)
	}
	if got, want := status(t, s, u.ID, m), claudebridge.MessageInterrupted; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
}

func onlyStreamingMessagesAreInterrupted(t *testing.T, s Store) {
	u := newUser(t, s, "alice")
	c := newConversation(t, s, u.ID, "chat")
	var done []*claudebridge.Message
	for _, st := range []string{claudebridge.MessageComplete, claudebridge.MessageStopped, claudebridge.MessageMaxTokens,
		claudebridge.MessageError, claudebridge.MessageInterrupted} {
		done = append(done, addMessage(t, s, c.ID, "assistant", st, st))
	}
	if got, want := len(sweep(t, s, done[0].UpdatedAt.Add(48*time.Hour), time.Hour)), 0; got != want {
		t.Fatalf("interrupted %d, want %d", got, want)
	}
	for _, m := range messageList(t, s, u.ID, c.ID) {
		if got, want := m.Status, m.Content; got != want {
			t.Errorf("status %q, want %q", got, want)
		}
	}
}

// What InterruptLapsed returns is what the chat counts tokens from and
// saves back: it must be the message as it now is in the store.
func theInterruptedMessageIsReturnedAsStoredWithItsUser(t *testing.T, s Store) {
	u, m := claimed(t, s, "alice", "proc-a", m0(t, s).Add(time.Hour))
	m.Content, m.Usage, m.Model, m.TurnID = "partial text", claudebridge.Usage{InputTokens: 9, OutputTokens: 3}, "model-a", "turn_1"
	if err := s.UpdateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	list, err := leases(t, s).InterruptLapsed(t.Context(), m.UpdatedAt.Add(2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 1; got != want {
		t.Fatalf("interrupted %d, want %d", got, want)
	}
	if got, want := list[0].UserID, u.ID; got != want {
		t.Errorf("UserID %d, want %d", got, want)
	}
	stored := messageList(t, s, u.ID, m.ConversationID)
	checkMessage(t, "returned against stored", list[0].Message, stored[1])
	if got, want := stored[1].TurnID, "turn_1"; got != want {
		t.Errorf("stored TurnID %q, want %q", got, want)
	}
}

func aRenewedLeaseOutlivesItsFormerEnd(t *testing.T, s Store) {
	first := m0(t, s).Add(time.Hour)
	u, m := claimed(t, s, "alice", "proc-a", first)
	if err := leases(t, s).RenewTurnLease(t.Context(), "proc-a", first.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, want := len(sweep(t, s, first.Add(time.Minute), 24*time.Hour)), 0; got != want {
		t.Fatalf("interrupted %d, want %d", got, want)
	}
	if got, want := status(t, s, u.ID, m), claudebridge.MessageStreaming; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
}

func aClaimOfAnAbsentMessageIsNotFound(t *testing.T, s Store) {
	wantCode(t, "ClaimMessage", leases(t, s).ClaimMessage(t.Context(), "msg_absent", "proc-a"), claudebridge.ENOTFOUND)
}

func aLeaseNeedsAnOwner(t *testing.T, s Store) {
	wantCode(t, "RenewTurnLease", leases(t, s).RenewTurnLease(t.Context(), "", time.Now().Add(time.Hour)), claudebridge.EINVALID)
}

// Every process sweeps: the chat counts the tokens of what it is given,
// so two sweeps at once must not both get a message.
func concurrentSweepsReturnEachMessageOnce(t *testing.T, s Store) {
	end := m0(t, s).Add(time.Hour)
	var want []string
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		_, m := claimed(t, s, name, "proc-"+name, end)
		want = append(want, m.ID)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			list, err := leases(t, s).InterruptLapsed(t.Context(), end, 24*time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, im := range list {
				seen[im.Message.ID]++
			}
		})
	}
	wg.Wait()
	for _, id := range want {
		if got, want := seen[id], 1; got != want {
			t.Errorf("message %s returned %d times, want %d", id, got, want)
		}
	}
}

// The chat asks it of a turn no process answers for: streaming, the turn's
// process died and a sweep will tell its end; not, it ended long ago.
func aTurnIsStreamingWhileItsMessageIsForItsUserOnly(t *testing.T, s Store) {
	ls := leases(t, s)
	alice, m := streaming(t, s, "alice")
	bob := newUser(t, s, "bob")
	m.TurnID = "turn_1"
	if err := s.UpdateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what   string
		user   int64
		turnID string
		want   bool
	}{
		{"its user", alice.ID, "turn_1", true},
		{"another user", bob.ID, "turn_1", false},
		{"another turn", alice.ID, "turn_2", false},
	} {
		got, err := ls.TurnStreaming(t.Context(), c.user, c.turnID)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: streaming %v, want %v", c.what, got, c.want)
		}
	}
	m.Status = claudebridge.MessageComplete
	if err := s.UpdateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got, err := ls.TurnStreaming(t.Context(), alice.ID, "turn_1")
	if err != nil {
		t.Fatal(err)
	}
	if want := false; got != want {
		t.Errorf("once complete: streaming %v, want %v", got, want)
	}
}

// reserve reserves a conversation for owner at at and fails t on an error.
func reserve(t *testing.T, s Store, conversationID, owner string, at time.Time) bool {
	t.Helper()
	got, err := leases(t, s).ReserveConversation(t.Context(), conversationID, owner, at)
	if err != nil {
		t.Fatalf("ReserveConversation %s: %v", owner, err)
	}
	return got
}

func aConversationHeldByALiveOwnerIsRefusedToAnotherUntilReleased(t *testing.T, s Store) {
	u := newUser(t, s, "alice")
	c := newConversation(t, s, u.ID, "busy")
	at := c.CreatedAt
	for _, owner := range []string{"a", "b"} {
		if err := leases(t, s).RenewTurnLease(t.Context(), owner, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if !reserve(t, s, c.ID, "a", at) {
		t.Fatal("a could not reserve a free conversation")
	}
	if !reserve(t, s, c.ID, "a", at) {
		t.Error("a lost its own hold when reserving again")
	}
	if reserve(t, s, c.ID, "b", at) {
		t.Error("b reserved a conversation a holds")
	}
	if err := leases(t, s).ReleaseConversation(t.Context(), c.ID, "b"); err != nil {
		t.Fatal(err)
	}
	if reserve(t, s, c.ID, "b", at) {
		t.Error("b's release of a hold it did not have freed a's")
	}
	if err := leases(t, s).ReleaseConversation(t.Context(), c.ID, "a"); err != nil {
		t.Fatal(err)
	}
	if !reserve(t, s, c.ID, "b", at) {
		t.Error("b could not reserve the conversation a released")
	}
}

func aConversationHeldByALapsedOwnerPassesToAnother(t *testing.T, s Store) {
	u := newUser(t, s, "alice")
	c := newConversation(t, s, u.ID, "orphaned")
	at := c.CreatedAt
	if err := leases(t, s).RenewTurnLease(t.Context(), "dead", at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !reserve(t, s, c.ID, "dead", at) {
		t.Fatal("dead could not reserve a free conversation")
	}
	if reserve(t, s, c.ID, "alive", at) {
		t.Fatal("alive reserved it while dead's lease ran")
	}
	if !reserve(t, s, c.ID, "alive", at.Add(time.Minute)) {
		t.Error("alive could not reserve it once dead's lease ended")
	}
}

func ofEightOwnersReservingOneConversationAtOnceOneHasIt(t *testing.T, s Store) {
	u := newUser(t, s, "alice")
	c := newConversation(t, s, u.ID, "contested")
	at := c.CreatedAt
	owners := []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"}
	for _, o := range owners {
		if err := leases(t, s).RenewTurnLease(t.Context(), o, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	got := make([]bool, len(owners))
	for i, o := range owners {
		wg.Go(func() {
			ok, err := leases(t, s).ReserveConversation(t.Context(), c.ID, o, at)
			if err != nil {
				t.Errorf("ReserveConversation %s: %v", o, err)
			}
			got[i] = ok
		})
	}
	wg.Wait()
	n := 0
	for _, ok := range got {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("owners holding the conversation: %d, want 1", n)
	}
}
