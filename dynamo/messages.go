package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

// messages holds each message by (conversation, seq): a conditional put on
// that key is what gives concurrent writers of one conversation each a
// Seq of its own. Each message keeps its conversation's user, for two
// indexes: by-user (search reads a user's messages in one Query) and live,
// sparse, holding only the messages being written (its key, "live", is
// set while the status is streaming and removed after), for the sweeps
// that mark them interrupted.
//
// message_ids points from a message's id to its (conversation, seq),
// written just before the message: the writers that name a message by id
// alone read it consistently, as an index would not.
//
// The store makes no use of TransactWriteItems: dynalite, the server its
// tests run against, has none. Each write that must hold against others
// is one conditional write of one item.
var (
	messagesTable = tableDef{kind: "messages", hash: keyAttr{"conv", types.ScalarAttributeTypeS}, rng: &keyAttr{"seq", types.ScalarAttributeTypeN},
		indexes: []indexDef{
			{name: "by-user", hash: keyAttr{"user", types.ScalarAttributeTypeN}},
			{name: "live", hash: keyAttr{"live", types.ScalarAttributeTypeS}},
		}}
	messageIDsTable = tableDef{kind: "message_ids", hash: keyAttr{"id", types.ScalarAttributeTypeS}}
)

// liveStreaming is the "live" of every streaming message.
const liveStreaming = "streaming"

type messageItem struct {
	Conv       string `dynamodbav:"conv"`
	Seq        int    `dynamodbav:"seq"`
	ID         string `dynamodbav:"id"`
	User       int64  `dynamodbav:"user"`
	Role       string `dynamodbav:"role"`
	Content    text   `dynamodbav:"content"`
	Status     string `dynamodbav:"status"`
	Error      string `dynamodbav:"error,omitempty"`
	Model      string `dynamodbav:"model,omitempty"`
	In         int    `dynamodbav:"in,omitempty"`
	Out        int    `dynamodbav:"out,omitempty"`
	CacheWrite int    `dynamodbav:"cache_write,omitempty"`
	CacheRead  int    `dynamodbav:"cache_read,omitempty"`
	Cache5m    int    `dynamodbav:"cache_5m,omitempty"`
	Cache1h    int    `dynamodbav:"cache_1h,omitempty"`
	Counted    bool   `dynamodbav:"counted,omitempty"`
	Turn       string `dynamodbav:"turn,omitempty"`
	Owner      string `dynamodbav:"owner,omitempty"` // the process writing it (turns.go)
	Created    int64  `dynamodbav:"created,omitempty"`
	Updated    int64  `dynamodbav:"updated,omitempty"`
	Live       string `dynamodbav:"live,omitempty"`
}

func newMessageItem(m *claudebridge.Message, userID int64) messageItem {
	u := m.Usage
	it := messageItem{Conv: m.ConversationID, Seq: m.Seq, ID: m.ID, User: userID, Role: m.Role, Content: text(m.Content), Status: m.Status,
		Error: m.Error, Model: m.Model, In: u.InputTokens, Out: u.OutputTokens, CacheWrite: u.CacheCreationInputTokens,
		CacheRead: u.CacheReadInputTokens, Cache5m: u.CacheCreation.Ephemeral5mInputTokens, Cache1h: u.CacheCreation.Ephemeral1hInputTokens,
		Counted: m.OutputTokensCounted, Turn: m.TurnID, Created: micros(m.CreatedAt), Updated: micros(m.UpdatedAt)}
	if m.Status == claudebridge.MessageStreaming {
		it.Live = liveStreaming
	}
	return it
}

