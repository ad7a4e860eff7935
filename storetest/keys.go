package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
)

// keys checks KeyService: virtual keys, their limits, revocation and the
// version servers poll.
func keys(t *testing.T, open func(t *testing.T) Store) {
	runAll(t, open, []behaviour{
		{"ACreatedKeyIsListedWithEveryField", aCreatedKeyIsListedWithEveryField},
		{"AKeyWithoutLimitsReadsBackWithoutLimits", aKeyWithoutLimitsReadsBackWithoutLimits},
		{"KeysAreListedByNameRevokedOnesIncluded", keysAreListedByNameRevokedOnesIncluded},
		{"ATakenKeyNameIsInvalidAlsoWhenItsKeyIsRevoked", aTakenKeyNameIsInvalidAlsoWhenItsKeyIsRevoked},
		{"AKeyThatDoesNotValidateIsInvalidAndNotStored", aKeyThatDoesNotValidateIsInvalidAndNotStored},
		{"RevokingTwiceIsInvalidAndRevokingNoKeyIsNotFound", revokingTwiceIsInvalidAndRevokingNoKeyIsNotFound},
		{"KeysVersionChangesAfterACreateAndAfterARevoke", keysVersionChangesAfterACreateAndAfterARevoke},
		{"AFailedCreateLeavesKeysVersionAsItWas", aFailedCreateLeavesKeysVersionAsItWas},
	})
}

// newKey returns a key named name with a fresh secret's prefix and hash.
func newKey(name string) *claudebridge.Key {
	_, prefix, hash := claudebridge.NewKeySecret()
	return &claudebridge.Key{Name: name, Prefix: prefix, Hash: hash}
}

func createKey(t *testing.T, s Store, k *claudebridge.Key) {
	t.Helper()
	if err := s.CreateKey(t.Context(), k); err != nil {
		t.Fatalf("CreateKey %q: %v", k.Name, err)
	}
}

func keyList(t *testing.T, s Store) []claudebridge.Key {
	t.Helper()
	list, err := s.Keys(t.Context())
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	return list
}

func keyNames(list []claudebridge.Key) string {
	var out []string
	for _, k := range list {
		out = append(out, k.Name)
	}
	return strings.Join(out, ",")
}

func keysVersion(t *testing.T, s Store) int64 {
	t.Helper()
	v, err := s.KeysVersion(t.Context())
	if err != nil {
		t.Fatalf("KeysVersion: %v", err)
	}
	return v
}

func aCreatedKeyIsListedWithEveryField(t *testing.T, s Store) {
	k := newKey("ci")
	k.RPM, k.TPM, k.Concurrency = 2, 1000, 3
	k.BudgetUSD, k.BudgetPeriod, k.MaxCostPerRequest = 5.5, "month", 0.25
	k.Models = []string{"claude-sonnet-4-5", "claude-haiku-4-5"}
	createKey(t, s, k)
	if k.ID == 0 {
		t.Errorf("created key's ID is 0")
	}
	if k.CreatedAt.IsZero() {
		t.Errorf("created key's CreatedAt is zero")
	}
	list := keyList(t, s)
	if got, want := len(list), 1; got != want {
		t.Fatalf("keys %d, want %d", got, want)
	}
	got := list[0]
	if got, want := got.ID, k.ID; got != want {
		t.Errorf("ID %d, want %d", got, want)
	}
	if got, want := got.Name, "ci"; got != want {
		t.Errorf("name %q, want %q", got, want)
	}
	if got, want := got.Prefix, k.Prefix; got != want {
		t.Errorf("prefix %q, want %q", got, want)
	}
	if got, want := got.Hash, k.Hash; got != want {
		t.Errorf("hash %q, want %q", got, want)
	}
	if got, want := got.RPM, 2; got != want {
		t.Errorf("rpm %d, want %d", got, want)
	}
	if got, want := got.TPM, 1000; got != want {
		t.Errorf("tpm %d, want %d", got, want)
	}
	if got, want := got.Concurrency, 3; got != want {
		t.Errorf("concurrency %d, want %d", got, want)
	}
	if got, want := got.BudgetUSD, 5.5; got != want {
		t.Errorf("budget %v, want %v", got, want)
	}
	if got, want := got.BudgetPeriod, "month"; got != want {
		t.Errorf("period %q, want %q", got, want)
	}
	if got, want := got.MaxCostPerRequest, 0.25; got != want {
		t.Errorf("max cost per request %v, want %v", got, want)
	}
	if got, want := strings.Join(got.Models, ","), "claude-sonnet-4-5,claude-haiku-4-5"; got != want {
		t.Errorf("models %q, want %q (in the order given)", got, want)
	}
	if got, want := got.CreatedAt, k.CreatedAt; !got.Equal(want) {
		t.Errorf("CreatedAt read back %v, want the one CreateKey gave %v", got, want)
	}
	if got.Revoked() {
		t.Errorf("a new key is revoked (RevokedAt %v)", got.RevokedAt)
	}
}

func aKeyWithoutLimitsReadsBackWithoutLimits(t *testing.T, s Store) {
	createKey(t, s, newKey("open"))
	got := keyList(t, s)[0]
	if got, want := got.RPM+got.TPM+got.Concurrency, 0; got != want {
		t.Errorf("rpm+tpm+concurrency %d, want %d", got, want)
	}
	if got, want := got.BudgetUSD, 0.0; got != want {
		t.Errorf("budget %v, want %v", got, want)
	}
	if got, want := got.BudgetPeriod, ""; got != want {
		t.Errorf("period %q, want %q", got, want)
	}
	if got, want := got.MaxCostPerRequest, 0.0; got != want {
		t.Errorf("max cost per request %v, want %v", got, want)
	}
	// Empty means every model: a key read back with one empty id would
	// allow none.
	if got := got.Models; len(got) != 0 {
		t.Errorf("models %q, want none", got)
	}
}

