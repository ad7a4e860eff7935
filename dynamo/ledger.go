package dynamo

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.LedgerService = (*DB)(nil)

// ledgerTable keeps one item per entry in a partition per UTC day, sorted
// by time (sk: the Unix microseconds, zero-padded, and a random suffix),
// so that totals over a time range Query the days in it. The indexes
// byKey and byUser (sparse: an entry without a key or a user is in
// neither) sort each key's and each user's entries by time, for what they
// spent since a time and for a user's usage. The item "#days" lists the
// days that have entries, for ranges with an open end; the item "#ids"
// holds the last entry ID given (each entry's ID ends its sort key, so
// that a copied entry is found again where it was put: records.go).
var ledgerTable = tableDef{kind: "ledger", hash: keyAttr{"day", types.ScalarAttributeTypeS}, rng: &keyAttr{"sk", types.ScalarAttributeTypeS},
	indexes: []indexDef{
		{name: "byKey", hash: keyAttr{"key", types.ScalarAttributeTypeS}, rng: &keyAttr{"t", types.ScalarAttributeTypeN}},
		{name: "byUser", hash: keyAttr{"user", types.ScalarAttributeTypeN}, rng: &keyAttr{"t", types.ScalarAttributeTypeN}},
	}}

var ledgerDays = map[string]types.AttributeValue{
	"day": &types.AttributeValueMemberS{Value: "#days"}, "sk": &types.AttributeValueMemberS{Value: "#days"},
}

var ledgerIDs = map[string]types.AttributeValue{
	"day": &types.AttributeValueMemberS{Value: "#ids"}, "sk": &types.AttributeValueMemberS{Value: "#ids"},
}

type ledgerItem struct {
	Day                 string  `dynamodbav:"day"`
	SK                  string  `dynamodbav:"sk"`
	T                   int64   `dynamodbav:"t"`
	ID                  int64   `dynamodbav:"id"`
	RequestID           string  `dynamodbav:"requestId,omitempty"`
	Key                 string  `dynamodbav:"key,omitempty"`
	User                int64   `dynamodbav:"user,omitempty"`
	Model               string  `dynamodbav:"model"`
	Upstream            string  `dynamodbav:"upstream,omitempty"`
	Door                string  `dynamodbav:"door"`
	InputTokens         int     `dynamodbav:"in,omitempty"`
	OutputTokens        int     `dynamodbav:"out,omitempty"`
	CacheReadTokens     int     `dynamodbav:"cacheRead,omitempty"`
	CacheWrite5mTokens  int     `dynamodbav:"cacheWrite5m,omitempty"`
	CacheWrite1hTokens  int     `dynamodbav:"cacheWrite1h,omitempty"`
	CountedOutputTokens int     `dynamodbav:"countedOut,omitempty"`
	CostUSD             float64 `dynamodbav:"cost,omitempty"`
	PriceVersion        string  `dynamodbav:"priceVersion,omitempty"`
	LatencyNs           int64   `dynamodbav:"latencyNs,omitempty"`
	FirstTokenNs        int64   `dynamodbav:"firstTokenNs,omitempty"`
	Status              int     `dynamodbav:"status,omitempty"`
}

// sortTime is the part of a ledger item's sort key its time makes: it
// sorts as the times do.
func sortTime(micros int64) string { return fmt.Sprintf("%020d", micros) }

// ledgerSK is the sort key of the entry of id at micros.
func ledgerSK(micros, id int64) string { return sortTime(micros) + "#" + fmt.Sprintf("%020d", id) }

// ledgerItemOf is the item of an entry of id.
func ledgerItemOf(id int64, e claudebridge.LedgerEntry) ledgerItem {
	t := unixMicros(e.Time)
	return ledgerItem{Day: e.Time.UTC().Format(time.DateOnly), SK: ledgerSK(t, id), T: t, ID: id, RequestID: e.RequestID,
		Key: e.Key, User: e.UserID, Model: e.Model, Upstream: e.Upstream, Door: e.Door,
		InputTokens: e.InputTokens, OutputTokens: e.OutputTokens, CacheReadTokens: e.CacheReadTokens,
		CacheWrite5mTokens: e.CacheWrite5mTokens, CacheWrite1hTokens: e.CacheWrite1hTokens, CountedOutputTokens: e.CountedOutputTokens,
		CostUSD: e.CostUSD, PriceVersion: e.PriceVersion, LatencyNs: int64(e.Latency), FirstTokenNs: int64(e.FirstToken), Status: e.Status}
}

