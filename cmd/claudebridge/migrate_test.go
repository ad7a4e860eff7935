package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge/sqlite"
)

func TestMigrateCopiesEveryRecordAndPrintsAVerifiedTable(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "from.db"), filepath.Join(dir, "to.db")
	db, err := sqlite.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(context.Background(), "ada", "hash"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"migrate", "--from", "sqlite://" + from, "--to", to}, &stdout, &stderr); err != nil {
		t.Fatalf("migrate: %v\n%s", err, stderr.String())
	}
	var users string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, "users ") {
			users = strings.Join(strings.Fields(line), " ")
		}
	}
	if got, want := users, "users 1 1"; !strings.HasPrefix(got, want) || !strings.HasSuffix(got, " yes") {
		t.Errorf("users line: %q, want %q … yes\n%s", got, want, stdout.String())
	}
	copied, err := sqlite.Open(to)
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	if _, hash, err := copied.UserByName(t.Context(), "ada"); err != nil || hash != "hash" {
		t.Errorf("the copy's user: hash %q, %v", hash, err)
	}
}

func TestMigrateWithoutBothStoresSaysWhatItNeeds(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"migrate", "--from", "a.db"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--from and --to") {
		t.Errorf("error: %v, want one naming --from and --to", err)
	}
}
