package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/claudebridge/claudebridge"
)

// recording is db with a client that keeps the input of each call it
// makes.
func recording(db *DB, inputs *[]any) *DB {
	record := middleware.InitializeMiddlewareFunc("record", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		*inputs = append(*inputs, in.Parameters)
		return next.HandleInitialize(ctx, in)
	})
	client := dynamodb.New(db.client.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { return s.Initialize.Add(record, middleware.Before) })
	})
	return &DB{client: client, prefix: db.prefix}
}

// A stop must reach the turn's process at its next read: an index (a
// GSI) is read eventually and may not have it yet, the table strongly.
func TestTurnRequestsAreOneStronglyConsistentQueryOfTheTableItself(t *testing.T) {
	db := open(t)
	at := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	if err := db.AddTurnRequest(t.Context(), claudebridge.TurnRequest{TurnID: "turn_1", ID: "r1", Kind: claudebridge.TurnStop,
		At: at, Expires: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var inputs []any
	if _, err := recording(db, &inputs).TurnRequests(t.Context(), "turn_1", at); err != nil {
		t.Fatal(err)
	}
	if got, want := len(inputs), 1; got != want {
		t.Fatalf("%d calls, want %d", got, want)
	}
	q, ok := inputs[0].(*dynamodb.QueryInput)
	if !ok {
		t.Fatalf("the call is a %T, want a Query", inputs[0])
	}
	if got, want := aws.ToBool(q.ConsistentRead), true; got != want {
		t.Errorf("ConsistentRead %v, want %v", got, want)
	}
	if got, want := aws.ToString(q.IndexName), ""; got != want {
		t.Errorf("IndexName %q, want %q (the table)", got, want)
	}
	if got, want := aws.ToString(q.TableName), aws.ToString(db.table(turnRequestsTable.kind)); got != want {
		t.Errorf("TableName %q, want %q", got, want)
	}
}

// DynamoDB's TTL is in seconds since the epoch; an item must not go
// before it expires, and should go soon after.
func TestEachSocketItemsTTLIsInSecondsJustAfterItsExpiry(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	expires := time.Now().UTC().Truncate(time.Second).Add(time.Hour + 500*time.Millisecond)
	if err := db.AddSocketTicket(ctx, "h1", 7, expires); err != nil {
		t.Fatal(err)
	}
	if err := db.AddSocketConnection(ctx, claudebridge.SocketConnection{ID: "c1", UserID: 7, At: expires.Add(-time.Hour), Expires: expires}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddTurnRequest(ctx, claudebridge.TurnRequest{TurnID: "turn_1", ID: "r1", At: expires.Add(-time.Hour), Expires: expires}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		table string
		key   map[string]types.AttributeValue
	}{
		{socketTicketsTable.kind, map[string]types.AttributeValue{"hash": attrS("h1")}},
		{socketConnectionsTable.kind, map[string]types.AttributeValue{"id": attrS("c1")}},
		{turnRequestsTable.kind, map[string]types.AttributeValue{"turn": attrS("turn_1"), "id": attrS("r1")}},
	} {
		out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(c.table), Key: c.key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		var item struct {
			TTL int64 `dynamodbav:"ttl"`
		}
		if err := attributevalue.UnmarshalMap(out.Item, &item); err != nil {
			t.Fatal(err)
		}
		if got, want := item.TTL, expires.Unix()+1; got != want {
			t.Errorf("%s: ttl %d, want %d", c.table, got, want)
		}
	}
}
