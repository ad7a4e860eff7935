package dynamo

import (
	"path/filepath"
	"testing"

	"github.com/claudebridge/claudebridge/sqlite"
	"github.com/claudebridge/claudebridge/storetest"
)

func TestDynamoDBPassesTheStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t) })
}

func TestASQLiteStoreCopiesIntoDynamoDBAndBack(t *testing.T) {
	openSQLite := func(t *testing.T) storetest.Store {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "claudebridge.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	openDynamoDB := func(t *testing.T) storetest.Store { return open(t) }
	t.Run("SQLite into DynamoDB", func(t *testing.T) { storetest.RunCopy(t, openSQLite, openDynamoDB) })
	t.Run("DynamoDB into SQLite", func(t *testing.T) { storetest.RunCopy(t, openDynamoDB, openSQLite) })
}
