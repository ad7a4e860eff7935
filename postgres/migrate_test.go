package postgres

import (
	"path/filepath"
	"testing"

	"github.com/claudebridge/claudebridge/sqlite"
	"github.com/claudebridge/claudebridge/storetest"
)

func TestASQLiteStoreCopiesIntoPostgreSQLAndBack(t *testing.T) {
	openSQLite := func(t *testing.T) storetest.Store {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "claudebridge.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	openPostgres := func(t *testing.T) storetest.Store { return open(t) }
	t.Run("SQLite into PostgreSQL", func(t *testing.T) { storetest.RunCopy(t, openSQLite, openPostgres) })
	t.Run("PostgreSQL into SQLite", func(t *testing.T) { storetest.RunCopy(t, openPostgres, openSQLite) })
}
