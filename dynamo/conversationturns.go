package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// conversation_turns holds, by conversation, the process (owner) whose turn
// runs in it: one item, taken by conditional puts. An item left by a
// deleted conversation holds nothing anyone asks for.
var conversationTurnsTable = tableDef{kind: "conversation_turns", hash: keyAttr{"conversation_id", types.ScalarAttributeTypeS}}

type conversationTurnItem struct {
	ConversationID string `dynamodbav:"conversation_id"`
	Owner          string `dynamodbav:"owner"`
}

// ReserveConversation gives owner the conversation unless a live owner
// holds it. A put succeeds when the conversation is free or owner's; else
// the holder's lease is read, and a lapsed holder's hold is taken by a put
// conditional on that holder still having it, so that of processes racing
// for it one wins.
func (db *DB) ReserveConversation(ctx context.Context, conversationID, owner string, at time.Time) (bool, error) {
	item, err := attributevalue.MarshalMap(conversationTurnItem{ConversationID: conversationID, Owner: owner})
	if err != nil {
		return false, internal("reserve conversation", err)
	}
	put := func(condition string, values map[string]types.AttributeValue) (bool, error) {
		_, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(conversationTurnsTable.kind), Item: item,
			ConditionExpression: aws.String(condition), ExpressionAttributeNames: map[string]string{"#owner": "owner"},
			ExpressionAttributeValues: values})
		if conditionFailed(err) {
			return false, nil
		}
		return err == nil, err
	}
	for try := range tries {
		if err := backoff(ctx, try); err != nil {
			return false, err
		}
		ok, err := put("attribute_not_exists(conversation_id) OR #owner = :owner", map[string]types.AttributeValue{":owner": attrS(owner)})
		if ok || err != nil {
			return ok, internal("reserve conversation", err)
		}
		holder, err := db.conversationHolder(ctx, conversationID)
		if err != nil {
			return false, internal("reserve conversation", err)
		}
		if holder == "" {
			continue // released meanwhile
		}
		alive, err := db.leaseLive(ctx, holder, at)
		if err != nil || alive {
			return false, internal("reserve conversation", err)
		}
		ok, err = put("#owner = :holder", map[string]types.AttributeValue{":holder": attrS(holder)})
		if ok || err != nil {
			return ok, internal("reserve conversation", err)
		}
	}
	return false, internal("reserve conversation", errContended)
}

// conversationHolder reads who holds a conversation; "" for none.
func (db *DB) conversationHolder(ctx context.Context, conversationID string) (string, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(conversationTurnsTable.kind), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"conversation_id": attrS(conversationID)}})
	if err != nil || out.Item == nil {
		return "", err
	}
	var it conversationTurnItem
	err = attributevalue.UnmarshalMap(out.Item, &it)
	return it.Owner, err
}

// leaseLive reports whether owner's turn lease runs past at.
func (db *DB) leaseLive(ctx context.Context, owner string, at time.Time) (bool, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(turnLeasesTable.kind), ConsistentRead: aws.Bool(true), Key: leaseKey(owner)})
	if err != nil || out.Item == nil {
		return false, err
	}
	var l turnLeaseItem
	if err := attributevalue.UnmarshalMap(out.Item, &l); err != nil {
		return false, err
	}
	return l.Expires > at.UnixMicro(), nil
}

// ReleaseConversation gives up owner's hold on a conversation.
func (db *DB) ReleaseConversation(ctx context.Context, conversationID, owner string) error {
	_, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: db.table(conversationTurnsTable.kind),
		Key:                       map[string]types.AttributeValue{"conversation_id": attrS(conversationID)},
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": attrS(owner)}})
	if conditionFailed(err) {
		return nil
	}
	return internal("release conversation", err)
}
