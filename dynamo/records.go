package dynamo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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

var _ claudebridge.RecordStore = (*DB)(nil)

// ExportRecords hands every record to each, parents before children.
// The kinds that stay small (users, sessions, prompts, keys, batches
// without their requests) are read whole and sorted by ID; the others
// come page by page in the tables' own order (conversations and messages
// as a Scan gives them, the ledger day by day in time order), since
// DynamoDB sorts only within a partition. Records nothing reaches any
// more (those a removal that failed half-way left: a removed user's
// sessions, a removed conversation's messages) are not records: they
// are left out, as the other stores, whose foreign keys would refuse
// them, have none.
func (db *DB) ExportRecords(ctx context.Context, each func(claudebridge.Record) error) error {
	users, err := db.users(ctx)
	if err != nil {
		return internal("export users", err)
	}
	slices.SortFunc(users, func(a, b userItem) int { return cmp.Compare(a.ID, b.ID) })
	isUser := map[int64]bool{}
	for _, u := range users {
		isUser[u.ID] = true
		if err := each(claudebridge.Record{User: &claudebridge.UserRecord{User: *u.user(), PasswordHash: u.Hash}}); err != nil {
			return err
		}
	}
	if err := db.exportSessions(ctx, isUser, each); err != nil {
		return err
	}
	if err := db.exportPrompts(ctx, isUser, each); err != nil {
		return err
	}
	isConversation := map[string]bool{}
	var stop error // each's, handed back as it is
	err = db.scanPages(ctx, conversationsTable.kind, func(item map[string]types.AttributeValue) error {
		var it conversationItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		if !isUser[it.User] {
			return nil
		}
		isConversation[it.ID] = true
		c := it.conversation()
		stop = each(claudebridge.Record{Conversation: &c})
		return stop
	})
	if stop != nil {
		return stop
	}
	if err != nil {
		return internal("export conversations", err)
	}
	err = db.scanPages(ctx, messagesTable.kind, func(item map[string]types.AttributeValue) error {
		var it messageItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		if !isConversation[it.Conv] {
			return nil
		}
		m := it.message()
		stop = each(claudebridge.Record{Message: &m})
		return stop
	})
	if stop != nil {
		return stop
	}
	if err != nil {
		return internal("export messages", err)
	}
	keys, err := db.Keys(ctx)
	if err != nil {
		return err
	}
	slices.SortFunc(keys, func(a, b claudebridge.Key) int { return cmp.Compare(a.ID, b.ID) })
	for i := range keys {
		if err := each(claudebridge.Record{Key: &keys[i]}); err != nil {
			return err
		}
	}
	if err := db.exportBatches(ctx, each); err != nil {
		return err
	}
	return db.exportLedger(ctx, isUser, each)
}

