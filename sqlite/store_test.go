package sqlite

import (
	"testing"

	"github.com/claudebridge/claudebridge/storetest"
)

func TestSQLitePassesTheStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		db, _ := open(t)
		return db
	})
}
