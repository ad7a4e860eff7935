package dynamo

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.BatchService = (*DB)(nil)

// batchLifetime is how long a batch may run before what is left expires,
// as in the Message Batches API.
const batchLifetime = 24 * time.Hour

// batchesTable keeps a batch per item, with seq (from the counter item
// "#seq") ordering the batches as they were made. Index byKey lists a
// key's batches by seq ("k#" and the key's name: a key attribute cannot
// be empty); index byState those in progress, canceling, ended (and not
// yet archived) or archived, by seq.
var batchesTable = tableDef{kind: "batches", hash: keyAttr{"id", types.ScalarAttributeTypeS},
	indexes: []indexDef{
		{name: "byKey", hash: keyAttr{"owningKey", types.ScalarAttributeTypeS}, rng: &keyAttr{"seq", types.ScalarAttributeTypeN}},
		{name: "byState", hash: keyAttr{"state", types.ScalarAttributeTypeS}, rng: &keyAttr{"seq", types.ScalarAttributeTypeN}},
	}}

// batchRequestsTable keeps a batch's requests in its partition: "r#" and
// the request's place (zero-padded) for the request and then its result,
// and "c#" and the custom_id for the place of the request of that id.
var batchRequestsTable = tableDef{kind: "batch_requests", hash: keyAttr{"batchId", types.ScalarAttributeTypeS}, rng: &keyAttr{"sk", types.ScalarAttributeTypeS}}

const archivedState = "archived"

type batchItem struct {
	ID                string   `dynamodbav:"id"`
	Seq               int64    `dynamodbav:"seq"`
	Status            string   `dynamodbav:"status"`
	State             string   `dynamodbav:"state"`
	OwningKey         string   `dynamodbav:"owningKey"`
	Betas             []string `dynamodbav:"betas,omitempty"`
	Total             int      `dynamodbav:"total"`
	Succeeded         int      `dynamodbav:"succeeded"`
	Errored           int      `dynamodbav:"errored"`
	Canceled          int      `dynamodbav:"canceled"`
	Expired           int      `dynamodbav:"expired"`
	CreatedAt         int64    `dynamodbav:"createdAt"`
	ExpiresAt         int64    `dynamodbav:"expiresAt"`
	EndedAt           int64    `dynamodbav:"endedAt,omitempty"`
	CancelInitiatedAt int64    `dynamodbav:"cancelInitiatedAt,omitempty"`
	ArchivedAt        int64    `dynamodbav:"archivedAt,omitempty"`
	Owner             string   `dynamodbav:"owner,omitempty"`
	LeaseUntil        int64    `dynamodbav:"leaseUntil,omitempty"`
}

func (it *batchItem) batch() *claudebridge.Batch {
	b := &claudebridge.Batch{ID: it.ID, Status: it.Status, KeyName: it.OwningKey[len("k#"):], Betas: it.Betas,
		Counts:    claudebridge.BatchCounts{Succeeded: it.Succeeded, Errored: it.Errored, Canceled: it.Canceled, Expired: it.Expired},
		CreatedAt: fromUnixMicros(it.CreatedAt), ExpiresAt: fromUnixMicros(it.ExpiresAt), EndedAt: fromUnixMicros(it.EndedAt),
		CancelInitiatedAt: fromUnixMicros(it.CancelInitiatedAt), ArchivedAt: fromUnixMicros(it.ArchivedAt)}
	b.Counts.Processing = it.Total - it.Succeeded - it.Errored - it.Canceled - it.Expired
	return b
}

type requestItem struct {
	Batch      string `dynamodbav:"batchId"`
	SK         string `dynamodbav:"sk"`
	N          int    `dynamodbav:"n"`
	CustomID   string `dynamodbav:"customId"`
	Params     []byte `dynamodbav:"params,omitempty"`
	ResultType string `dynamodbav:"resultType,omitempty"`
	Result     []byte `dynamodbav:"result,omitempty"`
}

func requestSK(n int) string { return fmt.Sprintf("r#%09d", n) }

func batchKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
}

