package dynamo

import (
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/storetest"
)

// withoutRecords is the store as a storetest.Store until it exports and
// imports records (RecordStore, nil here): the suite's chat and
// operations parts run on it.
type withoutRecords struct {
	*DB
	claudebridge.RecordStore
}

func TestDynamoDBPassesTheStoreSuiteButRecords(t *testing.T) {
	open := func(t *testing.T) storetest.Store { return withoutRecords{DB: open(t)} }
	t.Run("Chat", func(t *testing.T) { storetest.RunChat(t, open) })
	t.Run("Operations", func(t *testing.T) { storetest.RunOperations(t, open) })
}
