package dynamo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

// conversations holds each conversation by id (a message names only its
// conversation, so that is the key), with its user. Its by-user index
// lists a user's conversations by "recent": the update time as 20 digits
// of microseconds, a dot and the id, so that the index's order is
// UpdatedAt then id, and a page's last "recent" is the next page's cursor,
// as the other stores' (updated_at, id) cursors are.
var conversationsTable = tableDef{kind: "conversations", hash: keyAttr{"id", types.ScalarAttributeTypeS},
	indexes: []indexDef{{name: "by-user", hash: keyAttr{"user", types.ScalarAttributeTypeN}, rng: &keyAttr{"recent", types.ScalarAttributeTypeS}}}}

type conversationItem struct {
	ID      string `dynamodbav:"id"`
	User    int64  `dynamodbav:"user"`
	Title   string `dynamodbav:"title"`
	Model   string `dynamodbav:"model"`
	Prompt  string `dynamodbav:"prompt"`
	Created int64  `dynamodbav:"created,omitempty"`
	Updated int64  `dynamodbav:"updated,omitempty"`
	Recent  string `dynamodbav:"recent"`
}

func recent(updated int64, id string) string { return fmt.Sprintf("%020d.%s", updated, id) }

func newConversationItem(c *claudebridge.Conversation) conversationItem {
	return conversationItem{ID: c.ID, User: c.UserID, Title: c.Title, Model: c.Model, Prompt: c.PromptID,
		Created: micros(c.CreatedAt), Updated: micros(c.UpdatedAt), Recent: recent(micros(c.UpdatedAt), c.ID)}
}

func (it conversationItem) conversation() claudebridge.Conversation {
	return claudebridge.Conversation{ID: it.ID, UserID: it.User, Title: it.Title, Model: it.Model, PromptID: it.Prompt,
		CreatedAt: fromMicros(it.Created), UpdatedAt: fromMicros(it.Updated)}
}

func conversationKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"id": attrS(id)}
}

// CreateConversation stores c, filling ID, CreatedAt and UpdatedAt.
func (db *DB) CreateConversation(ctx context.Context, c *claudebridge.Conversation) error {
	c.ID = newID("conv_")
	c.CreatedAt = now()
	c.UpdatedAt = c.CreatedAt
	item, err := attributevalue.MarshalMap(newConversationItem(c))
	if err != nil {
		return internal("create conversation", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(conversationsTable.kind), Item: item})
	return internal("create conversation", err)
}

// conversation reads a conversation whoever's it is; nil if absent.
func (db *DB) conversation(ctx context.Context, id string) (*conversationItem, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(conversationsTable.kind),
		Key: conversationKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return nil, err
	}
	var it conversationItem
	return &it, attributevalue.UnmarshalMap(out.Item, &it)
}

// Conversation returns one conversation of userID; ENOTFOUND otherwise.
func (db *DB) Conversation(ctx context.Context, userID int64, id string) (*claudebridge.Conversation, error) {
	it, err := db.conversation(ctx, id)
	if err != nil {
		return nil, internal("conversation", err)
	}
	if it == nil || it.User != userID {
		return nil, notFound("conversation")
	}
	c := it.conversation()
	return &c, nil
}

// byUser is a Query of userID's conversations, newest first.
func (db *DB) byUser(userID int64) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{TableName: db.table(conversationsTable.kind), IndexName: aws.String("by-user"),
		KeyConditionExpression:    aws.String("#u = :u"),
		ExpressionAttributeNames:  map[string]string{"#u": "user"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": attrN(userID)},
		ScanIndexForward:          aws.Bool(false)}
}

// Conversations lists userID's conversations, most recently updated first,
// limit to a page (1 to 100, default 20). The cursor is opaque: the
// "recent" of the last conversation of the previous page.
func (db *DB) Conversations(ctx context.Context, userID int64, cursor string, limit int) ([]claudebridge.Conversation, string, error) {
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	in := db.byUser(userID)
	if cursor != "" {
		if !validCursor(cursor) {
			return nil, "", claudebridge.Errorf(claudebridge.EINVALID, "cursor: not a cursor this API gave")
		}
		in.KeyConditionExpression = aws.String("#u = :u AND #r < :r")
		in.ExpressionAttributeNames["#r"] = "recent"
		in.ExpressionAttributeValues[":r"] = attrS(cursor)
	}
	// One past the page tells whether there is a next one. A Query may
	// stop short of its Limit (1 MB a page): read on until it is reached.
	in.Limit = aws.Int32(int32(limit + 1))
	var items []conversationItem
	for len(items) <= limit {
		out, err := db.client.Query(ctx, in)
		if err != nil {
			return nil, "", internal("conversations", err)
		}
		var page []conversationItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &page); err != nil {
			return nil, "", internal("conversations", err)
		}
		items = append(items, page...)
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		in.Limit = aws.Int32(int32(limit + 1 - len(items)))
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = items[limit-1].Recent
	}
	list := make([]claudebridge.Conversation, len(items))
	for i, it := range items {
		list[i] = it.conversation()
	}
	return list, next, nil
}

