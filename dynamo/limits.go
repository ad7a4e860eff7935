package dynamo

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.LimitService = (*DB)(nil)

// rateWindowsTable keeps each key's rate window in one item, counted into
// by conditional updates: a take is granted by DynamoDB's own check of
// the window, so no two processes grant past the limit.
var rateWindowsTable = tableDef{kind: "rate_windows", hash: keyAttr{"key", types.ScalarAttributeTypeS}}

// limitSlotsTable keeps a key's calls in flight in one item ("slots#" and
// the key's name: a map of slot id to holder, and a version every change
// moves), changed only by a put conditional on the version read, so that
// the count and the take are one step; and an item per slot ("slot#" and
// its id) naming its key, for ReleaseSlot. Those expire (TTL) a week
// after they were taken, if nothing released them.
var limitSlotsTable = tableDef{kind: "limit_slots", hash: keyAttr{"pk", types.ScalarAttributeTypeS}, ttl: "ttl"}

// limitLeasesTable keeps each holder's lease. Slots and holds of a holder
// whose lease lapsed, or is gone (TTL removes it a day after it lapsed),
// count for nothing, and are dropped from their item at its next change.
var limitLeasesTable = tableDef{kind: "limit_leases", hash: keyAttr{"holder", types.ScalarAttributeTypeS}, ttl: "ttl"}

// tries bounds the reads and conditional writes of one step under
// contention: each round one of the writers wins.
const tries = 1000

var errContended = errors.New("too many concurrent writers")

// backoff waits a moment before the next try of a contended write, less
// than a millisecond at first, so that writers spread out.
func backoff(ctx context.Context, try int) error {
	if try == 0 {
		return nil
	}
	d := time.Duration(rand.Int64N(int64(min(try, 20)) * int64(500*time.Microsecond)))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

type rateItem struct {
	Key      string `dynamodbav:"key"`
	Opened   int64  `dynamodbav:"opened"`
	Requests int    `dynamodbav:"requests"`
	Tokens   int    `dynamodbav:"tokens"`
}

func (it rateItem) window() claudebridge.RateWindow {
	return claudebridge.RateWindow{Opened: fromUnixMicros(it.Opened), Requests: it.Requests, Tokens: it.Tokens}
}

// TakeRate counts a request of tokens in key's window, if it fits: into
// the open window by an update conditional on its room, or into a new one
// by a put conditional on the old one being closed; when both are refused
// the window read tells whether another process changed it meanwhile (try
// again) or it is full (refused).
func (db *DB) TakeRate(ctx context.Context, key string, rpm, tpm, tokens int, window time.Duration, now time.Time) (claudebridge.RateWindow, bool, error) {
	table := db.table(rateWindowsTable.kind)
	k := map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: key}}
	cut := unixMicros(now) - window.Microseconds()
	fitsAlone := tpm == 0 || tokens <= tpm
	for try := range tries {
		if err := backoff(ctx, try); err != nil {
			return claudebridge.RateWindow{}, false, err
		}
		cond := "opened > :cut"
		values := map[string]types.AttributeValue{":cut": number(cut), ":t": number(tokens), ":one": number(1)}
		if rpm > 0 {
			cond += " AND requests < :rpm"
			values[":rpm"] = number(rpm)
		}
		if tpm > 0 {
			cond += " AND tokens <= :room"
			values[":room"] = number(tpm - tokens)
		}
		out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: k,
			UpdateExpression:    aws.String("SET requests = requests + :one, tokens = tokens + :t"),
			ConditionExpression: aws.String(cond), ExpressionAttributeValues: values, ReturnValues: types.ReturnValueAllNew})
		if err == nil {
			var it rateItem
			err := attributevalue.UnmarshalMap(out.Attributes, &it)
			return it.window(), err == nil, internal("take rate", err)
		}
		if !conditionFailed(err) {
			return claudebridge.RateWindow{}, false, internal("take rate", err)
		}
		if fitsAlone {
			fresh := rateItem{Key: key, Opened: unixMicros(now), Requests: 1, Tokens: tokens}
			item, err := attributevalue.MarshalMap(fresh)
			if err != nil {
				return claudebridge.RateWindow{}, false, internal("take rate", err)
			}
			_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item,
				ConditionExpression:       aws.String("attribute_not_exists(#k) OR opened <= :cut"),
				ExpressionAttributeNames:  map[string]string{"#k": "key"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":cut": number(cut)}})
			if err == nil {
				return fresh.window(), true, nil
			}
			if !conditionFailed(err) {
				return claudebridge.RateWindow{}, false, internal("take rate", err)
			}
		}
		got, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: k, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return claudebridge.RateWindow{}, false, internal("take rate", err)
		}
		if got.Item == nil {
			if fitsAlone {
				continue // removed meanwhile
			}
			return claudebridge.RateWindow{Opened: now}, false, nil
		}
		var it rateItem
		if err := attributevalue.UnmarshalMap(got.Item, &it); err != nil {
			return claudebridge.RateWindow{}, false, internal("take rate", err)
		}
		open := it.Opened > cut
		room := (rpm == 0 || it.Requests < rpm) && (tpm == 0 || it.Tokens+tokens <= tpm)
		if (open && !room) || (!open && !fitsAlone) {
			return it.window(), false, nil
		}
		// The window changed between the writes and the read: again.
	}
	return claudebridge.RateWindow{}, false, internal("take rate", errContended)
}