// CreateBatch stores b, in progress, with its requests: the requests
// first, then the batch, which is what makes them seen. The custom_ids
// are checked in Go, so that a batch is refused before anything is
// written.
func (db *DB) CreateBatch(ctx context.Context, b *claudebridge.Batch, requests []claudebridge.BatchRequest) error {
	if len(requests) == 0 {
		return claudebridge.Errorf(claudebridge.EINVALID, "requests: a batch needs at least one request")
	}
	seen := map[string]bool{}
	for i, r := range requests {
		if seen[r.CustomID] {
			return claudebridge.Errorf(claudebridge.EINVALID, "requests.%d.custom_id: %q is also the custom_id of an earlier request: each must be unique", i, r.CustomID)
		}
		seen[r.CustomID] = true
	}
	seq, err := db.addCounter(ctx, db.table(batchesTable.kind), batchKey("#seq"), "seq")
	if err != nil {
		return internal("create batch", err)
	}
	id := claudebridge.NewBatchID()
	var puts []types.WriteRequest
	for i, r := range requests {
		req, err := attributevalue.MarshalMap(requestItem{Batch: id, SK: requestSK(i), N: i, CustomID: r.CustomID, Params: r.Params})
		if err != nil {
			return internal("create batch", err)
		}
		place, err := attributevalue.MarshalMap(requestItem{Batch: id, SK: "c#" + r.CustomID, N: i, CustomID: r.CustomID})
		if err != nil {
			return internal("create batch", err)
		}
		puts = append(puts, types.WriteRequest{PutRequest: &types.PutRequest{Item: req}}, types.WriteRequest{PutRequest: &types.PutRequest{Item: place}})
	}
	if _, err := db.writeBatch(ctx, db.table(batchRequestsTable.kind), puts); err != nil {
		db.deleteRequests(context.WithoutCancel(ctx), id)
		return internal("create batch", err)
	}
	created := now()
	it := batchItem{ID: id, Seq: seq, Status: claudebridge.BatchInProgress, State: claudebridge.BatchInProgress, OwningKey: "k#" + b.KeyName,
		Betas: b.Betas, Total: len(requests), CreatedAt: unixMicros(created), ExpiresAt: unixMicros(created.Add(batchLifetime))}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return internal("create batch", err)
	}
	if _, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(batchesTable.kind), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(id)")}); err != nil {
		db.deleteRequests(context.WithoutCancel(ctx), id)
		return internal("create batch", err)
	}
	b.ID, b.Status, b.Counts = id, it.Status, claudebridge.BatchCounts{Processing: len(requests)}
	b.CreatedAt, b.ExpiresAt = created, created.Add(batchLifetime)
	return nil
}

// deleteRequests removes every item of a batch's requests.
func (db *DB) deleteRequests(ctx context.Context, batchID string) error {
	var dels []types.WriteRequest
	err := db.queryPages(ctx, &dynamodb.QueryInput{TableName: db.table(batchRequestsTable.kind), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("batchId = :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": &types.AttributeValueMemberS{Value: batchID}},
		ProjectionExpression:      aws.String("batchId, sk"),
	}, func(item map[string]types.AttributeValue) error {
		dels = append(dels, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: item}})
		return nil
	})
	if err != nil {
		return err
	}
	_, err = db.writeBatch(ctx, db.table(batchRequestsTable.kind), dels)
	return err
}

// getBatch reads a batch's item; nil when there is none.
func (db *DB) getBatch(ctx context.Context, id string) (*batchItem, error) {
	if id == "" || id[0] == '#' {
		return nil, nil
	}
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(batchesTable.kind), Key: batchKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return nil, err
	}
	var it batchItem
	return &it, attributevalue.UnmarshalMap(out.Item, &it)
}

// Batch returns one batch; ENOTFOUND if there is none of that id.
func (db *DB) Batch(ctx context.Context, id string) (*claudebridge.Batch, error) {
	it, err := db.getBatch(ctx, id)
	if err != nil {
		return nil, internal("batch", err)
	}
	if it == nil {
		return nil, notFound("message batch " + id)
	}
	return it.batch(), nil
}

// queryBatches hands the batches of an index's partition to each, by seq
// (newest first when back), while each returns true.
func (db *DB) queryBatches(ctx context.Context, in *dynamodb.QueryInput, each func(*batchItem) bool) error {
	p := dynamodb.NewQueryPaginator(db.client, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			var it batchItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return err
			}
			if !each(&it) {
				return nil
			}
		}
	}
	return nil
}