func (it messageItem) message() claudebridge.Message {
	return claudebridge.Message{ID: it.ID, ConversationID: it.Conv, Seq: it.Seq, Role: it.Role, Content: string(it.Content), Status: it.Status,
		Error: it.Error, Model: it.Model, OutputTokensCounted: it.Counted, TurnID: it.Turn,
		Usage: claudebridge.Usage{InputTokens: it.In, OutputTokens: it.Out, CacheCreationInputTokens: it.CacheWrite, CacheReadInputTokens: it.CacheRead,
			CacheCreation: claudebridge.CacheCreation{Ephemeral5mInputTokens: it.Cache5m, Ephemeral1hInputTokens: it.Cache1h}},
		CreatedAt: fromMicros(it.Created), UpdatedAt: fromMicros(it.Updated)}
}

func messageKey(conv string, seq int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"conv": attrS(conv), "seq": attrN(int64(seq))}
}

// text is a message's Markdown, stored gzipped (a Binary attribute) from
// gzipFrom bytes on: an item holds at most 400 KB, and a long answer may
// pass that as text, not compressed.
type text string

const gzipFrom = 32 << 10

func (t text) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	if len(t) < gzipFrom {
		return attrS(string(t)), nil
	}
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := io.WriteString(w, string(t)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return &types.AttributeValueMemberB{Value: b.Bytes()}, nil
}

func (t *text) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		*t = text(v.Value)
		return nil
	case *types.AttributeValueMemberB:
		r, err := gzip.NewReader(bytes.NewReader(v.Value))
		if err != nil {
			return err
		}
		b, err := io.ReadAll(r)
		*t = text(b)
		return err
	}
	return fmt.Errorf("message text: attribute of type %T", av)
}

type messageIDItem struct {
	ID   string `dynamodbav:"id"`
	Conv string `dynamodbav:"conv"`
	Seq  int    `dynamodbav:"seq"`
}

// putMessage stores a new message (m's ID and Seq given) of a user's:
// first its id's pointer, then the message on a (conversation, seq) no
// other holds; false if another holds it (the pointer is left: it points
// at a message of another id, which locate's readers check).
func (db *DB) putMessage(ctx context.Context, m *claudebridge.Message, userID int64) (bool, error) {
	ptr, err := attributevalue.MarshalMap(messageIDItem{ID: m.ID, Conv: m.ConversationID, Seq: m.Seq})
	if err != nil {
		return false, err
	}
	if _, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(messageIDsTable.kind), Item: ptr}); err != nil {
		return false, err
	}
	item, err := attributevalue.MarshalMap(newMessageItem(m, userID))
	if err != nil {
		return false, err
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(messagesTable.kind), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(seq)")})
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, err
}