// SettleRate corrects the tokens of key's window opened at opened, never
// below zero: an update conditional on the window and on the count
// staying at or above zero, else one that sets it to zero.
func (db *DB) SettleRate(ctx context.Context, key string, opened time.Time, delta int) error {
	table := db.table(rateWindowsTable.kind)
	k := map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: key}}
	for range tries {
		_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: k,
			UpdateExpression:    aws.String("SET tokens = tokens + :d"),
			ConditionExpression: aws.String("opened = :o AND tokens >= :least"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":d": number(delta), ":o": number(unixMicros(opened)),
				":least": number(max(0, -delta))}})
		if !conditionFailed(err) {
			return internal("settle rate", err)
		}
		_, err = db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: k,
			UpdateExpression:    aws.String("SET tokens = :zero"),
			ConditionExpression: aws.String("opened = :o AND tokens < :least"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":zero": number(0), ":o": number(unixMicros(opened)),
				":least": number(max(0, -delta))}})
		if !conditionFailed(err) {
			return internal("settle rate", err)
		}
		got, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: k, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return internal("settle rate", err)
		}
		if got.Item == nil || numberOf(got.Item["opened"]) != unixMicros(opened) {
			return nil // the window is no longer the key's
		}
	}
	return internal("settle rate", errContended)
}

type slotsItem struct {
	PK    string            `dynamodbav:"pk"`
	Ver   int64             `dynamodbav:"ver"`
	Slots map[string]string `dynamodbav:"slots,omitempty"` // slot id → holder
}

type slotItem struct {
	PK  string `dynamodbav:"pk"`
	Key string `dynamodbav:"key"`
	TTL int64  `dynamodbav:"ttl"`
}

// versioned reads the item at pk of table into v and returns the
// condition and values of a put that replaces it only if no other process
// changed it since.
func (db *DB) versioned(ctx context.Context, table *string, keyName, pk string, v any) (cond string, values map[string]types.AttributeValue, ver int64, err error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{keyName: &types.AttributeValueMemberS{Value: pk}}})
	if err != nil {
		return "", nil, 0, err
	}
	if out.Item == nil {
		return "attribute_not_exists(ver)", nil, 0, nil
	}
	ver = numberOf(out.Item["ver"])
	return "ver = :ver", map[string]types.AttributeValue{":ver": number(ver)}, ver, attributevalue.UnmarshalMap(out.Item, v)
}

// putVersioned puts item under cond; false when another process changed
// it first.
func (db *DB) putVersioned(ctx context.Context, table *string, item any, cond string, values map[string]types.AttributeValue) (bool, error) {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return false, err
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: av,
		ConditionExpression: aws.String(cond), ExpressionAttributeValues: values})
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, err
}

// liveHolders returns which of holders have a lease live at now.
func (db *DB) liveHolders(ctx context.Context, holders []string, now time.Time) (map[string]bool, error) {
	live := map[string]bool{}
	slices.Sort(holders)
	holders = slices.Compact(holders)
	table := *db.table(limitLeasesTable.kind)
	for chunk := range slices.Chunk(holders, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, h := range chunk {
			keys[i] = map[string]types.AttributeValue{"holder": &types.AttributeValueMemberS{Value: h}}
		}
		pending := map[string]types.KeysAndAttributes{table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for len(pending) > 0 {
			out, err := db.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, err
			}
			for _, item := range out.Responses[table] {
				if numberOf(item["expiresAt"]) > unixMicros(now) {
					live[item["holder"].(*types.AttributeValueMemberS).Value] = true
				}
			}
			pending = out.UnprocessedKeys
		}
	}
	return live, nil
}

