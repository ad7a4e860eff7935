package postgres

import (
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/pgtest"
)

func newKey(name string) *claudebridge.Key {
	_, prefix, hash := claudebridge.NewKeySecret()
	return &claudebridge.Key{Name: name, Prefix: prefix, Hash: hash}
}

func TestKeysVersionMovesForAChangeAnotherProcessMade(t *testing.T) {
	url := pgtest.URL(t)
	var dbs [2]*DB
	for i := range dbs {
		db, err := Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	writer, reader := dbs[0], dbs[1]
	version := func() int64 {
		t.Helper()
		v, err := reader.KeysVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := version()
	if err := writer.CreateKey(t.Context(), newKey("ci")); err != nil {
		t.Fatal(err)
	}
	v1 := version()
	if v1 == v0 {
		t.Errorf("version after another process's create: %d, unchanged", v1)
	}
	if err := writer.RevokeKey(t.Context(), "ci"); err != nil {
		t.Fatal(err)
	}
	if v2 := version(); v2 == v1 {
		t.Errorf("version after another process's revoke: %d, unchanged", v2)
	}
}

func TestKeysAreListedInByteOrderWhateverTheDatabasesCollation(t *testing.T) {
	db := openICU(t)
	for _, name := range []string{"alpha", "Beta"} {
		if err := db.CreateKey(t.Context(), newKey(name)); err != nil {
			t.Fatal(err)
		}
	}
	list, err := db.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 2; got != want {
		t.Fatalf("keys %d, want %d", got, want)
	}
	if got, want := list[0].Name, "Beta"; got != want {
		t.Errorf("first key %q, want %q (byte order, as SQLite's)", got, want)
	}
}

func TestARevokedKeyReadsBackWithItsRevocationTime(t *testing.T) {
	db := open(t)
	if err := db.CreateKey(t.Context(), newKey("ci")); err != nil {
		t.Fatal(err)
	}
	before := now()
	if err := db.RevokeKey(t.Context(), "ci"); err != nil {
		t.Fatal(err)
	}
	after := now()
	list, err := db.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	revoked := list[0].RevokedAt
	if revoked.Before(before) || revoked.After(after) {
		t.Errorf("revoked at %s, want between %s and %s", revoked, before, after)
	}
	if got, want := revoked.Location(), before.Location(); got != want {
		t.Errorf("revoked at in %s, want %s", got, want)
	}
}
