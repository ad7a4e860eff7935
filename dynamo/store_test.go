package dynamo

import (
	"context"
	"errors"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/storetest"
)

// chatStore is the chat's half of the store as a storetest.Store: the
// services of the other half (keys, ledger, usage, batches, records) are
// not here yet. Usage answers with an error, so that the one chat
// behaviour that reaches it fails saying so; the others are nil and are
// not called by RunChat.
type chatStore struct {
	*DB
	claudebridge.KeyService
	claudebridge.LedgerService
	claudebridge.BatchService
	claudebridge.RecordStore
}

var errOtherHalf = errors.New("usage is not in the chat half of the DynamoDB store")

func (chatStore) AddUsage(context.Context, int64, string, string, claudebridge.Usage, float64, bool) error {
	return errOtherHalf
}

func (chatStore) Usage(context.Context, int64, string, string) ([]claudebridge.UsageRow, error) {
	return nil, errOtherHalf
}

func TestTheChatHalfPassesTheStoreSuite(t *testing.T) {
	storetest.RunChat(t, func(t *testing.T) storetest.Store { return chatStore{DB: open(t)} })
}
