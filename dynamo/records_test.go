package dynamo

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/claudebridge/claudebridge"
)

// exported reads every record of db.
func exported(t *testing.T, db *DB) []claudebridge.Record {
	t.Helper()
	var list []claudebridge.Record
	if err := db.ExportRecords(t.Context(), func(r claudebridge.Record) error {
		list = append(list, r)
		return nil
	}); err != nil {
		t.Fatalf("ExportRecords: %v", err)
	}
	return list
}

func TestAnImportThatFailsLeavesNothingOfItBehind(t *testing.T) {
	db := open(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err := db.ImportRecords(t.Context(), []claudebridge.Record{
		{User: &claudebridge.UserRecord{User: claudebridge.User{ID: 7, Name: "ada", CreatedAt: at}, PasswordHash: "hash-ada"}},
		{Key: &claudebridge.Key{ID: 3, Name: "team", Prefix: "cb-team", Hash: "hash-team", CreatedAt: at}},
		{Ledger: &claudebridge.LedgerRecord{ID: 9, LedgerEntry: claudebridge.LedgerEntry{Time: at, Key: "team", Model: "m", Door: "messages", CostUSD: 1}}},
		{Message: &claudebridge.Message{ID: "msg_x", ConversationID: "conv_nowhere", Seq: 1, Role: "user", Content: "hi",
			Status: claudebridge.MessageComplete, CreatedAt: at, UpdatedAt: at}},
	})
	if err == nil {
		t.Fatal("an import of a message whose conversation is nowhere: no error")
	}
	if got, want := len(exported(t, db)), 0; got != want {
		t.Errorf("records after the failed import: %d, want %d", got, want)
	}
	if _, err := db.CreateUser(t.Context(), "ada", "other"); err != nil {
		t.Errorf("CreateUser of the name the failed import claimed: %v", err)
	}
}

func TestAnImportedUserWhoseNameIsTakenIsLeftOut(t *testing.T) {
	db := open(t)
	mine, err := db.CreateUser(t.Context(), "ada", "hash-mine")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ImportRecords(t.Context(), []claudebridge.Record{
		{User: &claudebridge.UserRecord{User: claudebridge.User{ID: mine.ID + 10, Name: "ada", CreatedAt: now()}, PasswordHash: "hash-theirs"}},
	}); err != nil {
		t.Fatalf("ImportRecords: %v", err)
	}
	u, hash, err := db.UserByName(t.Context(), "ada")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.ID, mine.ID; got != want {
		t.Errorf("ada's id %d, want the stored user's %d", got, want)
	}
	if got, want := hash, "hash-mine"; got != want {
		t.Errorf("ada's hash %q, want %q", got, want)
	}
	users, err := db.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(users), 1; got != want {
		t.Errorf("users %d, want %d", got, want)
	}
}

func TestKeysAndLedgerEntriesMadeAfterAnImportGetIDsPastTheImportedOnes(t *testing.T) {
	db := open(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := db.ImportRecords(t.Context(), []claudebridge.Record{
		{Key: &claudebridge.Key{ID: 40, Name: "team", Prefix: "cb-team", Hash: "hash-team", CreatedAt: at}},
		{Ledger: &claudebridge.LedgerRecord{ID: 1000, LedgerEntry: claudebridge.LedgerEntry{Time: at, Key: "team", Model: "m", Door: "messages", CostUSD: 1}}},
	}); err != nil {
		t.Fatalf("ImportRecords: %v", err)
	}
	k := &claudebridge.Key{Name: "second", Prefix: "cb-second", Hash: "hash-second"}
	if err := db.CreateKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	if k.ID <= 40 {
		t.Errorf("a new key's id %d, want past the imported 40", k.ID)
	}
	if err := db.AppendLedger(t.Context(), []claudebridge.LedgerEntry{{Time: at, Key: "team", Model: "m", Door: "messages", CostUSD: 2}}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range exported(t, db) {
		if r.Ledger != nil {
			ids = append(ids, r.Ledger.ID)
		}
	}
	if got, want := len(ids), 2; got != want {
		t.Fatalf("ledger entries %d, want %d", got, want)
	}
	if ids[0] == ids[1] || min(ids[0], ids[1]) != 1000 {
		t.Errorf("ledger ids %v, want 1000 and one past it", ids)
	}
}

func TestRecordsNothingReachesAreNotExported(t *testing.T) {
	db := open(t)
	u, err := db.CreateUser(t.Context(), "ada", "hash")
	if err != nil {
		t.Fatal(err)
	}
	c := &claudebridge.Conversation{UserID: u.ID, Title: "gone", Model: "m"}
	if err := db.CreateConversation(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if err := db.AddMessage(t.Context(), &claudebridge.Message{ConversationID: c.ID, Role: "user", Content: "hi", Status: claudebridge.MessageComplete}); err != nil {
		t.Fatal(err)
	}
	// A removal that died after the conversation's item went.
	if _, err := db.client.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{TableName: db.table(conversationsTable.kind), Key: conversationKey(c.ID)}); err != nil {
		t.Fatal(err)
	}
	for _, r := range exported(t, db) {
		if r.Message != nil {
			t.Errorf("exported message %s of a removed conversation", r.Message.ID)
		}
	}
}

func TestAnExportStopsAtTheFirstErrorOfEachAndReturnsIt(t *testing.T) {
	db := open(t)
	u, err := db.CreateUser(t.Context(), "ada", "hash")
	if err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"one", "two"} {
		if err := db.CreateConversation(t.Context(), &claudebridge.Conversation{UserID: u.ID, Title: title, Model: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("stop")
	calls := 0
	err = db.ExportRecords(t.Context(), func(r claudebridge.Record) error {
		calls++
		if r.Conversation != nil {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("ExportRecords: %v, want each's error as it is", err)
	}
	if got, want := calls, 2; got != want {
		t.Errorf("records handed over: %d, want %d (the user, then the conversation that stopped it)", got, want)
	}
}
