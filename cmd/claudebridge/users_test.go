package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/sqlite"
)

// runUsers runs `claudebridge users args...` on the database at path with
// stdin as its standard input.
func runUsers(t *testing.T, path, stdin string, args ...string) error {
	t.Helper()
	t.Setenv("DATABASE_URL", path)
	f, err := os.Create(filepath.Join(t.TempDir(), "stdin"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(stdin)
	f.Seek(0, 0)
	defer f.Close()
	saved := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = saved }()
	return users(context.Background(), args, io.Discard, io.Discard)
}

// sessionOf opens a session for name in the database at path.
func sessionOf(t *testing.T, path, name string) {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, _, err := db.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(context.Background(), u.ID, "token-hash", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func sessionAlive(t *testing.T, path string) bool {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.SessionUser(context.Background(), "token-hash")
	if err != nil && claudebridge.ErrorCode(err) != claudebridge.EAUTH {
		t.Fatal(err)
	}
	return err == nil
}

func TestUsersPasswdSetsThePasswordAndEndsTheSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	if err := runUsers(t, path, "first password\n", "add", "alice"); err != nil {
		t.Fatal(err)
	}
	sessionOf(t, path, "alice")
	if err := runUsers(t, path, "second password\n", "passwd", "alice"); err != nil {
		t.Fatal(err)
	}
	if sessionAlive(t, path) {
		t.Error("the session outlived the new password")
	}
}

func TestUsersRemoveEndsTheSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	if err := runUsers(t, path, "first password\n", "add", "alice"); err != nil {
		t.Fatal(err)
	}
	sessionOf(t, path, "alice")
	if err := runUsers(t, path, "", "remove", "alice"); err != nil {
		t.Fatal(err)
	}
	if sessionAlive(t, path) {
		t.Error("the session outlived its user")
	}
}

func TestUsersPasswdOfNoUserFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	if err := runUsers(t, path, "a password\n", "passwd", "nobody"); err == nil {
		t.Error("no error")
	}
}
