package dynamo

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.UsageService = (*DB)(nil)

// AddUsage appends a ledger entry of the chat for userID on model: u and
// its cost, at the start of day when day is not today (a crash's cut
// answer counted at the next start), else now; counted output tokens are
// marked as such. Usage sums the user's entries by day and model, as the
// usage view of sqlite and postgres does.
func (db *DB) AddUsage(ctx context.Context, userID int64, day, model string, u claudebridge.Usage, costUSD float64, counted bool) error {
	e := claudebridge.LedgerEntry{Time: now(), UserID: userID, Model: model, Door: "chat", CostUSD: costUSD, Status: 200}
	if d, err := time.Parse(time.DateOnly, day); err == nil && day != e.Time.Format(time.DateOnly) {
		e.Time = d
	}
	e.SetUsage(u)
	if counted {
		e.CountedOutputTokens = u.OutputTokens
	}
	return db.AppendLedger(ctx, []claudebridge.LedgerEntry{e})
}

// Usage returns userID's rows with from <= Day <= to (an empty bound
// open), by day then model: the user's ledger entries of those days, from
// the byUser index, summed.
func (db *DB) Usage(ctx context.Context, userID int64, from, to string) ([]claudebridge.UsageRow, error) {
	lo, hi := int64(0), int64(1<<62)
	if d, err := time.Parse(time.DateOnly, from); err == nil {
		lo = unixMicros(d)
	}
	if d, err := time.Parse(time.DateOnly, to); err == nil {
		hi = unixMicros(d.AddDate(0, 0, 1)) - 1
	}
	rows := map[[2]string]*claudebridge.UsageRow{}
	err := db.queryPages(ctx, &dynamodb.QueryInput{TableName: db.table(ledgerTable.kind), IndexName: aws.String("byUser"),
		KeyConditionExpression:    aws.String("#u = :u AND t BETWEEN :lo AND :hi"),
		ExpressionAttributeNames:  map[string]string{"#u": "user"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": number(userID), ":lo": number(lo), ":hi": number(hi)},
	}, func(item map[string]types.AttributeValue) error {
		var it ledgerItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		k := [2]string{it.Day, it.Model}
		r := rows[k]
		if r == nil {
			r = &claudebridge.UsageRow{Day: it.Day, Model: it.Model}
			rows[k] = r
		}
		r.Usage.InputTokens += it.InputTokens
		r.Usage.OutputTokens += it.OutputTokens
		r.Usage.CacheReadInputTokens += it.CacheReadTokens
		r.Usage.CacheCreationInputTokens += it.CacheWrite5mTokens + it.CacheWrite1hTokens
		r.Usage.CacheCreation.Ephemeral5mInputTokens += it.CacheWrite5mTokens
		r.Usage.CacheCreation.Ephemeral1hInputTokens += it.CacheWrite1hTokens
		r.CountedOutputTokens += it.CountedOutputTokens
		r.CostUSD += it.CostUSD
		return nil
	})
	if err != nil {
		return nil, internal("usage", err)
	}
	list := []claudebridge.UsageRow{}
	for _, r := range rows {
		list = append(list, *r)
	}
	slices.SortFunc(list, func(a, b claudebridge.UsageRow) int {
		if c := strings.Compare(a.Day, b.Day); c != 0 {
			return c
		}
		return strings.Compare(a.Model, b.Model)
	})
	return list, nil
}