// conversationMessages reads a conversation's messages in Seq order.
func (db *DB) conversationMessages(ctx context.Context, conv string, fromSeq int) ([]messageItem, error) {
	var list []messageItem
	err := db.queryAll(ctx, &dynamodb.QueryInput{TableName: db.table(messagesTable.kind), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("conv = :c AND seq >= :s"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": attrS(conv), ":s": attrN(int64(fromSeq))}}, &list)
	return list, err
}

// Messages returns the messages of userID's conversation in Seq order;
// ENOTFOUND if the conversation is not userID's.
func (db *DB) Messages(ctx context.Context, userID int64, conversationID string) ([]claudebridge.Message, error) {
	if _, err := db.Conversation(ctx, userID, conversationID); err != nil {
		return nil, err
	}
	items, err := db.conversationMessages(ctx, conversationID, 1)
	if err != nil {
		return nil, internal("messages", err)
	}
	list := make([]claudebridge.Message, len(items))
	for i, it := range items {
		list[i] = it.message()
	}
	return list, nil
}

// userMessages reads every message of userID's, through the by-user index.
func (db *DB) userMessages(ctx context.Context, userID int64) ([]messageItem, error) {
	var list []messageItem
	err := db.queryAll(ctx, &dynamodb.QueryInput{TableName: db.table(messagesTable.kind), IndexName: aws.String("by-user"),
		KeyConditionExpression:    aws.String("#u = :u"),
		ProjectionExpression:      aws.String("conv, content"),
		ExpressionAttributeNames:  map[string]string{"#u": "user"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": attrN(userID)}}, &list)
	return list, err
}

// AddMessage appends m to its conversation (Seq one past the last, ID and
// times filled) and touches the conversation's UpdatedAt. ENOTFOUND if the
// conversation does not exist. A writer that lost the race for a Seq
// reads the last Seq again and retries. dynalite, the store's test server,
// has no transactions: the message and the touch are two writes, and a
// conversation removed between them is removed again.
func (db *DB) AddMessage(ctx context.Context, m *claudebridge.Message) error {
	c, err := db.conversation(ctx, m.ConversationID)
	if err != nil {
		return internal("add message", err)
	}
	if c == nil {
		return notFound("conversation")
	}
	for try := 0; ; try++ {
		last, err := db.lastSeq(ctx, m.ConversationID)
		if err != nil {
			return internal("add message", err)
		}
		m.ID, m.Seq = newID("msg_"), last+1
		m.CreatedAt = now()
		m.UpdatedAt = m.CreatedAt
		stored, err := db.putMessage(ctx, m, c.User)
		if err != nil {
			return internal("add message", err)
		}
		if stored {
			break
		}
		if try == 100 {
			return internal("add message", errors.New("lost the race for a Seq 100 times"))
		}
		if err := backoff(ctx, try); err != nil {
			return internal("add message", err)
		}
	}
	t := micros(m.CreatedAt)
	_, err = db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(conversationsTable.kind), Key: conversationKey(c.ID),
		UpdateExpression:          aws.String("SET #up = :up, #r = :r"),
		ConditionExpression:       aws.String("attribute_exists(id) AND (attribute_not_exists(#up) OR #up <= :up)"),
		ExpressionAttributeNames:  map[string]string{"#up": "updated", "#r": "recent"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":up": attrN(t), ":r": attrS(recent(t, c.ID))}})
	if conditionFailed(err) {
		// Removed meanwhile, or touched by a later message already.
		if still, err := db.conversation(ctx, c.ID); err != nil || still != nil {
			return internal("add message", err)
		}
		return internal("add message", errors.Join(notFound("conversation"), db.deleteMessagesFrom(ctx, c.ID, 1)))
	}
	return internal("add message", err)
}

// lastSeq is the Seq of a conversation's last message, 0 for none.
func (db *DB) lastSeq(ctx context.Context, conv string) (int, error) {
	out, err := db.client.Query(ctx, &dynamodb.QueryInput{TableName: db.table(messagesTable.kind), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("conv = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": attrS(conv)},
		ProjectionExpression:      aws.String("seq"), ScanIndexForward: aws.Bool(false), Limit: aws.Int32(1)})
	if err != nil || len(out.Items) == 0 {
		return 0, err
	}
	var it messageItem
	return it.Seq, attributevalue.UnmarshalMap(out.Items[0], &it)
}

// locate finds where the message of id is; nil if there is none.
func (db *DB) locate(ctx context.Context, id string) (*messageIDItem, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(messageIDsTable.kind), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"id": attrS(id)}})
	if err != nil || out.Item == nil {
		return nil, err
	}
	var p messageIDItem
	return &p, attributevalue.UnmarshalMap(out.Item, &p)
}

// updateMessage applies an update to the message of id; ENOTFOUND if
// there is none (a pointer left by an interrupted delete points at a
// message of another id, or at none: the condition on id catches both).
func (db *DB) updateMessage(ctx context.Context, id string, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
	p, err := db.locate(ctx, id)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, notFound("message")
	}
	in.TableName, in.Key = db.table(messagesTable.kind), messageKey(p.Conv, p.Seq)
	cond := "#id = :id"
	if in.ConditionExpression != nil {
		cond += " AND (" + *in.ConditionExpression + ")"
	}
	in.ConditionExpression = &cond
	if in.ExpressionAttributeNames == nil {
		in.ExpressionAttributeNames = map[string]string{}
	}
	if in.ExpressionAttributeValues == nil {
		in.ExpressionAttributeValues = map[string]types.AttributeValue{}
	}
	in.ExpressionAttributeNames["#id"] = "id"
	in.ExpressionAttributeValues[":id"] = attrS(id)
	out, err := db.client.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return nil, notFound("message")
	}
	return out, err
}