// Batches lists the batches of keyName newest first, a page at a time,
// from the byKey index.
func (db *DB) Batches(ctx context.Context, keyName, beforeID, afterID string, limit int) ([]claudebridge.Batch, bool, error) {
	cond := "owningKey = :k"
	values := map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: "k#" + keyName}}
	forward := false
	cursor, name := afterID, "after_id"
	if beforeID != "" {
		cursor, name = beforeID, "before_id"
	}
	if cursor != "" {
		c, err := db.getBatch(ctx, cursor)
		if err != nil {
			return nil, false, internal("batches", err)
		}
		if c == nil || c.OwningKey != "k#"+keyName {
			return nil, false, claudebridge.Errorf(claudebridge.EINVALID, "%s: no message batch %s", name, cursor)
		}
		values[":s"] = number(c.Seq)
		if beforeID != "" {
			// The page just before the cursor in the list's order: the
			// oldest of those made after it, turned back below.
			cond += " AND seq > :s"
			forward = true
		} else {
			cond += " AND seq < :s"
		}
	}
	list := []claudebridge.Batch{}
	err := db.queryBatches(ctx, &dynamodb.QueryInput{TableName: db.table(batchesTable.kind), IndexName: aws.String("byKey"),
		KeyConditionExpression: aws.String(cond), ExpressionAttributeValues: values, ScanIndexForward: aws.Bool(forward),
		Limit: aws.Int32(int32(min(limit+1, 1000))),
	}, func(it *batchItem) bool {
		list = append(list, *it.batch())
		return len(list) <= limit
	})
	if err != nil {
		return nil, false, internal("batches", err)
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	if forward {
		slices.Reverse(list)
	}
	return list, more, nil
}

// CancelBatch moves a batch in progress to canceling.
func (db *DB) CancelBatch(ctx context.Context, id string, at time.Time) (*claudebridge.Batch, error) {
	if id != "" && id[0] != '#' {
		_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(batchesTable.kind), Key: batchKey(id),
			UpdateExpression:         aws.String("SET #s = :c, #st = :c, cancelInitiatedAt = :t"),
			ConditionExpression:      aws.String("#s = :p"),
			ExpressionAttributeNames: map[string]string{"#s": "status", "#st": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: claudebridge.BatchCanceling},
				":p": &types.AttributeValueMemberS{Value: claudebridge.BatchInProgress}, ":t": number(unixMicros(at))},
		})
		if err != nil && !conditionFailed(err) {
			return nil, internal("cancel batch", err)
		}
	}
	return db.Batch(ctx, id)
}

// DeleteBatch removes an ended batch, then its requests and results.
func (db *DB) DeleteBatch(ctx context.Context, id string) error {
	it, err := db.getBatch(ctx, id)
	if err != nil {
		return internal("delete batch", err)
	}
	if it == nil {
		return notFound("message batch " + id)
	}
	if it.Status != claudebridge.BatchEnded {
		return claudebridge.Errorf(claudebridge.EINVALID, "Message Batch %s is %s: only a batch that has ended can be deleted (cancel one in progress first)", id, it.Status)
	}
	_, err = db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: db.table(batchesTable.kind), Key: batchKey(id),
		ConditionExpression: aws.String("attribute_exists(id)")})
	if conditionFailed(err) {
		return notFound("message batch " + id) // deleted by another meanwhile
	}
	if err != nil {
		return internal("delete batch", err)
	}
	return internal("delete batch", db.deleteRequests(ctx, id))
}

// ActiveBatches returns the batches in progress or canceling, oldest first.
func (db *DB) ActiveBatches(ctx context.Context) ([]claudebridge.Batch, error) {
	var items []*batchItem
	for _, state := range []string{claudebridge.BatchInProgress, claudebridge.BatchCanceling} {
		err := db.queryBatches(ctx, &dynamodb.QueryInput{TableName: db.table(batchesTable.kind), IndexName: aws.String("byState"),
			KeyConditionExpression:    aws.String("#st = :s"),
			ExpressionAttributeNames:  map[string]string{"#st": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: state}},
		}, func(it *batchItem) bool { items = append(items, it); return true })
		if err != nil {
			return nil, internal("active batches", err)
		}
	}
	slices.SortFunc(items, func(a, b *batchItem) int { return cmp.Compare(a.Seq, b.Seq) })
	var list []claudebridge.Batch
	for _, it := range items {
		list = append(list, *it.batch())
	}
	return list, nil
}

// ClaimBatch makes owner the one that runs a batch until until, unless
// another's claim lasts past now: one conditional update, so one owner
// wins however many claim at once. A claim until now has lapsed, so that
// a serve giving a batch up leaves it to the next at once.
func (db *DB) ClaimBatch(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	if id == "" || id[0] == '#' {
		return false, nil
	}
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(batchesTable.kind), Key: batchKey(id),
		UpdateExpression:         aws.String("SET #o = :o, leaseUntil = :u"),
		ConditionExpression:      aws.String("attribute_exists(id) AND (#o = :o OR attribute_not_exists(leaseUntil) OR leaseUntil <= :now)"),
		ExpressionAttributeNames: map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: owner},
			":u": number(unixMicros(until)), ":now": number(unixMicros(now))},
	})
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, internal("claim batch", err)
}

