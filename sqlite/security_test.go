package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

func TestTheDatabaseFileIsTheOwnersOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix file modes")
	}
	_, path := open(t)
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(p), got, want)
		}
	}
}

func TestAnOpenDatabaseFileIsMadePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix file modes")
	}
	path := filepath.Join(t.TempDir(), "chat.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("mode %v, want %v", got, want)
	}
}

func TestANewPasswordEndsTheSessions(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	alice, _ := users(t, db)
	if err := db.CreateSession(ctx, alice.ID, "live", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPassword(ctx, "alice", "hash-new"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionUser(ctx, "live"); claudebridge.ErrorCode(err) != claudebridge.EAUTH {
		t.Errorf("session after a new password: %v", err)
	}
	_, hash, err := db.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hash, "hash-new"; got != want {
		t.Errorf("hash %q, want %q", got, want)
	}
}

func TestANewPasswordForNoUserIsNotFound(t *testing.T) {
	db, _ := open(t)
	err := db.SetPassword(context.Background(), "nobody", "h")
	if got, want := claudebridge.ErrorCode(err), claudebridge.ENOTFOUND; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
}

func TestARemovedUsersSessionsEnd(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	alice, _ := users(t, db)
	if err := db.CreateSession(ctx, alice.ID, "live", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionUser(ctx, "live"); claudebridge.ErrorCode(err) != claudebridge.EAUTH {
		t.Errorf("session of a removed user: %v", err)
	}
	if err := db.DeleteUser(ctx, "alice"); claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		t.Errorf("removing again: %v", err)
	}
}
