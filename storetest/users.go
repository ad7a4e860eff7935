package storetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// users checks UserService and UserAdmin: users, names, sessions.
func users(t *testing.T, open func(t *testing.T) Store) {
	runAll(t, open, []behaviour{
		{"ACreatedUserIsFoundByNameWithItsHash", aCreatedUserIsFoundByNameWithItsHash},
		{"ATakenNameIsInvalid", aTakenNameIsInvalid},
		{"AnEmptyNameIsInvalid", anEmptyNameIsInvalid},
		{"AnAbsentUserIsNotFound", anAbsentUserIsNotFound},
		{"EnsureUserCreatesOnceWithoutAPassword", ensureUserCreatesOnceWithoutAPassword},
		{"EnsureUserKeepsAnExistingUsersPassword", ensureUserKeepsAnExistingUsersPassword},
		{"CountUsersCountsOnlyUsersWithAPassword", countUsersCountsOnlyUsersWithAPassword},
		{"UsersListsEveryUserByName", usersListsEveryUserByName},
		{"ALiveSessionNamesItsUser", aLiveSessionNamesItsUser},
		{"AnExpiredSessionIsNotLoggedIn", anExpiredSessionIsNotLoggedIn},
		{"AnUnknownSessionIsNotLoggedIn", anUnknownSessionIsNotLoggedIn},
		{"ADeletedSessionEndsAndNoOther", aDeletedSessionEndsAndNoOther},
		{"ANewPasswordEndsThatUsersSessionsOnly", aNewPasswordEndsThatUsersSessionsOnly},
		{"ANewPasswordForNoUserIsNotFound", aNewPasswordForNoUserIsNotFound},
		{"ARemovedUserIsGoneWithItsSessionsAndData", aRemovedUserIsGoneWithItsSessionsAndData},
		{"ARemovedUsersIDIsNotGivenToTheNextUser", aRemovedUsersIDIsNotGivenToTheNextUser},
		{"ConcurrentCreationOfOneNameMakesOneUser", concurrentCreationOfOneNameMakesOneUser},
		{"ConcurrentEnsureUserOfOneNameAgreesOnOneUser", concurrentEnsureUserOfOneNameAgreesOnOneUser},
	})
}

func aCreatedUserIsFoundByNameWithItsHash(t *testing.T, s Store) {
	created, err := s.CreateUser(t.Context(), "alice", "hash-a")
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == 0 {
		t.Errorf("created user's ID is 0")
	}
	if got, want := created.Name, "alice"; got != want {
		t.Errorf("created name %q, want %q", got, want)
	}
	if created.CreatedAt.IsZero() {
		t.Errorf("created user's CreatedAt is zero")
	}
	u, hash, err := s.UserByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.ID, created.ID; got != want {
		t.Errorf("ID %d, want %d", got, want)
	}
	if got, want := u.Name, "alice"; got != want {
		t.Errorf("name %q, want %q", got, want)
	}
	if got, want := hash, "hash-a"; got != want {
		t.Errorf("hash %q, want %q", got, want)
	}
	if got, want := u.CreatedAt, created.CreatedAt; !got.Equal(want) {
		t.Errorf("CreatedAt read back %v, want the one CreateUser gave %v", got, want)
	}
}

