package dynamo

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

// What the chat's WebSockets behind API Gateway share lives in three
// tables, each item with its expiry and a TTL a second after it; TTL
// removes items late, so every read leaves out what expired by its now.
// socket_tickets holds each one-time ticket by the hash of its text;
// socket_connections each open connection by API Gateway's connectionId;
// turn_requests each request to a running turn, by turn and request id,
// so that the turn's process reads all of its own in one strongly
// consistent Query of the table itself (an index is read eventually, and
// would miss a stop just made).
var (
	socketTicketsTable     = tableDef{kind: "socket_tickets", hash: keyAttr{"hash", types.ScalarAttributeTypeS}, ttl: "ttl"}
	socketConnectionsTable = tableDef{kind: "socket_connections", hash: keyAttr{"id", types.ScalarAttributeTypeS}, ttl: "ttl"}
	turnRequestsTable      = tableDef{kind: "turn_requests", hash: keyAttr{"turn", types.ScalarAttributeTypeS},
		rng: &keyAttr{"id", types.ScalarAttributeTypeS}, ttl: "ttl"}
)

type socketTicketItem struct {
	Hash    string `dynamodbav:"hash"`
	User    int64  `dynamodbav:"user"`
	Expires int64  `dynamodbav:"expires"`
	TTL     int64  `dynamodbav:"ttl"` // seconds, for DynamoDB's TTL sweep
}

type socketConnectionItem struct {
	ID      string `dynamodbav:"id"`
	User    int64  `dynamodbav:"user"`
	At      int64  `dynamodbav:"at"`
	Expires int64  `dynamodbav:"expires"`
	TTL     int64  `dynamodbav:"ttl"`
}

type turnRequestItem struct {
	Turn       string `dynamodbav:"turn"`
	ID         string `dynamodbav:"id"`
	Kind       string `dynamodbav:"kind,omitempty"`
	User       int64  `dynamodbav:"user"`
	Connection string `dynamodbav:"connection,omitempty"`
	AfterSeq   int    `dynamodbav:"after_seq"`
	At         int64  `dynamodbav:"at"`
	Expires    int64  `dynamodbav:"expires"`
	TTL        int64  `dynamodbav:"ttl"`
}

// ttlOf is the TTL of an item that expires at expires: the second after.
func ttlOf(expires time.Time) int64 { return expires.Unix() + 1 }

var _ claudebridge.SocketService = (*DB)(nil)

// AddSocketTicket stores a ticket's hash for userID until expires.
func (db *DB) AddSocketTicket(ctx context.Context, hash string, userID int64, expires time.Time) error {
	item, err := attributevalue.MarshalMap(socketTicketItem{Hash: hash, User: userID, Expires: micros(expires), TTL: ttlOf(expires)})
	if err != nil {
		return internal("add socket ticket", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(socketTicketsTable.kind), Item: item})
	return internal("add socket ticket", err)
}

// RedeemSocketTicket removes a live ticket and returns its user in one
// DeleteItem, conditional on the ticket being there and live: of several
// redeeming it at once, one deletes it, the others' conditions fail.
func (db *DB) RedeemSocketTicket(ctx context.Context, hash string, at time.Time) (int64, error) {
	out, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: db.table(socketTicketsTable.kind),
		Key:                       map[string]types.AttributeValue{"hash": attrS(hash)},
		ConditionExpression:       aws.String("attribute_exists(#hash) AND #expires > :now"),
		ExpressionAttributeNames:  map[string]string{"#hash": "hash", "#expires": "expires"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": attrN(micros(at))},
		ReturnValues:              types.ReturnValueAllOld})
	if conditionFailed(err) {
		return 0, claudebridge.Errorf(claudebridge.EAUTH, "no such ticket")
	}
	if err != nil {
		return 0, internal("redeem socket ticket", err)
	}
	var ticket socketTicketItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &ticket); err != nil {
		return 0, internal("redeem socket ticket", err)
	}
	return ticket.User, nil
}

// AddSocketConnection records an open connection, replacing one of the
// same ID.
func (db *DB) AddSocketConnection(ctx context.Context, c claudebridge.SocketConnection) error {
	item, err := attributevalue.MarshalMap(socketConnectionItem{ID: c.ID, User: c.UserID, At: micros(c.At),
		Expires: micros(c.Expires), TTL: ttlOf(c.Expires)})
	if err != nil {
		return internal("add socket connection", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(socketConnectionsTable.kind), Item: item})
	return internal("add socket connection", err)
}

// SocketConnection returns a connection that has not expired at at.
func (db *DB) SocketConnection(ctx context.Context, id string, at time.Time) (*claudebridge.SocketConnection, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(socketConnectionsTable.kind),
		ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{"id": attrS(id)}})
	if err != nil {
		return nil, internal("socket connection", err)
	}
	if out.Item == nil {
		return nil, notFound("connection")
	}
	var c socketConnectionItem
	if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
		return nil, internal("socket connection", err)
	}
	if c.Expires <= micros(at) {
		return nil, notFound("connection")
	}
	return &claudebridge.SocketConnection{ID: c.ID, UserID: c.User, At: fromMicros(c.At), Expires: fromMicros(c.Expires)}, nil
}

// RemoveSocketConnection removes a connection.
func (db *DB) RemoveSocketConnection(ctx context.Context, id string) error {
	_, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: db.table(socketConnectionsTable.kind),
		Key: map[string]types.AttributeValue{"id": attrS(id)}})
	return internal("remove socket connection", err)
}

// AddTurnRequest records a request to a turn, replacing one of the same
// turn and ID.
func (db *DB) AddTurnRequest(ctx context.Context, r claudebridge.TurnRequest) error {
	if r.TurnID == "" || r.ID == "" {
		return claudebridge.Errorf(claudebridge.EINVALID, "a turn request needs its turn and its id")
	}
	item, err := attributevalue.MarshalMap(turnRequestItem{Turn: r.TurnID, ID: r.ID, Kind: r.Kind, User: r.UserID,
		Connection: r.ConnectionID, AfterSeq: r.AfterSeq, At: micros(r.At), Expires: micros(r.Expires), TTL: ttlOf(r.Expires)})
	if err != nil {
		return internal("add turn request", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(turnRequestsTable.kind), Item: item})
	return internal("add turn request", err)
}

// TurnRequests returns a turn's live requests, oldest first: one strongly
// consistent Query of the table (page after page), which sees every write
// that succeeded before it began.
func (db *DB) TurnRequests(ctx context.Context, turnID string, at time.Time) ([]claudebridge.TurnRequest, error) {
	var items []turnRequestItem
	if err := db.queryAll(ctx, &dynamodb.QueryInput{TableName: db.table(turnRequestsTable.kind), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("#turn = :turn"),
		ExpressionAttributeNames:  map[string]string{"#turn": "turn"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":turn": attrS(turnID)}}, &items); err != nil {
		return nil, internal("turn requests", err)
	}
	list := []claudebridge.TurnRequest{}
	cut := micros(at)
	for _, it := range items {
		if it.Expires <= cut {
			continue
		}
		list = append(list, claudebridge.TurnRequest{TurnID: it.Turn, ID: it.ID, Kind: it.Kind, UserID: it.User,
			ConnectionID: it.Connection, AfterSeq: it.AfterSeq, At: fromMicros(it.At), Expires: fromMicros(it.Expires)})
	}
	slices.SortFunc(list, func(a, b claudebridge.TurnRequest) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return list, nil
}