// requests hands the request items of a batch to each, in order, while
// each returns true; pending: only those without a result, results: only
// those with one.
func (db *DB) requests(ctx context.Context, batchID, filter string, each func(*requestItem) (bool, error)) error {
	in := &dynamodb.QueryInput{TableName: db.table(batchRequestsTable.kind), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("batchId = :b AND begins_with(sk, :r)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": &types.AttributeValueMemberS{Value: batchID},
			":r": &types.AttributeValueMemberS{Value: "r#"}},
	}
	if filter != "" {
		in.FilterExpression = aws.String(filter)
	}
	p := dynamodb.NewQueryPaginator(db.client, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			var it requestItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return err
			}
			if ok, err := each(&it); !ok || err != nil {
				return err
			}
		}
	}
	return nil
}

// PendingRequests returns up to limit requests without a result, in order.
func (db *DB) PendingRequests(ctx context.Context, batchID string, limit int) ([]claudebridge.BatchRequest, error) {
	var list []claudebridge.BatchRequest
	if limit <= 0 {
		return list, nil
	}
	err := db.requests(ctx, batchID, "attribute_not_exists(resultType)", func(it *requestItem) (bool, error) {
		list = append(list, claudebridge.BatchRequest{CustomID: it.CustomID, Params: it.Params})
		return len(list) < limit, nil
	})
	return list, internal("pending requests", err)
}

// countAttr is the batch's attribute that counts results of type t.
func countAttr(t string) (string, error) {
	switch t {
	case claudebridge.ResultSucceeded, claudebridge.ResultErrored, claudebridge.ResultCanceled, claudebridge.ResultExpired:
		return t, nil
	}
	return "", claudebridge.Errorf(claudebridge.EINTERNAL, "no result type %q", t)
}

// setResult stores a result in request n's item unless it has one; it
// says whether it did.
func (db *DB) setResult(ctx context.Context, batchID string, n int, typ string, line []byte) (bool, error) {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(batchRequestsTable.kind),
		Key:                      map[string]types.AttributeValue{"batchId": &types.AttributeValueMemberS{Value: batchID}, "sk": &types.AttributeValueMemberS{Value: requestSK(n)}},
		UpdateExpression:         aws.String("SET resultType = :t, #r = :l REMOVE params"),
		ConditionExpression:      aws.String("attribute_exists(sk) AND attribute_not_exists(resultType)"),
		ExpressionAttributeNames: map[string]string{"#r": "result"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: typ},
			":l": &types.AttributeValueMemberB{Value: line}},
	})
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, err
}

// AddBatchResult stores r in its request's item, unless it has a result
// already (a conditional update: of concurrent adds one stores), and
// then, only if it stored it, counts it in the batch. The two are two
// writes (dynalite has no TransactWriteItems): a crash between them
// leaves the result uncounted until EndBatch counts every result anew.
func (db *DB) AddBatchResult(ctx context.Context, batchID string, r claudebridge.BatchResult) error {
	attr, err := countAttr(r.Type)
	if err != nil {
		return err
	}
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(batchRequestsTable.kind), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"batchId": &types.AttributeValueMemberS{Value: batchID}, "sk": &types.AttributeValueMemberS{Value: "c#" + r.CustomID}}})
	if err != nil {
		return internal("add batch result", err)
	}
	if out.Item == nil {
		return nil // no such request: as an update of no row
	}
	stored, err := db.setResult(ctx, batchID, int(numberOf(out.Item["n"])), r.Type, r.Line)
	if err != nil || !stored {
		return internal("add batch result", err)
	}
	// Not once the batch has ended: EndBatch counted every result then.
	_, err = db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(batchesTable.kind), Key: batchKey(batchID),
		UpdateExpression:          aws.String("ADD #c :one"),
		ConditionExpression:       aws.String("attribute_exists(id) AND #s <> :ended"),
		ExpressionAttributeNames:  map[string]string{"#c": attr, "#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": number(1), ":ended": &types.AttributeValueMemberS{Value: claudebridge.BatchEnded}},
	})
	if conditionFailed(err) {
		return nil
	}
	return internal("add batch result", err)
}