func aTakenNameIsInvalid(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	_, err := s.CreateUser(t.Context(), "alice", "other-hash")
	wantCode(t, "CreateUser of a taken name", err, claudebridge.EINVALID)
	if _, err := s.EnsureUser(t.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateUser(t.Context(), "bob", "hash")
	wantCode(t, "CreateUser of a name EnsureUser took", err, claudebridge.EINVALID)

	u, hash, err := s.UserByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.ID, alice.ID; got != want {
		t.Errorf("alice's ID after a refused duplicate %d, want %d", got, want)
	}
	if got, want := hash, "hash-alice"; got != want {
		t.Errorf("alice's hash after a refused duplicate %q, want %q", got, want)
	}
}

func anEmptyNameIsInvalid(t *testing.T, s Store) {
	_, err := s.CreateUser(t.Context(), "", "hash")
	wantCode(t, "CreateUser of an empty name", err, claudebridge.EINVALID)
	_, err = s.EnsureUser(t.Context(), "")
	wantCode(t, "EnsureUser of an empty name", err, claudebridge.EINVALID)
}

func anAbsentUserIsNotFound(t *testing.T, s Store) {
	newUser(t, s, "alice")
	_, _, err := s.UserByName(t.Context(), "carol")
	wantCode(t, "UserByName of an absent user", err, claudebridge.ENOTFOUND)
}

func ensureUserCreatesOnceWithoutAPassword(t *testing.T, s Store) {
	first, err := s.EnsureUser(t.Context(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.EnsureUser(t.Context(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again.ID, first.ID; got != want {
		t.Errorf("second EnsureUser ID %d, want %d", got, want)
	}
	if got, want := again.Name, "bob"; got != want {
		t.Errorf("name %q, want %q", got, want)
	}
	_, hash, err := s.UserByName(t.Context(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hash, ""; got != want {
		t.Errorf("hash of an ensured user %q, want none", got)
	}
}

func ensureUserKeepsAnExistingUsersPassword(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	u, err := s.EnsureUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.ID, alice.ID; got != want {
		t.Errorf("EnsureUser of an existing user: ID %d, want %d", got, want)
	}
	_, hash, err := s.UserByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hash, "hash-alice"; got != want {
		t.Errorf("hash after EnsureUser %q, want %q", got, want)
	}
}

// CountUsers tells the chat whether login is needed: the local and
// trusted-header users, who have no password, do not make it so.
func countUsersCountsOnlyUsersWithAPassword(t *testing.T, s Store) {
	count := func() int {
		t.Helper()
		n, err := s.CountUsers(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got, want := count(), 0; got != want {
		t.Errorf("users of an empty store %d, want %d", got, want)
	}
	if _, err := s.EnsureUser(t.Context(), "local"); err != nil {
		t.Fatal(err)
	}
	if got, want := count(), 0; got != want {
		t.Errorf("users with only a passwordless user %d, want %d", got, want)
	}
	newUser(t, s, "alice")
	newUser(t, s, "bob")
	if got, want := count(), 2; got != want {
		t.Errorf("users with two passwords %d, want %d", got, want)
	}
}

func usersListsEveryUserByName(t *testing.T, s Store) {
	for _, name := range []string{"carol", "alice", "bob"} {
		newUser(t, s, name)
	}
	if _, err := s.EnsureUser(t.Context(), "dave"); err != nil {
		t.Fatal(err)
	}
	list, err := s.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list {
		names = append(names, u.Name)
	}
	if got, want := strings.Join(names, ","), "alice,bob,carol,dave"; got != want {
		t.Errorf("users %s, want %s", got, want)
	}
}

// Sessions expire an hour away from now either way: a database server's
// clock may differ from the test's by a little, never by an hour.
func aLiveSessionNamesItsUser(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	if err := s.CreateSession(t.Context(), alice.ID, "token-live", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	u, err := s.SessionUser(t.Context(), "token-live")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.ID, alice.ID; got != want {
		t.Errorf("session user %d, want %d", got, want)
	}
	if got, want := u.Name, "alice"; got != want {
		t.Errorf("session user's name %q, want %q", got, want)
	}
}

func anExpiredSessionIsNotLoggedIn(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	if err := s.CreateSession(t.Context(), alice.ID, "token-old", time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err := s.SessionUser(t.Context(), "token-old")
	wantCode(t, "SessionUser of an expired session", err, claudebridge.EAUTH)
}

func anUnknownSessionIsNotLoggedIn(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	if err := s.CreateSession(t.Context(), alice.ID, "token-live", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err := s.SessionUser(t.Context(), "token-other")
	wantCode(t, "SessionUser of an unknown token", err, claudebridge.EAUTH)
}

func aDeletedSessionEndsAndNoOther(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	for _, token := range []string{"token-laptop", "token-phone"} {
		if err := s.CreateSession(t.Context(), alice.ID, token, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteSession(t.Context(), "token-laptop"); err != nil {
		t.Fatal(err)
	}
	_, err := s.SessionUser(t.Context(), "token-laptop")
	wantCode(t, "SessionUser of a deleted session", err, claudebridge.EAUTH)
	if _, err := s.SessionUser(t.Context(), "token-phone"); err != nil {
		t.Errorf("the user's other session after one was deleted: %v", err)
	}
	// Logging out twice (two tabs) is no error.
	if err := s.DeleteSession(t.Context(), "token-laptop"); err != nil {
		t.Errorf("deleting a deleted session: %v", err)
	}
}

func aNewPasswordEndsThatUsersSessionsOnly(t *testing.T, s Store) {
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	if err := s.CreateSession(t.Context(), alice.ID, "token-alice", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(t.Context(), bob.ID, "token-bob", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(t.Context(), "alice", "hash-new"); err != nil {
		t.Fatal(err)
	}
	_, err := s.SessionUser(t.Context(), "token-alice")
	wantCode(t, "alice's session after her new password", err, claudebridge.EAUTH)
	if _, err := s.SessionUser(t.Context(), "token-bob"); err != nil {
		t.Errorf("bob's session after alice's new password: %v", err)
	}
	u, hash, err := s.UserByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hash, "hash-new"; got != want {
		t.Errorf("hash %q, want %q", got, want)
	}
	if got, want := u.ID, alice.ID; got != want {
		t.Errorf("ID after a new password %d, want %d", got, want)
	}
}

func aNewPasswordForNoUserIsNotFound(t *testing.T, s Store) {
	newUser(t, s, "alice")
	err := s.SetPassword(t.Context(), "nobody", "hash")
	wantCode(t, "SetPassword of an absent user", err, claudebridge.ENOTFOUND)
	_, _, err = s.UserByName(t.Context(), "nobody")
	wantCode(t, "UserByName after SetPassword of an absent user", err, claudebridge.ENOTFOUND)
}

func aRemovedUserIsGoneWithItsSessionsAndData(t *testing.T, s Store) {
	ctx := t.Context()
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	for _, u := range []*claudebridge.User{alice, bob} {
		if err := s.CreateSession(ctx, u.ID, "token-"+u.Name, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	c := newConversation(t, s, alice.ID, "alice's")
	addMessage(t, s, c.ID, "user", "hello", claudebridge.MessageComplete)
	p := &claudebridge.Prompt{UserID: alice.ID, Name: "terse", Text: "Be terse."}
	if err := s.CreatePrompt(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, alice.ID, "2026-01-01", "model-a", claudebridge.Usage{InputTokens: 1}, 0.5, false); err != nil {
		t.Fatal(err)
	}
	kept := newConversation(t, s, bob.ID, "bob's")

	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.UserByName(ctx, "alice")
	wantCode(t, "UserByName of a removed user", err, claudebridge.ENOTFOUND)
	_, err = s.SessionUser(ctx, "token-alice")
	wantCode(t, "SessionUser of a removed user's session", err, claudebridge.EAUTH)
	_, err = s.Conversation(ctx, alice.ID, c.ID)
	wantCode(t, "Conversation of a removed user", err, claudebridge.ENOTFOUND)
	_, err = s.Prompt(ctx, alice.ID, p.ID)
	wantCode(t, "Prompt of a removed user", err, claudebridge.ENOTFOUND)
	rows, err := s.Usage(ctx, alice.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows), 0; got != want {
		t.Errorf("usage rows of a removed user %d, want %d", got, want)
	}
	err = s.DeleteUser(ctx, "alice")
	wantCode(t, "DeleteUser of a removed user", err, claudebridge.ENOTFOUND)

	// A new user of the same name starts with nothing of the old one's.
	again := newUser(t, s, "alice")
	if list, _, err := s.Conversations(ctx, again.ID, "", 10); err != nil || len(list) != 0 {
		t.Errorf("conversations of a new alice: %d, %v; want none", len(list), err)
	}
	if list, err := s.Prompts(ctx, again.ID); err != nil || len(list) != 0 {
		t.Errorf("prompts of a new alice: %d, %v; want none", len(list), err)
	}
	if got, want := len(usageRows(t, s, again.ID, "", "")), 0; got != want {
		t.Errorf("usage rows of a new alice %d, want %d", got, want)
	}
	if _, err := s.SessionUser(ctx, "token-alice"); claudebridge.ErrorCode(err) != claudebridge.EAUTH {
		t.Errorf("the old alice's session names the new alice: %v", err)
	}

	if _, err := s.SessionUser(ctx, "token-bob"); err != nil {
		t.Errorf("bob's session after alice was removed: %v", err)
	}
	if _, err := s.Conversation(ctx, bob.ID, kept.ID); err != nil {
		t.Errorf("bob's conversation after alice was removed: %v", err)
	}
	list, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list {
		names = append(names, u.Name)
	}
	if got, want := strings.Join(names, ","), "alice,bob"; got != want {
		t.Errorf("users after removing alice and adding her again %s, want %s", got, want)
	}
}

// A user's ID is what every other row (sessions, keys, ledger, a running
// turn) names it by: a new user given a removed user's ID would inherit
// whatever still names it.
func aRemovedUsersIDIsNotGivenToTheNextUser(t *testing.T, s Store) {
	newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	if err := s.DeleteUser(t.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	carol := newUser(t, s, "carol")
	if carol.ID == bob.ID {
		t.Errorf("carol got removed bob's ID %d", carol.ID)
	}
	dave, err := s.EnsureUser(t.Context(), "dave")
	if err != nil {
		t.Fatal(err)
	}
	if dave.ID == bob.ID {
		t.Errorf("dave (EnsureUser) got removed bob's ID %d", dave.ID)
	}
}

// Two sign-ups of one name at once (two processes, two requests): one
// wins, the other is told the name is taken.
func concurrentCreationOfOneNameMakesOneUser(t *testing.T, s Store) {
	const n = 16
	errs := make([]error, n)
	made := make([]*claudebridge.User, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { made[i], errs[i] = s.CreateUser(t.Context(), "alice", "hash") })
	}
	wg.Wait()
	var winner *claudebridge.User
	wins := 0
	for i, err := range errs {
		if err == nil {
			wins++
			winner = made[i]
			continue
		}
		wantCode(t, "a losing CreateUser", err, claudebridge.EINVALID)
	}
	if got, want := wins, 1; got != want {
		t.Fatalf("CreateUser calls that succeeded %d, want %d", got, want)
	}
	u, _, err := s.UserByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.ID, winner.ID; got != want {
		t.Errorf("stored alice %d, want the winner %d", got, want)
	}
	list, err := s.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 1; got != want {
		t.Errorf("users %d, want %d", got, want)
	}
}

// Trusted-header users are ensured on their first request, and a page
// opens several requests at once.
func concurrentEnsureUserOfOneNameAgreesOnOneUser(t *testing.T, s Store) {
	const n = 16
	errs := make([]error, n)
	got := make([]*claudebridge.User, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = s.EnsureUser(t.Context(), "bob") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("EnsureUser %d: %v", i, err)
		}
	}
	for i := range got {
		if got, want := got[i].ID, got[0].ID; got != want {
			t.Errorf("EnsureUser %d: ID %d, want %d like the first", i, got, want)
		}
	}
	list, err := s.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 1; got != want {
		t.Errorf("users %d, want %d", got, want)
	}
}
