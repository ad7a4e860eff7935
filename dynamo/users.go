package dynamo

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

// Users live in three tables. users holds each user by id, and at id 0 the
// counter that gives ids: a removed user's id is never given again, since
// every row that named it (a key's ledger, a running turn) would otherwise
// name the next user. user_names holds each name, pointing at its user: a
// conditional put of it is what makes a name taken. sessions holds each
// session by its token's hash, with its user and the user's password
// generation when it was made; a new password moves the generation on, so
// that the user's older sessions end at once, before their items are
// swept (through the by-user index, which may lag a write).
var (
	usersTable     = tableDef{kind: "users", hash: keyAttr{"id", types.ScalarAttributeTypeN}}
	userNamesTable = tableDef{kind: "user_names", hash: keyAttr{"name", types.ScalarAttributeTypeS}}
	sessionsTable  = tableDef{kind: "sessions", hash: keyAttr{"token", types.ScalarAttributeTypeS}, ttl: "ttl",
		indexes: []indexDef{{name: "by-user", hash: keyAttr{"user", types.ScalarAttributeTypeN}}}}
)

type userItem struct {
	ID      int64  `dynamodbav:"id"`
	Name    string `dynamodbav:"name,omitempty"`
	Hash    string `dynamodbav:"hash,omitempty"`
	Created int64  `dynamodbav:"created,omitempty"`
	Gen     int64  `dynamodbav:"gen,omitempty"` // password generation
}

func (u userItem) user() *claudebridge.User {
	return &claudebridge.User{ID: u.ID, Name: u.Name, CreatedAt: fromMicros(u.Created)}
}

type userNameItem struct {
	Name string `dynamodbav:"name"`
	ID   int64  `dynamodbav:"id"`
	At   int64  `dynamodbav:"at"` // when it was claimed
}

type sessionItem struct {
	Token   string `dynamodbav:"token"`
	User    int64  `dynamodbav:"user"`
	Gen     int64  `dynamodbav:"gen,omitempty"`
	Expires int64  `dynamodbav:"expires"`
	TTL     int64  `dynamodbav:"ttl"` // seconds, for DynamoDB's TTL sweep
}

// userCounter is the key of the item whose "last" is the last id given.
var userCounter = map[string]types.AttributeValue{"id": attrN(0)}

// nextUserID takes a new user id from the counter.
func (db *DB) nextUserID(ctx context.Context) (int64, error) {
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(usersTable.kind), Key: userCounter,
		UpdateExpression:          aws.String("ADD #last :one"),
		ExpressionAttributeNames:  map[string]string{"#last": "last"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": attrN(1)},
		ReturnValues:              types.ReturnValueUpdatedNew})
	if err != nil {
		return 0, err
	}
	var got struct {
		Last int64 `dynamodbav:"last"`
	}
	err = attributevalue.UnmarshalMap(out.Attributes, &got)
	return got.Last, err
}

// claimStale is how old a name's claim must be for its missing user to
// mean a creation or removal that died half-way (the name may then be
// taken again) rather than one under way.
const claimStale = time.Minute

// putUser takes a name and stores its user, in two conditional writes
// (dynalite, the store's test server, has no transactions): first the
// name, pointing at a new id, then the user. A name whose user is missing
// is a creation under way, or one that died half-way, or a removal that
// did: after claimStale it may be taken again. taken says the name is
// someone's; made is nil then.
func (db *DB) putUser(ctx context.Context, name, hash string) (made *claudebridge.User, taken bool, err error) {
	id, err := db.nextUserID(ctx)
	if err != nil {
		return nil, false, err
	}
	at := now()
	claim, err := attributevalue.MarshalMap(userNameItem{Name: name, ID: id, At: micros(at)})
	if err != nil {
		return nil, false, err
	}
	put := &dynamodb.PutItemInput{TableName: db.table(userNamesTable.kind), Item: claim,
		ConditionExpression:      aws.String("attribute_not_exists(#n)"),
		ExpressionAttributeNames: map[string]string{"#n": "name"}}
	_, err = db.client.PutItem(ctx, put)
	if conditionFailed(err) {
		old, rerr := db.userName(ctx, name)
		if rerr != nil || old == nil {
			return nil, true, rerr // removed meanwhile: the caller may try again
		}
		u, rerr := db.userByID(ctx, old.ID)
		if rerr != nil || u != nil || at.Sub(fromMicros(old.At)) < claimStale {
			return nil, true, rerr
		}
		put.ConditionExpression = aws.String("#id = :stale")
		put.ExpressionAttributeNames = map[string]string{"#id": "id"}
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":stale": attrN(old.ID)}
		_, err = db.client.PutItem(ctx, put)
		if conditionFailed(err) {
			return nil, true, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	u := userItem{ID: id, Name: name, Hash: hash, Created: micros(at)}
	item, err := attributevalue.MarshalMap(u)
	if err != nil {
		return nil, false, err
	}
	if _, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(usersTable.kind), Item: item}); err != nil {
		return nil, false, err
	}
	return u.user(), false, nil
}