// EndBatch gives every request without a result one of type rest, each a
// conditional update (a result added meanwhile stays), then counts every
// result anew and ends the batch at now with those counts.
func (db *DB) EndBatch(ctx context.Context, batchID, rest string, at time.Time) error {
	if _, err := countAttr(rest); err != nil {
		return err
	}
	it, err := db.getBatch(ctx, batchID)
	if err != nil {
		return internal("end batch", err)
	}
	if it == nil {
		return notFound("message batch " + batchID)
	}
	var pending []*requestItem
	err = db.requests(ctx, batchID, "attribute_not_exists(resultType)", func(r *requestItem) (bool, error) {
		pending = append(pending, r)
		return true, nil
	})
	if err != nil {
		return internal("end batch", err)
	}
	for _, r := range pending {
		line, err := restLine(r.CustomID, rest)
		if err != nil {
			return internal("end batch", err)
		}
		if _, err := db.setResult(ctx, batchID, r.N, rest, line); err != nil {
			return internal("end batch", err)
		}
	}
	counts := map[string]int{}
	err = db.requests(ctx, batchID, "", func(r *requestItem) (bool, error) {
		counts[r.ResultType]++
		return true, nil
	})
	if err != nil {
		return internal("end batch", err)
	}
	values := map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: claudebridge.BatchEnded}, ":t": number(unixMicros(at))}
	for _, t := range []string{claudebridge.ResultSucceeded, claudebridge.ResultErrored, claudebridge.ResultCanceled, claudebridge.ResultExpired} {
		values[":"+t] = number(counts[t])
	}
	_, err = db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(batchesTable.kind), Key: batchKey(batchID),
		UpdateExpression:         aws.String("SET #s = :e, #st = :e, endedAt = :t, succeeded = :succeeded, errored = :errored, canceled = :canceled, expired = :expired"),
		ConditionExpression:      aws.String("attribute_exists(id)"),
		ExpressionAttributeNames: map[string]string{"#s": "status", "#st": "state"}, ExpressionAttributeValues: values,
	})
	if conditionFailed(err) {
		return notFound("message batch " + batchID)
	}
	return internal("end batch", err)
}

// restLine is the result line of a request given no result by the batch's
// end: {"custom_id":...,"result":{"type":rest}}, as the other stores make it.
func restLine(customID, rest string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		CustomID string `json:"custom_id"`
		Result   struct {
			Type string `json:"type"`
		} `json:"result"`
	}{CustomID: customID, Result: struct {
		Type string `json:"type"`
	}{rest}})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// ArchiveBatches removes the requests and results of the ended batches
// made before createdBefore, marking each archived.
func (db *DB) ArchiveBatches(ctx context.Context, createdBefore, at time.Time) (int, error) {
	var old []*batchItem
	err := db.queryBatches(ctx, &dynamodb.QueryInput{TableName: db.table(batchesTable.kind), IndexName: aws.String("byState"),
		KeyConditionExpression:   aws.String("#st = :s"),
		FilterExpression:         aws.String("createdAt < :before"),
		ExpressionAttributeNames: map[string]string{"#st": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: claudebridge.BatchEnded},
			":before": number(unixMicros(createdBefore))},
	}, func(it *batchItem) bool { old = append(old, it); return true })
	if err != nil {
		return 0, internal("archive batches", err)
	}
	n := 0
	for _, it := range old {
		if err := db.deleteRequests(ctx, it.ID); err != nil {
			return n, internal("archive batches", err)
		}
		_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(batchesTable.kind), Key: batchKey(it.ID),
			UpdateExpression:         aws.String("SET #st = :a, archivedAt = :t"),
			ConditionExpression:      aws.String("#st = :e"),
			ExpressionAttributeNames: map[string]string{"#st": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: archivedState},
				":e": &types.AttributeValueMemberS{Value: claudebridge.BatchEnded}, ":t": number(unixMicros(at))},
		})
		if conditionFailed(err) {
			continue // archived or deleted by another meanwhile
		}
		if err != nil {
			return n, internal("archive batches", err)
		}
		n++
	}
	return n, nil
}

// BatchResults hands each result line of a batch to each, in request order.
func (db *DB) BatchResults(ctx context.Context, batchID string, each func(line []byte) error) error {
	var stop error
	err := db.requests(ctx, batchID, "attribute_exists(resultType)", func(r *requestItem) (bool, error) {
		stop = each(r.Result)
		return stop == nil, nil
	})
	if stop != nil {
		return stop
	}
	return internal("batch results", err)
}