// validCursor reports whether s is shaped as a "recent" value.
func validCursor(s string) bool {
	if len(s) < 22 || s[20] != '.' {
		return false
	}
	for _, r := range s[:20] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// UpdateConversation saves Title, Model and PromptID of c and touches
// UpdatedAt.
func (db *DB) UpdateConversation(ctx context.Context, c *claudebridge.Conversation) error {
	updated := now()
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(conversationsTable.kind), Key: conversationKey(c.ID),
		UpdateExpression:         aws.String("SET #t = :t, #m = :m, #p = :p, #up = :up, #r = :r"),
		ConditionExpression:      aws.String("#u = :u"),
		ExpressionAttributeNames: map[string]string{"#t": "title", "#m": "model", "#p": "prompt", "#up": "updated", "#r": "recent", "#u": "user"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": attrS(c.Title), ":m": attrS(c.Model), ":p": attrS(c.PromptID),
			":up": attrN(micros(updated)), ":r": attrS(recent(micros(updated), c.ID)), ":u": attrN(c.UserID)}})
	if conditionFailed(err) {
		return notFound("conversation")
	}
	if err != nil {
		return internal("update conversation", err)
	}
	c.UpdatedAt = updated
	return nil
}

// DeleteConversation removes a conversation, then its messages.
func (db *DB) DeleteConversation(ctx context.Context, userID int64, id string) error {
	_, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: db.table(conversationsTable.kind), Key: conversationKey(id),
		ConditionExpression:       aws.String("#u = :u"),
		ExpressionAttributeNames:  map[string]string{"#u": "user"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": attrN(userID)}})
	if conditionFailed(err) {
		return notFound("conversation")
	}
	if err != nil {
		return internal("delete conversation", err)
	}
	return internal("delete conversation", db.deleteMessagesFrom(ctx, id, 1))
}

// userConversations reads every conversation of userID, newest first.
func (db *DB) userConversations(ctx context.Context, userID int64) ([]conversationItem, error) {
	var list []conversationItem
	err := db.queryAll(ctx, db.byUser(userID), &list)
	return list, err
}

// deleteUserConversations removes every conversation of a removed user
// and their messages.
func (db *DB) deleteUserConversations(ctx context.Context, userID int64) error {
	list, err := db.userConversations(ctx, userID)
	if err != nil {
		return err
	}
	var keys []map[string]types.AttributeValue
	for _, c := range list {
		keys = append(keys, conversationKey(c.ID))
	}
	if err := db.deleteAll(ctx, db.table(conversationsTable.kind), keys); err != nil {
		return err
	}
	for _, c := range list {
		if err := db.deleteMessagesFrom(ctx, c.ID, 1); err != nil {
			return err
		}
	}
	return nil
}

// SearchConversations lists userID's conversations whose title or any
// message contains query (case-insensitive for ASCII letters, as the
// other stores' LIKE is), newest first, at most limit (1 to 100, default
// 20). DynamoDB has no such match: the user's conversations and messages
// are read (two Queries, paged) and matched here, a cost bounded by one
// user's data.
func (db *DB) SearchConversations(ctx context.Context, userID int64, query string, limit int) ([]claudebridge.Conversation, error) {
	if strings.TrimSpace(query) == "" {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "q: must not be empty")
	}
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	convs, err := db.userConversations(ctx, userID)
	if err != nil {
		return nil, internal("search conversations", err)
	}
	msgs, err := db.userMessages(ctx, userID)
	if err != nil {
		return nil, internal("search conversations", err)
	}
	q := asciiLower(query)
	hit := map[string]bool{}
	for _, m := range msgs {
		if !hit[m.Conv] && strings.Contains(asciiLower(string(m.Content)), q) {
			hit[m.Conv] = true
		}
	}
	list := []claudebridge.Conversation{}
	for _, c := range convs {
		if len(list) == limit {
			break
		}
		if hit[c.ID] || strings.Contains(asciiLower(c.Title), q) {
			list = append(list, c.conversation())
		}
	}
	return list, nil
}

// asciiLower lowers ASCII letters only: SQLite's LIKE folds no others,
// and the stores answer alike.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