func keysAreListedByNameRevokedOnesIncluded(t *testing.T, s Store) {
	for _, name := range []string{"zeta", "alpha", "mid"} {
		createKey(t, s, newKey(name))
	}
	if err := s.RevokeKey(t.Context(), "mid"); err != nil {
		t.Fatal(err)
	}
	list := keyList(t, s)
	if got, want := keyNames(list), "alpha,mid,zeta"; got != want {
		t.Fatalf("keys %s, want %s", got, want)
	}
	if got, want := list[1].Revoked(), true; got != want {
		t.Errorf("mid revoked %v, want %v", got, want)
	}
	if list[1].RevokedAt.Before(list[1].CreatedAt) {
		t.Errorf("mid revoked at %v, before it was created at %v", list[1].RevokedAt, list[1].CreatedAt)
	}
	if got, want := list[0].Revoked() || list[2].Revoked(), false; got != want {
		t.Errorf("another key revoked %v, want %v", got, want)
	}
}

func aTakenKeyNameIsInvalidAlsoWhenItsKeyIsRevoked(t *testing.T, s Store) {
	first := newKey("ci")
	createKey(t, s, first)
	wantCode(t, "CreateKey of a taken name", s.CreateKey(t.Context(), newKey("ci")), claudebridge.EINVALID)
	if err := s.RevokeKey(t.Context(), "ci"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "CreateKey of a revoked key's name", s.CreateKey(t.Context(), newKey("ci")), claudebridge.EINVALID)
	list := keyList(t, s)
	if got, want := len(list), 1; got != want {
		t.Fatalf("keys %d, want %d", got, want)
	}
	if got, want := list[0].Hash, first.Hash; got != want {
		t.Errorf("the key named ci has hash %q, want the first one's %q", got, want)
	}
}

func aKeyThatDoesNotValidateIsInvalidAndNotStored(t *testing.T, s Store) {
	for _, tc := range []struct {
		what string
		edit func(k *claudebridge.Key)
	}{
		{"an empty name", func(k *claudebridge.Key) { k.Name = "" }},
		{"a negative rpm", func(k *claudebridge.Key) { k.RPM = -1 }},
		{"a budget without a period", func(k *claudebridge.Key) { k.BudgetUSD = 1 }},
		{"an empty model id", func(k *claudebridge.Key) { k.Models = []string{"claude-haiku-4-5", ""} }},
	} {
		k := newKey("bad")
		tc.edit(k)
		wantCode(t, "CreateKey with "+tc.what, s.CreateKey(t.Context(), k), claudebridge.EINVALID)
	}
	if got, want := len(keyList(t, s)), 0; got != want {
		t.Errorf("keys %d, want %d", got, want)
	}
}

func revokingTwiceIsInvalidAndRevokingNoKeyIsNotFound(t *testing.T, s Store) {
	createKey(t, s, newKey("ci"))
	if err := s.RevokeKey(t.Context(), "ci"); err != nil {
		t.Fatal(err)
	}
	revokedAt := keyList(t, s)[0].RevokedAt
	wantCode(t, "RevokeKey of a revoked key", s.RevokeKey(t.Context(), "ci"), claudebridge.EINVALID)
	wantCode(t, "RevokeKey of no key", s.RevokeKey(t.Context(), "nobody"), claudebridge.ENOTFOUND)
	if got, want := keyList(t, s)[0].RevokedAt, revokedAt; !got.Equal(want) {
		t.Errorf("RevokedAt after a second revoke %v, want the first's %v", got, want)
	}
}

// A server reloads its keys when the version moved: a create or a revoke
// it misses is a key honoured after it was revoked, or refused after it
// was made.
func keysVersionChangesAfterACreateAndAfterARevoke(t *testing.T, s Store) {
	seen := []int64{keysVersion(t, s)}
	createKey(t, s, newKey("ci"))
	seen = append(seen, keysVersion(t, s))
	createKey(t, s, newKey("bob"))
	seen = append(seen, keysVersion(t, s))
	if err := s.RevokeKey(t.Context(), "ci"); err != nil {
		t.Fatal(err)
	}
	seen = append(seen, keysVersion(t, s))
	for i, step := range []string{"the first create", "the second create", "the revoke"} {
		if seen[i+1] == seen[i] {
			t.Errorf("KeysVersion after %s %d, unchanged", step, seen[i+1])
		}
	}
	// A version that came back to an earlier value would hide a change
	// from a server that read the keys at that value.
	if slices.Contains(seen[:3], seen[3]) {
		t.Errorf("KeysVersion after the revoke %d, one seen before (%v)", seen[3], seen[:3])
	}
}

// A spurious change costs every server a reload of every key.
func aFailedCreateLeavesKeysVersionAsItWas(t *testing.T, s Store) {
	createKey(t, s, newKey("ci"))
	before := keysVersion(t, s)
	wantCode(t, "CreateKey of a taken name", s.CreateKey(t.Context(), newKey("ci")), claudebridge.EINVALID)
	bad := newKey("bad")
	bad.RPM = -1
	wantCode(t, "CreateKey of an invalid key", s.CreateKey(t.Context(), bad), claudebridge.EINVALID)
	if got, want := keysVersion(t, s), before; got != want {
		t.Errorf("KeysVersion after failed creates %d, want %d", got, want)
	}
}