// AcquireSlot takes a slot of key's calls in flight if fewer than limit
// are held under live leases: the key's item is read, its lapsed slots
// dropped, and the new slot put in by a put conditional on the version
// read.
func (db *DB) AcquireSlot(ctx context.Context, key string, limit int, holder string, now time.Time) (int64, bool, error) {
	table := db.table(limitSlotsTable.kind)
	for try := range tries {
		if err := backoff(ctx, try); err != nil {
			return 0, false, err
		}
		var it slotsItem
		cond, values, ver, err := db.versioned(ctx, table, "pk", "slots#"+key, &it)
		if err != nil {
			return 0, false, internal("acquire slot", err)
		}
		live, err := db.liveHolders(ctx, slices.Collect(maps.Values(it.Slots)), now)
		if err != nil {
			return 0, false, internal("acquire slot", err)
		}
		slots := map[string]string{}
		for id, h := range it.Slots {
			if live[h] {
				slots[id] = h
			}
		}
		if len(slots) >= limit {
			return 0, false, nil
		}
		id := rand.Int64N(1<<62) + 1
		slots[strconv.FormatInt(id, 10)] = holder
		ok, err := db.putVersioned(ctx, table, slotsItem{PK: "slots#" + key, Ver: ver + 1, Slots: slots}, cond, values)
		if err != nil {
			return 0, false, internal("acquire slot", err)
		}
		if !ok {
			continue
		}
		item, err := attributevalue.MarshalMap(slotItem{PK: "slot#" + strconv.FormatInt(id, 10), Key: key, TTL: now.Add(7 * 24 * time.Hour).Unix()})
		if err == nil {
			_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item})
		}
		return id, true, internal("acquire slot", err) // on an error the slot lapses with its holder's lease
	}
	return 0, false, internal("acquire slot", errContended)
}

// TakeCall takes a slot, then counts the request, and gives the slot back
// if the window refuses it: the two live in items of different tables, and
// each is already a conditional write with retries of its own, so that a
// transaction of both would buy an exactness no one observes (a call
// refused by a slot about to be given back) at twice the write units.
func (db *DB) TakeCall(ctx context.Context, key string, c claudebridge.CallLimits, holder string, now time.Time) (claudebridge.CallTaken, error) {
	var t claudebridge.CallTaken
	if c.Concurrency > 0 {
		slot, ok, err := db.AcquireSlot(ctx, key, c.Concurrency, holder, now)
		if err != nil || !ok {
			return claudebridge.CallTaken{Busy: err == nil}, err
		}
		t.Slot = slot
	}
	if c.RPM == 0 && c.TPM == 0 {
		t.Granted = true
		return t, nil
	}
	w, ok, err := db.TakeRate(ctx, key, c.RPM, c.TPM, c.Tokens, c.Window, now)
	if (err != nil || !ok) && t.Slot != 0 {
		// A slot not given back lapses with the holder's lease.
		_ = db.ReleaseSlot(context.WithoutCancel(ctx), t.Slot)
		t.Slot = 0
	}
	t.Granted, t.Window = ok, w
	return t, err
}

// EndCall releases the slot, then settles the window.
func (db *DB) EndCall(ctx context.Context, key string, slot int64, opened time.Time, delta int) error {
	var err error
	if slot != 0 {
		err = db.ReleaseSlot(ctx, slot)
	}
	if delta != 0 && !opened.IsZero() {
		err = errors.Join(err, db.SettleRate(ctx, key, opened, delta))
	}
	return err
}

// ReleaseSlot takes a slot out of its key's item; one already gone is no
// error.
func (db *DB) ReleaseSlot(ctx context.Context, slot int64) error {
	table := db.table(limitSlotsTable.kind)
	id := strconv.FormatInt(slot, 10)
	k := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "slot#" + id}}
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return internal("release slot", err)
	}
	key := out.Item["key"].(*types.AttributeValueMemberS).Value
	for try := range tries {
		if err := backoff(ctx, try); err != nil {
			return err
		}
		var it slotsItem
		cond, values, ver, err := db.versioned(ctx, table, "pk", "slots#"+key, &it)
		if err != nil {
			return internal("release slot", err)
		}
		if _, held := it.Slots[id]; !held {
			break
		}
		delete(it.Slots, id)
		it.Ver = ver + 1
		ok, err := db.putVersioned(ctx, table, it, cond, values)
		if err != nil {
			return internal("release slot", err)
		}
		if ok {
			break
		}
	}
	_, err = db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: k})
	return internal("release slot", err)
}

// RenewLease sets holder's lease to until. What holders whose lease lapsed
// held counts for nothing from then on, and leaves its item at the item's
// next change (AcquireSlot, HoldBudget): nothing needs to find it now.
func (db *DB) RenewLease(ctx context.Context, holder string, now, until time.Time) error {
	_, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(limitLeasesTable.kind), Item: map[string]types.AttributeValue{
		"holder":    &types.AttributeValueMemberS{Value: holder},
		"expiresAt": number(unixMicros(until)),
		"ttl":       number(until.Add(24 * time.Hour).Unix()),
	}})
	return internal("renew lease", err)
}
