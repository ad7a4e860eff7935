package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/claudebridge/claudebridge"
)

// turn_leases holds one lease per process that runs turns, by owner: until
// when it is alive. DynamoDB's TTL removes a lease a day after it ended,
// for processes that died and no sweep saw; a sweep removes the ones it
// finds ended. A message's owner is kept on the message (messages.go).
var turnLeasesTable = tableDef{kind: "turn_leases", hash: keyAttr{"owner", types.ScalarAttributeTypeS}, ttl: "ttl"}

// leaseTTL is how long after its end DynamoDB may remove a lease: a lease
// a sweep has not seen end must outlive the grace of unclaimed messages.
const leaseTTL = 24 * time.Hour

type turnLeaseItem struct {
	Owner   string `dynamodbav:"owner"`
	Expires int64  `dynamodbav:"expires"`
	TTL     int64  `dynamodbav:"ttl"` // seconds, for DynamoDB's TTL sweep
}

var _ claudebridge.TurnLeaseService = (*DB)(nil)

// RenewTurnLease records that owner is alive until until.
func (db *DB) RenewTurnLease(ctx context.Context, owner string, until time.Time) error {
	if owner == "" {
		return claudebridge.Errorf(claudebridge.EINVALID, "a lease needs its owner")
	}
	item, err := attributevalue.MarshalMap(turnLeaseItem{Owner: owner, Expires: until.UnixMicro(), TTL: until.Add(leaseTTL).Unix()})
	if err != nil {
		return internal("renew lease", err)
	}
	_, err = db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: db.table(turnLeasesTable.kind), Item: item})
	return internal("renew lease", err)
}

func leaseKey(owner string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"owner": attrS(owner)}
}

// ReleaseTurnLease removes owner's lease.
func (db *DB) ReleaseTurnLease(ctx context.Context, owner string) error {
	if owner == "" {
		return nil
	}
	_, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: db.table(turnLeasesTable.kind), Key: leaseKey(owner)})
	return internal("release lease", err)
}

// ClaimMessage records owner as the process writing a message.
func (db *DB) ClaimMessage(ctx context.Context, messageID, owner string) error {
	_, err := db.updateMessage(ctx, messageID, &dynamodb.UpdateItemInput{UpdateExpression: aws.String("SET #owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": attrS(owner)}})
	return internal("claim message", err)
}

// InterruptLapsed marks the streaming messages of lapsed owners
// interrupted. The leases are few (one per process): one Scan reads them
// all. Each message is marked by an update conditional on its being as
// read (still streaming, same owner, not saved since), so that of
// concurrent sweeps each message goes to one, and a message saved or
// claimed since it was read is left to the next sweep.
func (db *DB) InterruptLapsed(ctx context.Context, at time.Time, grace time.Duration) ([]claudebridge.InterruptedMessage, error) {
	var leases []turnLeaseItem
	if err := db.scanAll(ctx, &dynamodb.ScanInput{TableName: db.table(turnLeasesTable.kind), ConsistentRead: aws.Bool(true)}, &leases); err != nil {
		return nil, internal("interrupt lapsed", err)
	}
	ends := map[string]int64{}
	for _, l := range leases {
		ends[l.Owner] = l.Expires
	}
	live, err := db.liveMessages(ctx)
	if err != nil {
		return nil, internal("interrupt lapsed", err)
	}
	cut, saved := at.UnixMicro(), at.Add(-grace).UnixMicro()
	marked := now()
	list := []claudebridge.InterruptedMessage{}
	for _, it := range live {
		end, leased := ends[it.Owner]
		if it.Owner == "" {
			leased = false
		}
		if leased && end > cut || !leased && it.Updated > saved {
			continue
		}
		cond := "#up = :seen AND attribute_not_exists(#owner)"
		values := map[string]types.AttributeValue{":seen": attrN(it.Updated)}
		if it.Owner != "" {
			cond = "#up = :seen AND #owner = :owner"
			values[":owner"] = attrS(it.Owner)
		}
		im, err := db.interrupt(ctx, it, marked, cond, map[string]string{"#owner": "owner"}, values)
		if err != nil {
			return nil, internal("interrupt lapsed", err)
		}
		if im != nil {
			list = append(list, *im)
		}
	}
	for _, l := range leases {
		if l.Expires > cut {
			continue
		}
		// A lease renewed since it was read is kept.
		_, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: db.table(turnLeasesTable.kind), Key: leaseKey(l.Owner),
			ConditionExpression:       aws.String("expires <= :cut"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":cut": attrN(cut)}})
		if err != nil && !conditionFailed(err) {
			return nil, internal("interrupt lapsed", err)
		}
	}
	return list, nil
}

// TurnStreaming reports whether userID's message of turnID is streaming:
// the live index names the candidates, the table says whether they still
// are.
func (db *DB) TurnStreaming(ctx context.Context, userID int64, turnID string) (bool, error) {
	live, err := db.liveMessages(ctx)
	if err != nil {
		return false, internal("turn streaming", err)
	}
	for _, it := range live {
		if it.Turn != turnID || it.User != userID {
			continue
		}
		out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: db.table(messagesTable.kind), Key: messageKey(it.Conv, it.Seq),
			ConsistentRead: aws.Bool(true)})
		if err != nil {
			return false, internal("turn streaming", err)
		}
		var stored messageItem
		if err := attributevalue.UnmarshalMap(out.Item, &stored); err != nil {
			return false, internal("turn streaming", err)
		}
		if out.Item != nil && stored.ID == it.ID && stored.Status == claudebridge.MessageStreaming && stored.Turn == turnID {
			return true, nil
		}
	}
	return false, nil
}
