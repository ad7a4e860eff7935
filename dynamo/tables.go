package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// tableDef is one table: its kind (the name after the prefix), its key,
// its global secondary indexes and its TTL attribute ("" for none). Every
// key attribute is a string ("S") or a number ("N"). template.yaml makes
// the same tables; a test holds the two together.
type tableDef struct {
	kind    string
	hash    keyAttr
	rng     *keyAttr // nil: no sort key
	indexes []indexDef
	ttl     string
}

type keyAttr struct {
	name string
	typ  types.ScalarAttributeType
}

type indexDef struct {
	name string
	hash keyAttr
	rng  *keyAttr
}

// tables are every table of the store. Each kind's file says what it keeps
// in its table and how.
var tables = []tableDef{
	usersTable,
	userNamesTable,
	sessionsTable,
	conversationsTable,
	messagesTable,
	messageIDsTable,
	promptsTable,
	turnLeasesTable,
	conversationTurnsTable,
	socketTicketsTable,
	socketConnectionsTable,
	turnRequestsTable,
	keysTable,
	ledgerTable,
	batchesTable,
	batchRequestsTable,
	rateWindowsTable,
	limitSlotsTable,
	limitLeasesTable,
	budgetHoldsTable,
}

// input is the CreateTable call of t, on-demand.
func (t tableDef) input(name *string) *dynamodb.CreateTableInput {
	attrs := map[string]types.ScalarAttributeType{}
	keys := func(hash keyAttr, rng *keyAttr) []types.KeySchemaElement {
		attrs[hash.name] = hash.typ
		k := []types.KeySchemaElement{{AttributeName: &hash.name, KeyType: types.KeyTypeHash}}
		if rng != nil {
			attrs[rng.name] = rng.typ
			k = append(k, types.KeySchemaElement{AttributeName: &rng.name, KeyType: types.KeyTypeRange})
		}
		return k
	}
	in := &dynamodb.CreateTableInput{TableName: name, BillingMode: types.BillingModePayPerRequest, KeySchema: keys(t.hash, t.rng)}
	for _, ix := range t.indexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: &ix.name, KeySchema: keys(ix.hash, ix.rng), Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}})
	}
	for n, typ := range attrs {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: &n, AttributeType: typ})
	}
	return in
}

// Table is one table of the store as template.yaml must make it: its
// CreateTable input (named with the prefix given) and its TTL attribute.
type Table struct {
	Input *dynamodb.CreateTableInput
	TTL   string // "" for none
}

// Tables lists every table of the store with the names prefix gives them,
// for the test that holds template.yaml to the code.
func Tables(prefix string) []Table {
	db := &DB{prefix: prefix}
	var list []Table
	for _, t := range tables {
		list = append(list, Table{Input: t.input(db.table(t.kind)), TTL: t.ttl})
	}
	return list
}
