package dynamo

import (
	"os"
	"testing"

	"github.com/claudebridge/claudebridge/internal/dynalitetest"
)

func TestMain(m *testing.M) { os.Exit(dynalitetest.Main(m)) }

// open returns a store with tables of its own on dynalite.
func open(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), dynalitetest.URL(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAURLThatNamesNoTablePrefixIsRefused(t *testing.T) {
	for _, u := range []string{"dynamodb://", "dynamodb:///x", "postgres://x", "dynamodb://p/sub"} {
		if _, err := Open(t.Context(), u); err == nil {
			t.Errorf("Open(%q): no error", u)
		}
	}
}

func TestOpeningTwiceWithCreateFindsTheTablesMade(t *testing.T) {
	url := dynalitetest.URL(t)
	for range 2 {
		if _, err := Open(t.Context(), url); err != nil {
			t.Fatalf("Open: %v", err)
		}
	}
}