// record is the entry of an item, as ExportRecords gives it.
func (it ledgerItem) record() claudebridge.LedgerRecord {
	return claudebridge.LedgerRecord{ID: it.ID, LedgerEntry: claudebridge.LedgerEntry{Time: fromUnixMicros(it.T), RequestID: it.RequestID,
		Key: it.Key, UserID: it.User, Model: it.Model, Upstream: it.Upstream, Door: it.Door,
		InputTokens: it.InputTokens, OutputTokens: it.OutputTokens, CacheReadTokens: it.CacheReadTokens,
		CacheWrite5mTokens: it.CacheWrite5mTokens, CacheWrite1hTokens: it.CacheWrite1hTokens, CountedOutputTokens: it.CountedOutputTokens,
		CostUSD: it.CostUSD, PriceVersion: it.PriceVersion, Latency: time.Duration(it.LatencyNs), FirstToken: time.Duration(it.FirstTokenNs),
		Status: it.Status}}
}

// AppendLedger stores entries, all or none: their IDs (one update of
// the counter) and days first, then the entries a BatchWriteItem at a
// time; when one fails, those written are
// deleted again. (A reader may see part of an append for that moment, and
// a crash in the middle keeps the part written: dynalite, the tests'
// DynamoDB, has no TransactWriteItems.)
func (db *DB) AppendLedger(ctx context.Context, entries []claudebridge.LedgerEntry) error {
	if len(entries) == 0 {
		return nil
	}
	last, err := db.addCounterBy(ctx, db.table(ledgerTable.kind), ledgerIDs, "last", int64(len(entries)))
	if err != nil {
		return internal("append ledger", err)
	}
	days := map[string]bool{}
	items := make([]map[string]types.AttributeValue, len(entries))
	for i, e := range entries {
		it := ledgerItemOf(last-int64(len(entries)-1-i), e)
		days[it.Day] = true
		item, err := attributevalue.MarshalMap(it)
		if err != nil {
			return internal("append ledger", err)
		}
		items[i] = item
	}
	if err := db.addLedgerDays(ctx, days); err != nil {
		return internal("append ledger", err)
	}
	puts := make([]types.WriteRequest, len(items))
	for i, item := range items {
		puts[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}
	}
	written, err := db.writeBatch(ctx, db.table(ledgerTable.kind), puts)
	if err != nil {
		undo := make([]types.WriteRequest, written)
		for i := range written {
			undo[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{"day": items[i]["day"], "sk": items[i]["sk"]}}}
		}
		db.writeBatch(context.WithoutCancel(ctx), db.table(ledgerTable.kind), undo)
		return internal("append ledger", err)
	}
	return nil
}

// ledgerDaysListed are the days this process has listed in "#days", by
// table: each process adds a day once, not at every append, so that the
// one item is not written by every call of every process.
var ledgerDaysListed sync.Map

// addLedgerDays lists days in the "#days" item.
func (db *DB) addLedgerDays(ctx context.Context, days map[string]bool) error {
	table := db.table(ledgerTable.kind)
	var add []string
	for day := range days {
		if _, ok := ledgerDaysListed.Load(*table + "/" + day); !ok {
			add = append(add, day)
		}
	}
	if len(add) == 0 {
		return nil
	}
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: ledgerDays,
		UpdateExpression:          aws.String("ADD days :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": &types.AttributeValueMemberSS{Value: add}},
	})
	if err != nil {
		return err
	}
	for _, day := range add {
		ledgerDaysListed.Store(*table+"/"+day, true)
	}
	return nil
}