// UpdateMessage saves Content, Status, Error, Usage, OutputTokensCounted,
// Model and TurnID of m.
func (db *DB) UpdateMessage(ctx context.Context, m *claudebridge.Message) error {
	updated := now()
	it := newMessageItem(m, 0)
	it.Updated = micros(updated)
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var sets, removes []string
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return internal("update message", err)
	}
	for _, f := range []string{"content", "status", "error", "model", "in", "out", "cache_write", "cache_read", "cache_5m", "cache_1h",
		"counted", "turn", "updated", "live"} {
		names["#"+f] = f
		if v, ok := av[f]; ok {
			sets = append(sets, "#"+f+" = :"+f)
			values[":"+f] = v
		} else {
			removes = append(removes, "#"+f)
		}
	}
	expr := "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		expr += " REMOVE " + strings.Join(removes, ", ")
	}
	_, err = db.updateMessage(ctx, m.ID, &dynamodb.UpdateItemInput{UpdateExpression: &expr,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values})
	if err != nil {
		return internal("update message", err)
	}
	m.UpdatedAt = updated
	return nil
}

// DeleteMessagesFrom removes the messages of a conversation from seq on.
func (db *DB) DeleteMessagesFrom(ctx context.Context, conversationID string, seq int) error {
	return internal("delete messages", db.deleteMessagesFrom(ctx, conversationID, seq))
}

// deleteMessagesFrom removes messages, then their pointers: a pointer
// left by a failure half-way points at nothing, or at a later message of
// that Seq, and locate's readers check the id.
func (db *DB) deleteMessagesFrom(ctx context.Context, conv string, seq int) error {
	list, err := db.conversationMessages(ctx, conv, seq)
	if err != nil {
		return err
	}
	var keys, ptrs []map[string]types.AttributeValue
	for _, m := range list {
		keys = append(keys, messageKey(m.Conv, m.Seq))
		ptrs = append(ptrs, map[string]types.AttributeValue{"id": attrS(m.ID)})
	}
	if err := db.deleteAll(ctx, db.table(messagesTable.kind), keys); err != nil {
		return err
	}
	return db.deleteAll(ctx, db.table(messageIDsTable.kind), ptrs)
}

// ImportConversations stores whole conversations, all or none: the
// messages first (nothing reaches a message whose conversation is not
// there), then the conversations, 25 to a BatchWriteItem. If a write
// fails, what was written is removed again before the error is returned.
// dynalite, the store's test server, has no transactions (whose 100 items
// would not hold a large import anyway): a reader may see part of an
// import while it is written, and a process that dies half-way leaves
// that part.
func (db *DB) ImportConversations(ctx context.Context, list []claudebridge.ImportedConversation) error {
	var puts, convs []writePut
	for _, ic := range list {
		c := ic.Conversation
		c.ID = newID("conv_")
		c.CreatedAt = now()
		c.UpdatedAt = c.CreatedAt
		for i, m := range ic.Messages {
			m.ID, m.ConversationID, m.Seq = newID("msg_"), c.ID, i+1
			m.CreatedAt, m.UpdatedAt = c.CreatedAt, c.CreatedAt
			ptr, err := attributevalue.MarshalMap(messageIDItem{ID: m.ID, Conv: c.ID, Seq: m.Seq})
			if err != nil {
				return internal("import", err)
			}
			item, err := attributevalue.MarshalMap(newMessageItem(m, c.UserID))
			if err != nil {
				return internal("import", err)
			}
			puts = append(puts, writePut{messageIDsTable.kind, ptr}, writePut{messagesTable.kind, item})
		}
		item, err := attributevalue.MarshalMap(newConversationItem(c))
		if err != nil {
			return internal("import", err)
		}
		convs = append(convs, writePut{conversationsTable.kind, item})
	}
	err := db.putAll(ctx, puts)
	if err == nil {
		err = db.putAll(ctx, convs)
	}
	if err == nil {
		return nil
	}
	undo := context.WithoutCancel(ctx)
	var keys []map[string]types.AttributeValue
	for _, ic := range list {
		keys = append(keys, conversationKey(ic.Conversation.ID))
	}
	undone := db.deleteAll(undo, db.table(conversationsTable.kind), keys)
	for _, ic := range list {
		undone = errors.Join(undone, db.deleteMessagesFrom(undo, ic.Conversation.ID, 1))
	}
	return internal("import", errors.Join(err, undone))
}

