package dynamo

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

// prompts holds each saved prompt under its user: (user, id) is the key,
// so another user's prompt is simply absent, and a user's list is one
// Query.
var promptsTable = tableDef{kind: "prompts", hash: keyAttr{"user", types.ScalarAttributeTypeN}, rng: &keyAttr{"id", types.ScalarAttributeTypeS}}

type promptItem struct {
	User    int64  `dynamodbav:"user"`
	ID      string `dynamodbav:"id"`
	Name    string `dynamodbav:"name"`
	Text    string `dynamodbav:"text"`
	Created int64  `dynamodbav:"created,omitempty"`
	Updated int64  `dynamodbav:"updated,omitempty"`
}

func (it promptItem) prompt() claudebridge.Prompt {
	return claudebridge.Prompt{ID: it.ID, UserID: it.User, Name: it.Name, Text: it.Text,
		CreatedAt: fromMicros(it.Created), UpdatedAt: fromMicros(it.Updated)}
}

func promptKey(userID int64, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"user": attrN(userID), "id": attrS(id)}
}

// CreatePrompt stores p, filling ID and times.
func (db *DB) CreatePrompt(ctx context.Context, p *claudebridge.Prompt) error {
	p.ID = newID("prompt_")
	p.CreatedAt = now()
	p.UpdatedAt = p.CreatedAt
	item, err := attributevalue.MarshalMap(promptItem{User: p.UserID, ID: p.ID, Name: p.Name, Text: p.Text,
		Created: micros(p.CreatedAt), Updated: micros(p.UpdatedAt)})
	if err != nil {
		return internal("create prompt", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(promptsTable.kind), Item: item})
	return internal("create prompt", err)
}

// Prompt returns one of userID's prompts; ENOTFOUND otherwise.
func (db *DB) Prompt(ctx context.Context, userID int64, id string) (*claudebridge.Prompt, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(promptsTable.kind), Key: promptKey(userID, id),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, internal("prompt", err)
	}
	if out.Item == nil {
		return nil, notFound("prompt")
	}
	var it promptItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, internal("prompt", err)
	}
	p := it.prompt()
	return &p, nil
}

// userPrompts reads every prompt of userID.
func (db *DB) userPrompts(ctx context.Context, userID int64) ([]promptItem, error) {
	var list []promptItem
	err := db.queryAll(ctx, &dynamodb.QueryInput{TableName: db.table(promptsTable.kind), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("#u = :u"),
		ExpressionAttributeNames:  map[string]string{"#u": "user"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": attrN(userID)}}, &list)
	return list, err
}

// Prompts lists userID's prompts by name (then id, as the other stores).
func (db *DB) Prompts(ctx context.Context, userID int64) ([]claudebridge.Prompt, error) {
	items, err := db.userPrompts(ctx, userID)
	if err != nil {
		return nil, internal("prompts", err)
	}
	slices.SortFunc(items, func(a, b promptItem) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	list := make([]claudebridge.Prompt, len(items))
	for i, it := range items {
		list[i] = it.prompt()
	}
	return list, nil
}

// UpdatePrompt saves Name and Text of p.
func (db *DB) UpdatePrompt(ctx context.Context, p *claudebridge.Prompt) error {
	updated := now()
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(promptsTable.kind), Key: promptKey(p.UserID, p.ID),
		UpdateExpression:          aws.String("SET #n = :n, #t = :t, #up = :up"),
		ConditionExpression:       aws.String("attribute_exists(id)"),
		ExpressionAttributeNames:  map[string]string{"#n": "name", "#t": "text", "#up": "updated"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": attrS(p.Name), ":t": attrS(p.Text), ":up": attrN(micros(updated))}})
	if conditionFailed(err) {
		return notFound("prompt")
	}
	if err != nil {
		return internal("update prompt", err)
	}
	p.UpdatedAt = updated
	return nil
}

// DeletePrompt removes a prompt; the conversations that chose it go on
// without a system prompt (each cleared by a conditional update, so a
// conversation given another prompt meanwhile keeps it).
func (db *DB) DeletePrompt(ctx context.Context, userID int64, id string) error {
	_, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: db.table(promptsTable.kind), Key: promptKey(userID, id),
		ConditionExpression: aws.String("attribute_exists(id)")})
	if conditionFailed(err) {
		return notFound("prompt")
	}
	if err != nil {
		return internal("delete prompt", err)
	}
	convs, err := db.userConversations(ctx, userID)
	if err != nil {
		return internal("delete prompt", err)
	}
	for _, c := range convs {
		if c.Prompt != id {
			continue
		}
		_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(conversationsTable.kind), Key: conversationKey(c.ID),
			UpdateExpression:          aws.String("SET #p = :none"),
			ConditionExpression:       aws.String("#p = :p"),
			ExpressionAttributeNames:  map[string]string{"#p": "prompt"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": attrS(id), ":none": attrS("")}})
		if err != nil && !conditionFailed(err) {
			return internal("delete prompt", err)
		}
	}
	return nil
}

// deleteUserPrompts removes every prompt of a removed user.
func (db *DB) deleteUserPrompts(ctx context.Context, userID int64) error {
	list, err := db.userPrompts(ctx, userID)
	if err != nil {
		return err
	}
	var keys []map[string]types.AttributeValue
	for _, p := range list {
		keys = append(keys, promptKey(p.User, p.ID))
	}
	return db.deleteAll(ctx, db.table(promptsTable.kind), keys)
}
