package dynamo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

// claimName stores a name's claim as a creation that died after taking
// the name, claimed at, pointing at a user that was never stored.
func claimName(t *testing.T, db *DB, name string, at time.Time) {
	t.Helper()
	item, err := attributevalue.MarshalMap(userNameItem{Name: name, ID: 1000, At: micros(at)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: db.table(userNamesTable.kind), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func TestANameLeftByACreationThatDiedIsTakenAgainOnceStale(t *testing.T) {
	db := open(t)
	claimName(t, db, "alice", now().Add(-2*claimStale))
	u, err := db.CreateUser(t.Context(), "alice", "hash")
	if err != nil {
		t.Fatalf("CreateUser of a stale name: %v", err)
	}
	got, hash, err := db.UserByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.ID, u.ID; got != want {
		t.Errorf("alice's ID %d, want the new user's %d", got, want)
	}
	if got, want := hash, "hash"; got != want {
		t.Errorf("hash %q, want %q", got, want)
	}
}

func TestANameClaimedJustNowIsTakenWhileItsUserIsStored(t *testing.T) {
	db := open(t)
	claimName(t, db, "alice", now())
	_, err := db.CreateUser(t.Context(), "alice", "hash")
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Errorf("CreateUser of a name being created: code %q (%v), want %q", got, err, want)
	}
	_, _, err = db.UserByName(t.Context(), "alice")
	if got, want := claudebridge.ErrorCode(err), claudebridge.ENOTFOUND; got != want {
		t.Errorf("UserByName while its user is not stored: code %q (%v), want %q", got, err, want)
	}
}

func TestASessionExpiresForDynamoDBsTTLAtItsEnd(t *testing.T) {
	db := open(t)
	u, err := db.CreateUser(t.Context(), "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := db.CreateSession(t.Context(), u.ID, "token", expires); err != nil {
		t.Fatal(err)
	}
	out, err := db.client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: db.table(sessionsTable.kind), Key: map[string]types.AttributeValue{"token": attrS("token")}})
	if err != nil {
		t.Fatal(err)
	}
	var s sessionItem
	if err := attributevalue.UnmarshalMap(out.Item, &s); err != nil {
		t.Fatal(err)
	}
	if got, want := s.TTL, expires.Unix()+1; got != want {
		t.Errorf("TTL %d, want %d (seconds, just past the end)", got, want)
	}
}

// The suite's removal check reaches usage, which is not in this half:
// this is its part without usage, and the hook through which usage.go
// removes a user's usage.
func TestARemovedUserIsGoneWithItsSessionsConversationsPromptsAndWhatRemoversRemove(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	var removed []int64
	saved := userDataRemovers
	userDataRemovers = append(userDataRemovers, func(_ context.Context, _ *DB, id int64) error {
		removed = append(removed, id)
		return nil
	})
	t.Cleanup(func() { userDataRemovers = saved })
	alice, c := chat(t, db)
	m := &claudebridge.Message{ConversationID: c.ID, Role: "user", Content: "hello", Status: claudebridge.MessageComplete}
	if err := db.AddMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	p := &claudebridge.Prompt{UserID: alice.ID, Name: "terse", Text: "Be terse."}
	if err := db.CreatePrompt(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, alice.ID, "token", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(removed), fmt.Sprint([]int64{alice.ID}); got != want {
		t.Errorf("removers called for %s, want %s", got, want)
	}
	_, err := db.SessionUser(ctx, "token")
	if got, want := claudebridge.ErrorCode(err), claudebridge.EAUTH; got != want {
		t.Errorf("SessionUser: code %q, want %q", got, want)
	}
	for _, kind := range []string{sessionsTable.kind, conversationsTable.kind, messagesTable.kind, messageIDsTable.kind, promptsTable.kind} {
		out, err := db.client.Scan(ctx, &dynamodb.ScanInput{TableName: db.table(kind)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(out.Items), 0; got != want {
			t.Errorf("%s left: %d, want %d", kind, got, want)
		}
	}
}