// userName reads a name's item; nil if the name is free.
func (db *DB) userName(ctx context.Context, name string) (*userNameItem, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(userNamesTable.kind), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"name": attrS(name)}})
	if err != nil || out.Item == nil {
		return nil, err
	}
	var n userNameItem
	return &n, attributevalue.UnmarshalMap(out.Item, &n)
}

// CreateUser stores a user with a password hash; EINVALID if the name is
// taken or empty.
func (db *DB) CreateUser(ctx context.Context, name, passwordHash string) (*claudebridge.User, error) {
	if name == "" {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "name: must not be empty")
	}
	u, taken, err := db.putUser(ctx, name, passwordHash)
	if err != nil {
		return nil, internal("create user", err)
	}
	if taken {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "user %q exists", name)
	}
	return u, nil
}

// userByName reads the user of a name; nil if there is none.
func (db *DB) userByName(ctx context.Context, name string) (*userItem, error) {
	n, err := db.userName(ctx, name)
	if err != nil || n == nil {
		return nil, err
	}
	return db.userByID(ctx, n.ID)
}

// userByID reads a user; nil if there is none.
func (db *DB) userByID(ctx context.Context, id int64) (*userItem, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(usersTable.kind), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"id": attrN(id)}})
	if err != nil || out.Item == nil || id == 0 {
		return nil, err
	}
	var u userItem
	return &u, attributevalue.UnmarshalMap(out.Item, &u)
}

// UserByName returns the user and its password hash; ENOTFOUND if absent.
func (db *DB) UserByName(ctx context.Context, name string) (*claudebridge.User, string, error) {
	u, err := db.userByName(ctx, name)
	if err != nil {
		return nil, "", internal("user", err)
	}
	if u == nil {
		return nil, "", notFound("user")
	}
	return u.user(), u.Hash, nil
}

// EnsureUser returns the user of that name, creating it without a password
// (it cannot log in) if absent. Of several at once, one creates it and
// the others read what it created.
func (db *DB) EnsureUser(ctx context.Context, name string) (*claudebridge.User, error) {
	if name == "" {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "name: must not be empty")
	}
	for try := 0; ; try++ {
		u, err := db.userByName(ctx, name)
		if err != nil {
			return nil, internal("ensure user", err)
		}
		if u != nil {
			return u.user(), nil
		}
		made, taken, err := db.putUser(ctx, name, "")
		if err != nil {
			return nil, internal("ensure user", err)
		}
		if !taken {
			return made, nil
		}
		// Taken since the read, its user maybe not stored yet: read
		// again, a little later.
		if try == 20 {
			return nil, internal("ensure user", errors.New("the name's user did not appear"))
		}
		if err := backoff(ctx, try); err != nil {
			return nil, internal("ensure user", err)
		}
	}
}

// users reads every user (not the counter).
func (db *DB) users(ctx context.Context) ([]userItem, error) {
	var list []userItem
	err := db.scanAll(ctx, &dynamodb.ScanInput{TableName: db.table(usersTable.kind), ConsistentRead: aws.Bool(true),
		FilterExpression:          aws.String("#id > :zero"),
		ExpressionAttributeNames:  map[string]string{"#id": "id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": attrN(0)}}, &list)
	return list, err
}

// CountUsers counts the users that can log in (those with a password).
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	list, err := db.users(ctx)
	if err != nil {
		return 0, internal("count users", err)
	}
	n := 0
	for _, u := range list {
		if u.Hash != "" {
			n++
		}
	}
	return n, nil
}

// Users lists every user by name.
func (db *DB) Users(ctx context.Context) ([]claudebridge.User, error) {
	list, err := db.users(ctx)
	if err != nil {
		return nil, internal("users", err)
	}
	slices.SortFunc(list, func(a, b userItem) int { return strings.Compare(a.Name, b.Name) })
	out := make([]claudebridge.User, len(list))
	for i, u := range list {
		out[i] = *u.user()
	}
	return out, nil
}

// CreateSession stores a session token's hash for userID until expires;
// DynamoDB's TTL removes it some time after.
func (db *DB) CreateSession(ctx context.Context, userID int64, tokenHash string, expires time.Time) error {
	u, err := db.userByID(ctx, userID)
	if err != nil {
		return internal("create session", err)
	}
	if u == nil {
		return notFound("user")
	}
	item, err := attributevalue.MarshalMap(sessionItem{Token: tokenHash, User: userID, Gen: u.Gen,
		Expires: expires.UnixMicro(), TTL: expires.Unix() + 1})
	if err != nil {
		return internal("create session", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(sessionsTable.kind), Item: item})
	return internal("create session", err)
}

