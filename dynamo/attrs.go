package dynamo

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The chat's items keep times as Unix microseconds (the resolution now()
// gives), 0 (absent) for the zero time.

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

func attrS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func attrN(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// queryAll runs a Query to its end, page after page, and decodes every
// item into out (a pointer to a slice).
func (db *DB) queryAll(ctx context.Context, in *dynamodb.QueryInput, out any) error {
	var items []map[string]types.AttributeValue
	for {
		page, err := db.client.Query(ctx, in)
		if err != nil {
			return err
		}
		items = append(items, page.Items...)
		if len(page.LastEvaluatedKey) == 0 {
			return attributevalue.UnmarshalListOfMaps(items, out)
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// scanAll is queryAll for a Scan.
func (db *DB) scanAll(ctx context.Context, in *dynamodb.ScanInput, out any) error {
	var items []map[string]types.AttributeValue
	for {
		page, err := db.client.Scan(ctx, in)
		if err != nil {
			return err
		}
		items = append(items, page.Items...)
		if len(page.LastEvaluatedKey) == 0 {
			return attributevalue.UnmarshalListOfMaps(items, out)
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// deleteAll deletes the items of keys from table, 25 (BatchWriteItem's
// limit) at a time, retrying what DynamoDB leaves unprocessed. Not atomic:
// callers delete what nothing reaches any more (a removed conversation's
// messages), so a failure half-way leaves only unreachable items.
func (db *DB) deleteAll(ctx context.Context, table *string, keys []map[string]types.AttributeValue) error {
	for len(keys) > 0 {
		n := min(len(keys), 25)
		var reqs []types.WriteRequest
		for _, k := range keys[:n] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
		}
		keys = keys[n:]
		pending := map[string][]types.WriteRequest{*table: reqs}
		for try := 0; len(pending) > 0; try++ {
			out, err := db.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return err
			}
			pending = out.UnprocessedItems
			if len(pending) > 0 {
				if err := backoff(ctx, try); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
