package dynamo

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.KeyService = (*DB)(nil)

// keysTable keeps the virtual keys in one partition (pk "key"), sorted by
// name, so that Keys is one Query and a name is unique by a conditional
// put; and, in partition "meta", the counter of key IDs and KeysVersion.
// A key's name cannot contain "#", so no key is confused with the rest.
var keysTable = tableDef{kind: "keys", hash: keyAttr{"pk", types.ScalarAttributeTypeS}, rng: &keyAttr{"name", types.ScalarAttributeTypeS}}

const keysPartition = "key"

var keysMeta = map[string]types.AttributeValue{
	"pk": &types.AttributeValueMemberS{Value: "meta"}, "name": &types.AttributeValueMemberS{Value: "counters"},
}

type keyItem struct {
	PK                string   `dynamodbav:"pk"`
	Name              string   `dynamodbav:"name"`
	ID                int64    `dynamodbav:"id"`
	Prefix            string   `dynamodbav:"prefix"`
	Hash              string   `dynamodbav:"hash"`
	RPM               int      `dynamodbav:"rpm,omitempty"`
	TPM               int      `dynamodbav:"tpm,omitempty"`
	Concurrency       int      `dynamodbav:"concurrency,omitempty"`
	BudgetUSD         float64  `dynamodbav:"budgetUSD,omitempty"`
	BudgetPeriod      string   `dynamodbav:"budgetPeriod,omitempty"`
	MaxCostPerRequest float64  `dynamodbav:"maxCostPerRequest,omitempty"`
	Models            []string `dynamodbav:"models,omitempty"`
	CreatedAt         int64    `dynamodbav:"createdAt,omitempty"`
	RevokedAt         int64    `dynamodbav:"revokedAt,omitempty"`
}

// CreateKey stores k, filling ID and CreatedAt; EINVALID if it does not
// Validate, has no hash, or its name is taken (by a revoked key too). The
// ID comes from an atomic counter first: a refused name leaves a gap.
func (db *DB) CreateKey(ctx context.Context, k *claudebridge.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if k.Hash == "" || k.Prefix == "" {
		return claudebridge.Errorf(claudebridge.EINVALID, "a key needs its hash and prefix")
	}
	id, err := db.addCounter(ctx, db.table(keysTable.kind), keysMeta, "lastID")
	if err != nil {
		return internal("create key", err)
	}
	created := now()
	item, err := attributevalue.MarshalMap(keyItem{PK: keysPartition, Name: k.Name, ID: id, Prefix: k.Prefix, Hash: k.Hash,
		RPM: k.RPM, TPM: k.TPM, Concurrency: k.Concurrency, BudgetUSD: k.BudgetUSD, BudgetPeriod: k.BudgetPeriod,
		MaxCostPerRequest: k.MaxCostPerRequest, Models: k.Models, CreatedAt: unixMicros(created)})
	if err != nil {
		return internal("create key", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(keysTable.kind), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(#n)"), ExpressionAttributeNames: map[string]string{"#n": "name"}})
	if conditionFailed(err) {
		return claudebridge.Errorf(claudebridge.EINVALID, "key %q exists", k.Name)
	}
	if err != nil {
		return internal("create key", err)
	}
	k.ID, k.CreatedAt = id, created
	return db.keysChanged(ctx)
}

// keysChanged moves KeysVersion, after the change is stored: a server that
// sees the new version reads the keys with the change. (dynalite, the
// tests' DynamoDB, has no TransactWriteItems to make the two one write; a
// crash between them leaves the change unseen until the next one.)
func (db *DB) keysChanged(ctx context.Context) error {
	_, err := db.addCounter(ctx, db.table(keysTable.kind), keysMeta, "version")
	return internal("keys version", err)
}

// Keys returns every key, revoked ones included, by name.
func (db *DB) Keys(ctx context.Context) ([]claudebridge.Key, error) {
	var list []claudebridge.Key
	err := db.queryPages(ctx, &dynamodb.QueryInput{TableName: db.table(keysTable.kind), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: keysPartition}},
	}, func(item map[string]types.AttributeValue) error {
		var it keyItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		list = append(list, claudebridge.Key{ID: it.ID, Name: it.Name, Prefix: it.Prefix, Hash: it.Hash, RPM: it.RPM, TPM: it.TPM,
			Concurrency: it.Concurrency, BudgetUSD: it.BudgetUSD, BudgetPeriod: it.BudgetPeriod, MaxCostPerRequest: it.MaxCostPerRequest,
			Models: it.Models, CreatedAt: fromUnixMicros(it.CreatedAt), RevokedAt: fromUnixMicros(it.RevokedAt)})
		return nil
	})
	return list, internal("keys", err)
}

// RevokeKey revokes the key of that name; ENOTFOUND if there is none,
// EINVALID if it is revoked already.
func (db *DB) RevokeKey(ctx context.Context, name string) error {
	key := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: keysPartition}, "name": &types.AttributeValueMemberS{Value: name},
	}
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: db.table(keysTable.kind), Key: key,
		UpdateExpression:          aws.String("SET revokedAt = :t"),
		ConditionExpression:       aws.String("attribute_exists(#n) AND attribute_not_exists(revokedAt)"),
		ExpressionAttributeNames:  map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": number(unixMicros(now()))},
	})
	if conditionFailed(err) {
		got, gerr := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(keysTable.kind), Key: key, ConsistentRead: aws.Bool(true)})
		if gerr != nil {
			return internal("revoke key", gerr)
		}
		if got.Item == nil {
			return notFound("key")
		}
		return claudebridge.Errorf(claudebridge.EINVALID, "key %q is revoked already", name)
	}
	if err != nil {
		return internal("revoke key", err)
	}
	return db.keysChanged(ctx)
}

// KeysVersion returns the count of key creations and revocations ever
// made, by any process: a counter item that each change moves.
func (db *DB) KeysVersion(ctx context.Context) (int64, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(keysTable.kind), Key: keysMeta,
		ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("version")})
	if err != nil {
		return 0, internal("keys version", err)
	}
	return numberOf(out.Item["version"]), nil
}

// addCounter adds one to the number attribute attr of the item at key and
// returns its new value: an atomic counter, whichever process calls.
func (db *DB) addCounter(ctx context.Context, table *string, key map[string]types.AttributeValue, attr string) (int64, error) {
	return db.addCounterBy(ctx, table, key, attr, 1)
}

// addCounterBy is addCounter adding n: it gives the n values up to the
// one it returns.
func (db *DB) addCounterBy(ctx context.Context, table *string, key map[string]types.AttributeValue, attr string, n int64) (int64, error) {
	out, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key,
		UpdateExpression:          aws.String("ADD #c :n"),
		ExpressionAttributeNames:  map[string]string{"#c": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": number(n)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, err
	}
	return numberOf(out.Attributes[attr]), nil
}

// number is a Number attribute value.
func number[T int | int64 | float64](n T) types.AttributeValue {
	switch v := any(n).(type) {
	case float64:
		return &types.AttributeValueMemberN{Value: strconv.FormatFloat(v, 'g', -1, 64)}
	case int:
		return &types.AttributeValueMemberN{Value: strconv.Itoa(v)}
	default:
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v.(int64), 10)}
	}
}

// numberOf reads an integer Number attribute; 0 when absent.
func numberOf(v types.AttributeValue) int64 {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	i, _ := strconv.ParseInt(n.Value, 10, 64)
	return i
}