// ledgerEntries hands each item of the entries with from <= time < to (a
// zero bound open) to each, until each returns an error: a Query per day
// of the range that has entries.
func (db *DB) ledgerEntries(ctx context.Context, from, to time.Time, each func(ledgerItem) error) error {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(ledgerTable.kind), Key: ledgerDays, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return err
	}
	var days []string
	if ss, ok := out.Item["days"].(*types.AttributeValueMemberSS); ok {
		days = ss.Value
	}
	slices.Sort(days)
	lo, hi := sortTime(0), sortTime(1<<62)
	if !from.IsZero() {
		lo = sortTime(unixMicros(from))
	}
	if !to.IsZero() {
		hi = sortTime(unixMicros(to))
	}
	if lo >= hi {
		return nil
	}
	for _, day := range days {
		if (!from.IsZero() && day < from.UTC().Format(time.DateOnly)) || (!to.IsZero() && day > to.UTC().Format(time.DateOnly)) {
			continue
		}
		err := db.queryPages(ctx, &dynamodb.QueryInput{TableName: db.table(ledgerTable.kind), ConsistentRead: aws.Bool(true),
			KeyConditionExpression: aws.String("#d = :d AND sk BETWEEN :lo AND :hi"),
			// hi is exclusive: every sort key of its microsecond is
			// greater than hi itself, which is only its prefix.
			ExpressionAttributeNames: map[string]string{"#d": "day"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":d": &types.AttributeValueMemberS{Value: day},
				":lo": &types.AttributeValueMemberS{Value: lo}, ":hi": &types.AttributeValueMemberS{Value: hi}},
		}, func(item map[string]types.AttributeValue) error {
			var it ledgerItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return err
			}
			return each(it)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// LedgerTotals sums the entries with from <= time < to by group, ordered
// by group. By user, the groups are the users' names.
func (db *DB) LedgerTotals(ctx context.Context, by claudebridge.LedgerGroup, from, to time.Time) ([]claudebridge.LedgerTotal, error) {
	var group func(ledgerItem) string
	var users map[int64]bool
	switch by {
	case claudebridge.ByKey:
		group = func(it ledgerItem) string { return it.Key }
	case claudebridge.ByModel:
		group = func(it ledgerItem) string { return it.Model }
	case claudebridge.ByDay:
		group = func(it ledgerItem) string { return it.Day }
	case claudebridge.ByUser:
		users = map[int64]bool{}
		group = func(it ledgerItem) string {
			if it.User == 0 {
				return ""
			}
			users[it.User] = true
			return "\x00" + strconv.FormatInt(it.User, 10) // named below
		}
	default:
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "cannot group the ledger by %q: key, user, model or day", by)
	}
	sums := map[string]*claudebridge.LedgerTotal{}
	err := db.ledgerEntries(ctx, from, to, func(it ledgerItem) error {
		g := group(it)
		t := sums[g]
		if t == nil {
			t = &claudebridge.LedgerTotal{Group: g}
			sums[g] = t
		}
		t.Calls++
		t.InputTokens += it.InputTokens
		t.OutputTokens += it.OutputTokens
		t.CacheReadTokens += it.CacheReadTokens
		t.CacheWrite5mTokens += it.CacheWrite5mTokens
		t.CacheWrite1hTokens += it.CacheWrite1hTokens
		t.CostUSD += it.CostUSD
		return nil
	})
	if err != nil {
		return nil, internal("ledger totals", err)
	}
	if users != nil {
		names, err := db.ledgerUserNames(ctx, slices.Collect(maps.Keys(users)))
		if err != nil {
			return nil, internal("ledger totals", err)
		}
		named := map[string]*claudebridge.LedgerTotal{}
		for g, t := range sums {
			if g != "" {
				id, _ := strconv.ParseInt(g[1:], 10, 64)
				t.Group = names[id] // "" for a user removed since, as a join finds none
			}
			if n := named[t.Group]; n != nil {
				n.Calls += t.Calls
				n.InputTokens += t.InputTokens
				n.OutputTokens += t.OutputTokens
				n.CacheReadTokens += t.CacheReadTokens
				n.CacheWrite5mTokens += t.CacheWrite5mTokens
				n.CacheWrite1hTokens += t.CacheWrite1hTokens
				n.CostUSD += t.CostUSD
				continue
			}
			named[t.Group] = t
		}
		sums = named
	}
	list := []claudebridge.LedgerTotal{}
	for _, g := range slices.Sorted(maps.Keys(sums)) {
		list = append(list, *sums[g])
	}
	return list, nil
}

// ledgerUserNames returns the names of the users of ids that exist, by a
// BatchGetItem of the users table (keyed by the Number "id", the name in
// "name": users.go keeps them so).
func (db *DB) ledgerUserNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	names := map[int64]string{}
	for chunk := range slices.Chunk(ids, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = map[string]types.AttributeValue{"id": number(id)}
		}
		pending := map[string]types.KeysAndAttributes{*db.table(usersTable.kind): {Keys: keys, ConsistentRead: aws.Bool(true),
			ProjectionExpression: aws.String("id, #n"), ExpressionAttributeNames: map[string]string{"#n": "name"}}}
		for len(pending) > 0 {
			out, err := db.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, err
			}
			for _, item := range out.Responses[*db.table(usersTable.kind)] {
				if s, ok := item["name"].(*types.AttributeValueMemberS); ok {
					names[numberOf(item["id"])] = s.Value
				}
			}
			pending = out.UnprocessedKeys
		}
	}
	return names, nil
}

