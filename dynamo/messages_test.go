package dynamo

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/claudebridge/claudebridge"
)

// chat makes a user with one conversation.
func chat(t *testing.T, db *DB) (*claudebridge.User, *claudebridge.Conversation) {
	t.Helper()
	u, err := db.CreateUser(t.Context(), "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	c := &claudebridge.Conversation{UserID: u.ID, Title: "chat", Model: "model-a"}
	if err := db.CreateConversation(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return u, c
}

// A delete that dies between a message and its id's pointer leaves the
// pointer, and a new message takes the Seq: the old id must not reach it.
func TestAnUpdateByTheIDOfAMessageWhoseSeqWasRetakenIsNotFound(t *testing.T) {
	db := open(t)
	u, c := chat(t, db)
	old := &claudebridge.Message{ConversationID: c.ID, Role: "user", Content: "old", Status: claudebridge.MessageComplete}
	if err := db.AddMessage(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.client.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{TableName: db.table(messagesTable.kind),
		Key: messageKey(c.ID, old.Seq)}); err != nil {
		t.Fatal(err)
	}
	fresh := &claudebridge.Message{ConversationID: c.ID, Role: "user", Content: "fresh", Status: claudebridge.MessageComplete}
	if err := db.AddMessage(t.Context(), fresh); err != nil {
		t.Fatal(err)
	}
	if got, want := fresh.Seq, old.Seq; got != want {
		t.Fatalf("the new message's Seq %d, want the cut one's %d", got, want)
	}
	old.Content = "overwritten"
	err := db.UpdateMessage(t.Context(), old)
	if got, want := claudebridge.ErrorCode(err), claudebridge.ENOTFOUND; got != want {
		t.Errorf("UpdateMessage by the old id: code %q (%v), want %q", got, err, want)
	}
	err = db.ClaimMessage(t.Context(), old.ID, "proc-a")
	if got, want := claudebridge.ErrorCode(err), claudebridge.ENOTFOUND; got != want {
		t.Errorf("ClaimMessage by the old id: code %q (%v), want %q", got, err, want)
	}
	list, err := db.Messages(t.Context(), u.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := list[0].Content, "fresh"; got != want {
		t.Errorf("content %q, want %q", got, want)
	}
}

// TransactWriteItems holds 100 items; an import is not bounded by it.
func TestAnImportOfMoreThanAHundredConversationsStoresThemAll(t *testing.T) {
	db := open(t)
	u, _ := chat(t, db)
	var list []claudebridge.ImportedConversation
	for i := range 120 {
		list = append(list, claudebridge.ImportedConversation{
			Conversation: &claudebridge.Conversation{UserID: u.ID, Title: fmt.Sprint("imported ", i), Model: "model-a"},
			Messages:     []*claudebridge.Message{{Role: "user", Content: fmt.Sprint("q", i), Status: claudebridge.MessageComplete}},
		})
	}
	if err := db.ImportConversations(t.Context(), list); err != nil {
		t.Fatal(err)
	}
	convs, err := db.userConversations(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(convs), 121; got != want {
		t.Errorf("conversations after the import %d, want %d", got, want)
	}
	last := list[119].Conversation
	msgs, err := db.Messages(t.Context(), u.ID, last.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(msgs), 1; got != want {
		t.Fatalf("messages of the last imported %d, want %d", got, want)
	}
	if got, want := msgs[0].Content, "q119"; got != want {
		t.Errorf("content %q, want %q", got, want)
	}
}

// A DynamoDB item holds at most 400 KB: a long answer is kept gzipped.
func TestAnAnswerLongerThanAnItemHoldsIsSavedAndFound(t *testing.T) {
	db := open(t)
	u, c := chat(t, db)
	m := &claudebridge.Message{ConversationID: c.ID, Role: "assistant", Status: claudebridge.MessageStreaming}
	if err := db.AddMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 10_000) + "the zebra end"
	m.Content, m.Status = long, claudebridge.MessageComplete
	if err := db.UpdateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	list, err := db.Messages(t.Context(), u.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := list[0].Content, long; got != want {
		t.Errorf("content read back: %d bytes, want %d", len(got), len(want))
	}
	found, err := db.SearchConversations(t.Context(), u.ID, "ZEBRA END", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(found), 1; got != want {
		t.Errorf("hits for the end of a long answer %d, want %d", got, want)
	}
}