// writePut is an item to put in the table of a kind.
type writePut struct {
	kind string
	item map[string]types.AttributeValue
}

// putAll writes puts, 25 (BatchWriteItem's limit) at a time, retrying
// what DynamoDB leaves unprocessed.
func (db *DB) putAll(ctx context.Context, puts []writePut) error {
	for part := range slices.Chunk(puts, 25) {
		byTable := map[string][]types.WriteRequest{}
		for _, p := range part {
			t := *db.table(p.kind)
			byTable[t] = append(byTable[t], types.WriteRequest{PutRequest: &types.PutRequest{Item: p.item}})
		}
		for try := 0; len(byTable) > 0; try++ {
			out, err := db.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: byTable})
			if err != nil {
				return err
			}
			byTable = out.UnprocessedItems
			if len(byTable) > 0 {
				if err := backoff(ctx, try); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// liveMessages reads the messages the live index holds, by conversation
// and Seq. The index may lag: a reader checks each against the table.
func (db *DB) liveMessages(ctx context.Context) ([]messageItem, error) {
	var list []messageItem
	err := db.queryAll(ctx, &dynamodb.QueryInput{TableName: db.table(messagesTable.kind), IndexName: aws.String("live"),
		KeyConditionExpression:    aws.String("live = :l"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":l": attrS(liveStreaming)}}, &list)
	slices.SortFunc(list, func(a, b messageItem) int {
		if c := strings.Compare(a.Conv, b.Conv); c != 0 {
			return c
		}
		return a.Seq - b.Seq
	})
	return list, err
}

// interrupt marks a streaming message interrupted, at marked, if it is
// still streaming and, when cond is given (with its names and values),
// cond holds of it too; nil if not. It returns the message as stored.
func (db *DB) interrupt(ctx context.Context, it messageItem, marked time.Time, cond string,
	names map[string]string, values map[string]types.AttributeValue) (*claudebridge.InterruptedMessage, error) {
	c := "#st = :streaming AND #id = :id"
	if cond != "" {
		c += " AND (" + cond + ")"
	}
	vals := map[string]types.AttributeValue{":streaming": attrS(claudebridge.MessageStreaming), ":interrupted": attrS(claudebridge.MessageInterrupted),
		":up": attrN(micros(marked)), ":id": attrS(it.ID)}
	maps.Copy(vals, values)
	ns := map[string]string{"#st": "status", "#up": "updated", "#live": "live", "#id": "id"}
	maps.Copy(ns, names)
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(messagesTable.kind), Key: messageKey(it.Conv, it.Seq),
		UpdateExpression:          aws.String("SET #st = :interrupted, #up = :up REMOVE #live"),
		ConditionExpression:       &c,
		ExpressionAttributeNames:  ns,
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueAllNew})
	if conditionFailed(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var stored messageItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &stored); err != nil {
		return nil, err
	}
	return &claudebridge.InterruptedMessage{UserID: stored.User, Message: stored.message()}, nil
}