// SessionUser returns the user of a live session; EAUTH if none: no such
// session, expired (TTL removes items late), its user removed, or its
// user's password changed since it was made.
func (db *DB) SessionUser(ctx context.Context, tokenHash string) (*claudebridge.User, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(sessionsTable.kind), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"token": attrS(tokenHash)}})
	if err != nil {
		return nil, internal("session", err)
	}
	loggedOut := claudebridge.Errorf(claudebridge.EAUTH, "not logged in")
	if out.Item == nil {
		return nil, loggedOut
	}
	var s sessionItem
	if err := attributevalue.UnmarshalMap(out.Item, &s); err != nil {
		return nil, internal("session", err)
	}
	if s.Expires <= now().UnixMicro() {
		return nil, loggedOut
	}
	u, err := db.userByID(ctx, s.User)
	if err != nil {
		return nil, internal("session", err)
	}
	if u == nil || u.Gen != s.Gen {
		return nil, loggedOut
	}
	return u.user(), nil
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: db.table(sessionsTable.kind),
		Key: map[string]types.AttributeValue{"token": attrS(tokenHash)}})
	return internal("delete session", err)
}

// deleteSessions removes the session items of a user (already ended by
// its generation or its removal: this only sweeps them).
func (db *DB) deleteSessions(ctx context.Context, userID int64) error {
	var list []sessionItem
	if err := db.queryAll(ctx, &dynamodb.QueryInput{TableName: db.table(sessionsTable.kind), IndexName: aws.String("by-user"),
		KeyConditionExpression:    aws.String("#u = :u"),
		ExpressionAttributeNames:  map[string]string{"#u": "user"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": attrN(userID)}}, &list); err != nil {
		return err
	}
	var keys []map[string]types.AttributeValue
	for _, s := range list {
		keys = append(keys, map[string]types.AttributeValue{"token": attrS(s.Token)})
	}
	return db.deleteAll(ctx, db.table(sessionsTable.kind), keys)
}

// SetPassword replaces a user's password hash and ends the user's
// sessions. ENOTFOUND if there is no such user.
func (db *DB) SetPassword(ctx context.Context, name, passwordHash string) error {
	u, err := db.userByName(ctx, name)
	if err != nil {
		return internal("set password", err)
	}
	if u == nil {
		return notFound("user")
	}
	update := "SET #h = :h ADD #g :one"
	values := map[string]types.AttributeValue{":h": attrS(passwordHash), ":one": attrN(1)}
	if passwordHash == "" {
		update = "REMOVE #h ADD #g :one"
		delete(values, ":h")
	}
	_, err = db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(usersTable.kind),
		Key:                       map[string]types.AttributeValue{"id": attrN(u.ID)},
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(#id)"),
		ExpressionAttributeNames:  map[string]string{"#h": "hash", "#g": "gen", "#id": "id"},
		ExpressionAttributeValues: values})
	if conditionFailed(err) {
		return notFound("user")
	}
	if err != nil {
		return internal("set password", err)
	}
	return internal("set password", db.deleteSessions(ctx, u.ID))
}

// userDataRemovers remove the other records of a removed user that
// other files of this package keep: the ledger's entries (the user's
// usage).
var userDataRemovers = []func(ctx context.Context, db *DB, userID int64) error{
	func(ctx context.Context, db *DB, userID int64) error { return db.deleteLedgerOf(ctx, userID) }, // usage is the user's ledger entries
}

// DeleteUser removes a user with everything that is theirs: sessions,
// conversations with their messages, prompts, and what userDataRemovers
// remove. ENOTFOUND if there is no such user. The user goes first: from
// then on nothing reaches its records (its id is never given again), and
// the rest is a sweep that a failure half-way leaves unreachable. Its
// name goes next (a name left by a failure there is taken again after
// claimStale, as putUser says).
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	u, err := db.userByName(ctx, name)
	if err != nil {
		return internal("delete user", err)
	}
	if u == nil {
		return notFound("user")
	}
	_, err = db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: db.table(usersTable.kind),
		Key: map[string]types.AttributeValue{"id": attrN(u.ID)}, ConditionExpression: aws.String("attribute_exists(id)")})
	if conditionFailed(err) {
		return notFound("user") // removed meanwhile
	}
	if err != nil {
		return internal("delete user", err)
	}
	_, err = db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: db.table(userNamesTable.kind),
		Key:                       map[string]types.AttributeValue{"name": attrS(name)},
		ConditionExpression:       aws.String("#id = :id"),
		ExpressionAttributeNames:  map[string]string{"#id": "id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": attrN(u.ID)}})
	if err != nil && !conditionFailed(err) {
		return internal("delete user", err)
	}
	if err := db.deleteSessions(ctx, u.ID); err != nil {
		return internal("delete user", err)
	}
	if err := db.deleteUserConversations(ctx, u.ID); err != nil {
		return internal("delete user", err)
	}
	if err := db.deleteUserPrompts(ctx, u.ID); err != nil {
		return internal("delete user", err)
	}
	for _, remove := range userDataRemovers {
		if err := remove(ctx, db, u.ID); err != nil {
			return internal("delete user", err)
		}
	}
	return nil
}