// scanPages scans the table of kind, page by page, handing each item to
// each.
func (db *DB) scanPages(ctx context.Context, kind string, each func(map[string]types.AttributeValue) error) error {
	p := dynamodb.NewScanPaginator(db.client, &dynamodb.ScanInput{TableName: db.table(kind), ConsistentRead: aws.Bool(true)})
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

func (db *DB) exportSessions(ctx context.Context, isUser map[int64]bool, each func(claudebridge.Record) error) error {
	var list []sessionItem
	if err := db.scanAll(ctx, &dynamodb.ScanInput{TableName: db.table(sessionsTable.kind), ConsistentRead: aws.Bool(true)}, &list); err != nil {
		return internal("export sessions", err)
	}
	slices.SortFunc(list, func(a, b sessionItem) int { return strings.Compare(a.Token, b.Token) })
	for _, s := range list {
		if !isUser[s.User] {
			continue
		}
		if err := each(claudebridge.Record{Session: &claudebridge.SessionRecord{TokenHash: s.Token, UserID: s.User,
			ExpiresAt: fromMicros(s.Expires)}}); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) exportPrompts(ctx context.Context, isUser map[int64]bool, each func(claudebridge.Record) error) error {
	var list []promptItem
	if err := db.scanAll(ctx, &dynamodb.ScanInput{TableName: db.table(promptsTable.kind), ConsistentRead: aws.Bool(true)}, &list); err != nil {
		return internal("export prompts", err)
	}
	slices.SortFunc(list, func(a, b promptItem) int { return strings.Compare(a.ID, b.ID) })
	for _, it := range list {
		if !isUser[it.User] {
			continue
		}
		p := it.prompt()
		if err := each(claudebridge.Record{Prompt: &p}); err != nil {
			return err
		}
	}
	return nil
}

// exportBatches reads the batches (not their requests) whole, in the
// order they were made, then each batch's requests with one paged Query.
func (db *DB) exportBatches(ctx context.Context, each func(claudebridge.Record) error) error {
	var list []batchItem
	if err := db.scanAll(ctx, &dynamodb.ScanInput{TableName: db.table(batchesTable.kind), ConsistentRead: aws.Bool(true),
		FilterExpression: aws.String("attribute_exists(#s)"), ExpressionAttributeNames: map[string]string{"#s": "status"}}, &list); err != nil {
		return internal("export batches", err) // the filter leaves out the counter "#seq"
	}
	slices.SortFunc(list, func(a, b batchItem) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, it := range list {
		b := &claudebridge.BatchRecord{Batch: *it.batch()}
		err := db.requests(ctx, it.ID, "", func(r *requestItem) (bool, error) {
			b.Items = append(b.Items, claudebridge.BatchItem{CustomID: r.CustomID, Params: r.Params, ResultType: r.ResultType, Result: r.Result})
			return true, nil
		})
		if err != nil {
			return internal("export batches", err)
		}
		if err := each(claudebridge.Record{Batch: b}); err != nil {
			return err
		}
	}
	return nil
}

// exportLedger reads the ledger day by day, each day page by page.
func (db *DB) exportLedger(ctx context.Context, isUser map[int64]bool, each func(claudebridge.Record) error) error {
	var stop error // each's, handed back as it is
	err := db.ledgerEntries(ctx, time.Time{}, time.Time{}, func(it ledgerItem) error {
		if it.User != 0 && !isUser[it.User] {
			return nil
		}
		l := it.record()
		stop = each(claudebridge.Record{Ledger: &l})
		return stop
	})
	if stop != nil {
		return stop
	}
	return internal("export ledger", err)
}

// ImportRecords stores records as exported, keeping their IDs and times;
// a record whose ID is there already is left as it is (a user or a key
// whose name another holds is left out too, as the other stores' unique
// names leave it). The counters of user, key and ledger IDs move past the
// imported IDs first, so that no new record is given one of them.
//
// All or none, as the store's other writes of several items are
// (dynalite, its test server, has no TransactWriteItems, whose 100 items
// would not hold an import anyway): what is there already is found first
// (BatchGetItem); then the new items are written, each name claimed by a
// conditional put as CreateUser and CreateKey claim it, the rest 25 to a
// BatchWriteItem, a batch's requests before the batch that makes them
// seen; if a write fails, every item written is deleted again before the
// error is returned. A reader may see part of an import while it is
// written, and a process that dies half-way leaves that part, which
// running the import again completes.
func (db *DB) ImportRecords(ctx context.Context, records []claudebridge.Record) error {
	im := &importer{db: db}
	err := im.run(ctx, records)
	if err == nil {
		return nil
	}
	return internal("import records", errors.Join(err, im.undo(context.WithoutCancel(ctx))))
}

// importer is one ImportRecords: what it has written, for undo.
type importer struct {
	db      *DB
	written []writePut // the key of each item written (item: its key only)
}

// put writes one item unless cond fails (ok false then).
func (im *importer) put(ctx context.Context, kind string, item, key map[string]types.AttributeValue, cond string, names map[string]string,
	values map[string]types.AttributeValue) (ok bool, err error) {
	_, err = im.db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: im.db.table(kind), Item: item, ConditionExpression: &cond,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	im.written = append(im.written, writePut{kind, key})
	return true, nil
}

// putAll writes puts (each with the names of its table's key attributes)
// and notes them for undo first: BatchWriteItem does not say which of a
// failed call it wrote.
func (im *importer) putAll(ctx context.Context, puts []writePut) error {
	for _, p := range puts {
		im.written = append(im.written, writePut{p.kind, keyOf(p.kind, p.item)})
	}
	return im.db.putAll(ctx, puts)
}

// undo deletes what the import wrote, last first.
func (im *importer) undo(ctx context.Context) error {
	var err error
	for i := len(im.written) - 1; i >= 0; {
		kind := im.written[i].kind
		var keys []map[string]types.AttributeValue
		for ; i >= 0 && im.written[i].kind == kind; i-- {
			keys = append(keys, im.written[i].item)
		}
		err = errors.Join(err, im.db.deleteAll(ctx, im.db.table(kind), keys))
	}
	return err
}

// keyAttrs are the names of the key attributes of the table of kind.
func keyAttrs(kind string) []string {
	for _, t := range tables {
		if t.kind == kind {
			if t.rng == nil {
				return []string{t.hash.name}
			}
			return []string{t.hash.name, t.rng.name}
		}
	}
	panic("dynamo: no table of kind " + kind)
}

// keyOf is the key of an item of the table of kind.
func keyOf(kind string, item map[string]types.AttributeValue) map[string]types.AttributeValue {
	key := map[string]types.AttributeValue{}
	for _, a := range keyAttrs(kind) {
		key[a] = item[a]
	}
	return key
}

// keyString is a key as a map key: its attributes' values in order.
func keyString(kind string, key map[string]types.AttributeValue) string {
	var b strings.Builder
	for _, a := range keyAttrs(kind) {
		switch v := key[a].(type) {
		case *types.AttributeValueMemberS:
			fmt.Fprintf(&b, "S%d:%s", len(v.Value), v.Value)
		case *types.AttributeValueMemberN:
			fmt.Fprintf(&b, "N%d:%s", len(v.Value), v.Value)
		}
	}
	return b.String()
}

// existing reads which of keys the table of kind holds, 100 (BatchGetItem's
// limit) at a time, with the attributes of project besides the key
// (ConsistentRead): the items found, by keyString.
func (db *DB) existing(ctx context.Context, kind string, keys []map[string]types.AttributeValue, project ...string) (map[string]map[string]types.AttributeValue, error) {
	found := map[string]map[string]types.AttributeValue{}
	unique := map[string]map[string]types.AttributeValue{}
	for _, k := range keys {
		unique[keyString(kind, k)] = k
	}
	names := map[string]string{}
	var proj []string
	for i, a := range append(keyAttrs(kind), project...) {
		n := fmt.Sprintf("#a%d", i)
		names[n] = a
		proj = append(proj, n)
	}
	table := *db.table(kind)
	for chunk := range slices.Chunk(slices.Collect(maps.Values(unique)), 100) {
		pending := map[string]types.KeysAndAttributes{table: {Keys: chunk, ConsistentRead: aws.Bool(true),
			ProjectionExpression: aws.String(strings.Join(proj, ", ")), ExpressionAttributeNames: names}}
		for try := 0; len(pending) > 0; try++ {
			if err := backoff(ctx, try); err != nil {
				return nil, err
			}
			out, err := db.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, err
			}
			for _, item := range out.Responses[table] {
				found[keyString(kind, item)] = item
			}
			pending = out.UnprocessedKeys
		}
	}
	return found, nil
}

// raiseCounter sets the number attr of the item at key to at least n.
func (db *DB) raiseCounter(ctx context.Context, kind string, key map[string]types.AttributeValue, attr string, n int64) error {
	if n <= 0 {
		return nil
	}
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(kind), Key: key,
		UpdateExpression:          aws.String("SET #c = :n"),
		ConditionExpression:       aws.String("attribute_not_exists(#c) OR #c < :n"),
		ExpressionAttributeNames:  map[string]string{"#c": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": number(n)}})
	if conditionFailed(err) {
		return nil // past n already
	}
	return err
}

// run imports records, noting what it writes.
func (im *importer) run(ctx context.Context, records []claudebridge.Record) error {
	var byKind struct {
		users    []*claudebridge.UserRecord
		sessions []*claudebridge.SessionRecord
		prompts  []*claudebridge.Prompt
		convs    []*claudebridge.Conversation
		messages []*claudebridge.Message
		keys     []*claudebridge.Key
		batches  []*claudebridge.BatchRecord
		ledger   []*claudebridge.LedgerRecord
	}
	var maxUser, maxKey, maxLedger int64
	for _, r := range records {
		switch {
		case r.User != nil:
			byKind.users, maxUser = append(byKind.users, r.User), max(maxUser, r.User.ID)
		case r.Session != nil:
			byKind.sessions = append(byKind.sessions, r.Session)
		case r.Prompt != nil:
			byKind.prompts = append(byKind.prompts, r.Prompt)
		case r.Conversation != nil:
			byKind.convs = append(byKind.convs, r.Conversation)
		case r.Message != nil:
			byKind.messages = append(byKind.messages, r.Message)
		case r.Key != nil:
			byKind.keys, maxKey = append(byKind.keys, r.Key), max(maxKey, r.Key.ID)
		case r.Batch != nil:
			byKind.batches = append(byKind.batches, r.Batch)
		case r.Ledger != nil:
			byKind.ledger, maxLedger = append(byKind.ledger, r.Ledger), max(maxLedger, r.Ledger.ID)
		}
	}
	// The counters first: a new record made while the import runs, or
	// after one that died half-way, must not take an imported ID.
	db := im.db
	if err := db.raiseCounter(ctx, usersTable.kind, userCounter, "last", maxUser); err != nil {
		return err
	}
	if err := db.raiseCounter(ctx, keysTable.kind, keysMeta, "lastID", maxKey); err != nil {
		return err
	}
	if err := db.raiseCounter(ctx, ledgerTable.kind, ledgerIDs, "last", maxLedger); err != nil {
		return err
	}
	if err := im.users(ctx, byKind.users); err != nil {
		return err
	}
	if err := im.keys(ctx, byKind.keys); err != nil {
		return err
	}
	var puts []writePut
	for _, step := range []func() ([]writePut, error){
		func() ([]writePut, error) { return im.sessions(ctx, byKind.sessions) },
		func() ([]writePut, error) { return im.prompts(ctx, byKind.prompts) },
		func() ([]writePut, error) { return im.messages(ctx, byKind.messages, byKind.convs) },
		func() ([]writePut, error) { return im.conversations(ctx, byKind.convs) },
		func() ([]writePut, error) { return im.ledger(ctx, byKind.ledger) },
	} {
		p, err := step()
		if err != nil {
			return err
		}
		puts = append(puts, p...)
	}
	if err := im.putAll(ctx, puts); err != nil {
		return err
	}
	return im.batches(ctx, byKind.batches)
}

// newOnly marshals each of list to an item of the table of kind and keeps
// those whose key the table does not hold.
func newOnly[T any](ctx context.Context, db *DB, kind string, list []T, item func(T) (any, error)) ([]writePut, error) {
	var puts []writePut
	var keys []map[string]types.AttributeValue
	for _, x := range list {
		v, err := item(x)
		if err != nil {
			return nil, err
		}
		av, err := attributevalue.MarshalMap(v)
		if err != nil {
			return nil, err
		}
		puts = append(puts, writePut{kind, av})
		keys = append(keys, keyOf(kind, av))
	}
	found, err := db.existing(ctx, kind, keys)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []writePut
	for _, p := range puts {
		k := keyString(kind, keyOf(kind, p.item))
		if found[k] == nil && !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// users stores each user whose ID is free and whose name it can claim:
// the name first, then the user, as putUser does.
func (im *importer) users(ctx context.Context, list []*claudebridge.UserRecord) error {
	var keys []map[string]types.AttributeValue
	for _, u := range list {
		keys = append(keys, map[string]types.AttributeValue{"id": attrN(u.ID)})
	}
	found, err := im.db.existing(ctx, usersTable.kind, keys)
	if err != nil {
		return err
	}
	for i, u := range list {
		if found[keyString(usersTable.kind, keys[i])] != nil || u.ID <= 0 {
			continue
		}
		claim, err := attributevalue.MarshalMap(userNameItem{Name: u.Name, ID: u.ID, At: micros(now())})
		if err != nil {
			return err
		}
		// A claim of this ID is one an import that died half-way left.
		ok, err := im.put(ctx, userNamesTable.kind, claim, keyOf(userNamesTable.kind, claim), "attribute_not_exists(#n) OR #id = :id",
			map[string]string{"#n": "name", "#id": "id"}, map[string]types.AttributeValue{":id": attrN(u.ID)})
		if err != nil || !ok {
			return err
		}
		item, err := attributevalue.MarshalMap(userItem{ID: u.ID, Name: u.Name, Hash: u.PasswordHash, Created: micros(u.CreatedAt)})
		if err != nil {
			return err
		}
		if _, err := im.put(ctx, usersTable.kind, item, keyOf(usersTable.kind, item), "attribute_not_exists(id)", nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// keys stores each key whose ID and name are free (a conditional put on
// the name, as CreateKey's), then moves KeysVersion if it stored one.
func (im *importer) keys(ctx context.Context, list []*claudebridge.Key) error {
	if len(list) == 0 {
		return nil
	}
	have, err := im.db.Keys(ctx)
	if err != nil {
		return err
	}
	ids := map[int64]bool{}
	for _, k := range have {
		ids[k.ID] = true
	}
	stored := false
	for _, k := range list {
		if ids[k.ID] {
			continue
		}
		item, err := attributevalue.MarshalMap(keyItem{PK: keysPartition, Name: k.Name, ID: k.ID, Prefix: k.Prefix, Hash: k.Hash,
			RPM: k.RPM, TPM: k.TPM, Concurrency: k.Concurrency, BudgetUSD: k.BudgetUSD, BudgetPeriod: k.BudgetPeriod,
			MaxCostPerRequest: k.MaxCostPerRequest, Models: k.Models, CreatedAt: unixMicros(k.CreatedAt), RevokedAt: unixMicros(k.RevokedAt)})
		if err != nil {
			return err
		}
		ok, err := im.put(ctx, keysTable.kind, item, keyOf(keysTable.kind, item), "attribute_not_exists(#n)", map[string]string{"#n": "name"}, nil)
		if err != nil {
			return err
		}
		stored = stored || ok
	}
	if !stored {
		return nil
	}
	return im.db.keysChanged(ctx)
}

func (im *importer) sessions(ctx context.Context, list []*claudebridge.SessionRecord) ([]writePut, error) {
	if len(list) == 0 {
		return nil, nil
	}
	// A session holds its user's password generation: that of the user
	// as stored (an imported user's is 0).
	var keys []map[string]types.AttributeValue
	for _, s := range list {
		keys = append(keys, map[string]types.AttributeValue{"id": attrN(s.UserID)})
	}
	users, err := im.db.existing(ctx, usersTable.kind, keys, "gen")
	if err != nil {
		return nil, err
	}
	return newOnly(ctx, im.db, sessionsTable.kind, list, func(s *claudebridge.SessionRecord) (any, error) {
		gen := numberOf(users[keyString(usersTable.kind, map[string]types.AttributeValue{"id": attrN(s.UserID)})]["gen"])
		return sessionItem{Token: s.TokenHash, User: s.UserID, Gen: gen, Expires: s.ExpiresAt.UnixMicro(), TTL: s.ExpiresAt.Unix() + 1}, nil
	})
}

func (im *importer) prompts(ctx context.Context, list []*claudebridge.Prompt) ([]writePut, error) {
	return newOnly(ctx, im.db, promptsTable.kind, list, func(p *claudebridge.Prompt) (any, error) {
		return promptItem{User: p.UserID, ID: p.ID, Name: p.Name, Text: p.Text, Created: micros(p.CreatedAt), Updated: micros(p.UpdatedAt)}, nil
	})
}

func (im *importer) conversations(ctx context.Context, list []*claudebridge.Conversation) ([]writePut, error) {
	return newOnly(ctx, im.db, conversationsTable.kind, list, func(c *claudebridge.Conversation) (any, error) {
		return newConversationItem(c), nil
	})
}

// messages are the items of the messages whose (conversation, Seq) is
// free, each with its id's pointer before it. A message keeps its
// conversation's user: that of the import's conversation, or of the
// stored one.
func (im *importer) messages(ctx context.Context, list []*claudebridge.Message, convs []*claudebridge.Conversation) ([]writePut, error) {
	if len(list) == 0 {
		return nil, nil
	}
	owner := map[string]int64{}
	for _, c := range convs {
		owner[c.ID] = c.UserID
	}
	var keys []map[string]types.AttributeValue
	for _, m := range list {
		if _, ok := owner[m.ConversationID]; !ok {
			keys = append(keys, conversationKey(m.ConversationID))
		}
	}
	stored, err := im.db.existing(ctx, conversationsTable.kind, keys, "user")
	if err != nil {
		return nil, err
	}
	for _, item := range stored {
		var c conversationItem
		if err := attributevalue.UnmarshalMap(item, &c); err != nil {
			return nil, err
		}
		owner[c.ID] = c.User
	}
	items, err := newOnly(ctx, im.db, messagesTable.kind, list, func(m *claudebridge.Message) (any, error) {
		user, ok := owner[m.ConversationID]
		if !ok {
			return nil, claudebridge.Errorf(claudebridge.EINVALID, "message %s: no conversation %s", m.ID, m.ConversationID)
		}
		return newMessageItem(m, user), nil
	})
	if err != nil {
		return nil, err
	}
	var puts []writePut
	for _, p := range items {
		var m messageItem
		if err := attributevalue.UnmarshalMap(p.item, &m); err != nil {
			return nil, err
		}
		ptr, err := attributevalue.MarshalMap(messageIDItem{ID: m.ID, Conv: m.Conv, Seq: m.Seq})
		if err != nil {
			return nil, err
		}
		puts = append(puts, writePut{messageIDsTable.kind, ptr}, p)
	}
	return puts, nil
}

// ledger are the items of the entries not stored yet (an entry's key is
// its day, time and ID), after their days are listed.
func (im *importer) ledger(ctx context.Context, list []*claudebridge.LedgerRecord) ([]writePut, error) {
	puts, err := newOnly(ctx, im.db, ledgerTable.kind, list, func(l *claudebridge.LedgerRecord) (any, error) {
		return ledgerItemOf(l.ID, l.LedgerEntry), nil
	})
	if err != nil || len(puts) == 0 {
		return nil, err
	}
	days := map[string]bool{}
	for _, p := range puts {
		days[p.item["day"].(*types.AttributeValueMemberS).Value] = true
	}
	return puts, im.db.addLedgerDays(ctx, days)
}

// batches stores each batch whose ID is free: its requests, then the
// batch (a conditional put) with a seq of this store's, in the order
// given.
func (im *importer) batches(ctx context.Context, list []*claudebridge.BatchRecord) error {
	var keys []map[string]types.AttributeValue
	for _, b := range list {
		keys = append(keys, batchKey(b.ID))
	}
	found, err := im.db.existing(ctx, batchesTable.kind, keys)
	if err != nil {
		return err
	}
	for i, b := range list {
		if found[keyString(batchesTable.kind, keys[i])] != nil || b.ID == "" || b.ID[0] == '#' {
			continue
		}
		var puts []writePut
		for n, r := range b.Items {
			req := requestItem{Batch: b.ID, SK: requestSK(n), N: n, CustomID: r.CustomID, ResultType: r.ResultType}
			if r.ResultType == "" {
				req.Params = r.Params
			} else {
				req.Result = r.Result
			}
			place := requestItem{Batch: b.ID, SK: "c#" + r.CustomID, N: n, CustomID: r.CustomID}
			for _, it := range []requestItem{req, place} {
				av, err := attributevalue.MarshalMap(it)
				if err != nil {
					return err
				}
				puts = append(puts, writePut{batchRequestsTable.kind, av})
			}
		}
		if err := im.putAll(ctx, puts); err != nil {
			return err
		}
		seq, err := im.db.addCounter(ctx, im.db.table(batchesTable.kind), batchKey("#seq"), "seq")
		if err != nil {
			return err
		}
		c := b.Counts
		state := b.Status
		if !b.ArchivedAt.IsZero() {
			state = archivedState
		}
		item, err := attributevalue.MarshalMap(batchItem{ID: b.ID, Seq: seq, Status: b.Status, State: state, OwningKey: "k#" + b.KeyName,
			Betas: b.Betas, Total: c.Processing + c.Succeeded + c.Errored + c.Canceled + c.Expired,
			Succeeded: c.Succeeded, Errored: c.Errored, Canceled: c.Canceled, Expired: c.Expired,
			CreatedAt: unixMicros(b.CreatedAt), ExpiresAt: unixMicros(b.ExpiresAt), EndedAt: unixMicros(b.EndedAt),
			CancelInitiatedAt: unixMicros(b.CancelInitiatedAt), ArchivedAt: unixMicros(b.ArchivedAt)})
		if err != nil {
			return err
		}
		if _, err := im.put(ctx, batchesTable.kind, item, batchKey(b.ID), "attribute_not_exists(id)", nil, nil); err != nil {
			return err
		}
	}
	return nil
}