// spent sums the cost of the entries of index's partition value since
// since.
func (db *DB) spent(ctx context.Context, index, attr string, value types.AttributeValue, since time.Time) (float64, error) {
	var sum float64
	err := db.queryPages(ctx, &dynamodb.QueryInput{TableName: db.table(ledgerTable.kind), IndexName: aws.String(index),
		KeyConditionExpression:    aws.String("#a = :v AND t >= :t"),
		ExpressionAttributeNames:  map[string]string{"#a": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": value, ":t": number(unixMicros(since))},
		ProjectionExpression:      aws.String("cost"),
	}, func(item map[string]types.AttributeValue) error {
		if n, ok := item["cost"].(*types.AttributeValueMemberN); ok {
			c, err := strconv.ParseFloat(n.Value, 64)
			sum += c
			return err
		}
		return nil
	})
	return sum, err
}

// SpentByUser sums the cost of userID's entries since since, from the
// byUser index (eventually consistent on DynamoDB: an entry appended a
// moment ago may be missing).
func (db *DB) SpentByUser(ctx context.Context, userID int64, since time.Time) (float64, error) {
	spent, err := db.spent(ctx, "byUser", "user", number(userID), since)
	return spent, internal("spent by user", err)
}

// SpentByKey sums the cost of the entries of the key named key since
// since, from the byKey index.
func (db *DB) SpentByKey(ctx context.Context, key string, since time.Time) (float64, error) {
	if key == "" {
		return 0, nil // the index keeps no entry without a key
	}
	spent, err := db.spent(ctx, "byKey", "key", &types.AttributeValueMemberS{Value: key}, since)
	return spent, internal("spent by key", err)
}

// deleteLedgerOf removes userID's entries, for DeleteUser: a user's
// usage goes with the user.
func (db *DB) deleteLedgerOf(ctx context.Context, userID int64) error {
	var dels []types.WriteRequest
	err := db.queryPages(ctx, &dynamodb.QueryInput{TableName: db.table(ledgerTable.kind), IndexName: aws.String("byUser"),
		KeyConditionExpression:    aws.String("#u = :u"),
		ExpressionAttributeNames:  map[string]string{"#u": "user", "#d": "day"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": number(userID)},
		ProjectionExpression:      aws.String("#d, sk"),
	}, func(item map[string]types.AttributeValue) error {
		dels = append(dels, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: item}})
		return nil
	})
	if err != nil {
		return err
	}
	_, err = db.writeBatch(ctx, db.table(ledgerTable.kind), dels)
	return err
}

// unixMicros is a time as items keep it: Unix microseconds, 0 for the
// zero time (whose attribute is then left out).
func unixMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromUnixMicros is the time of unixMicros, in UTC.
func fromUnixMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// queryPages runs in, page after page, handing each item to each.
func (db *DB) queryPages(ctx context.Context, in *dynamodb.QueryInput, each func(map[string]types.AttributeValue) error) error {
	p := dynamodb.NewQueryPaginator(db.client, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			if err := each(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeBatch writes reqs to table, 25 at a time (BatchWriteItem's limit),
// again for what DynamoDB leaves unprocessed; it returns how many of reqs
// (in order, chunk by chunk) are written for sure when it fails.
func (db *DB) writeBatch(ctx context.Context, table *string, reqs []types.WriteRequest) (int, error) {
	done := 0
	for chunk := range slices.Chunk(reqs, 25) {
		pending := map[string][]types.WriteRequest{*table: chunk}
		for tries := 0; len(pending) > 0; tries++ {
			if tries > 0 {
				select { // DynamoDB left some unprocessed: throttled, so wait a little
				case <-ctx.Done():
					return done, ctx.Err()
				case <-time.After(time.Duration(min(tries, 10)) * 20 * time.Millisecond):
				}
			}
			out, err := db.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return done, err
			}
			pending = out.UnprocessedItems
		}
		done += len(chunk)
	}
	return done, nil
}
