// Package dynamo stores everything claudebridge keeps in Amazon DynamoDB,
// through the AWS SDK for Go v2, for claudebridge on AWS Lambda (SAM makes
// the tables): users and sessions, conversations and messages, prompts,
// keys, the ledger, batches, limits and leases, and what the chat's
// WebSockets share (sockets.go). It implements the store interfaces of
// package claudebridge, as packages sqlite and postgres do.
//
// DATABASE_URL=dynamodb://PREFIX names it: one table per kind of record,
// PREFIX-users, PREFIX-messages, ... (tables.go), on-demand billing, TTL
// where records expire. Region, credentials and endpoint come from the AWS
// default chain (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_DYNAMODB for
// DynamoDB Local or dynalite). With ?create=true, Open makes the tables
// that are missing (local use and tests); without it they must exist.
package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.Store = (*DB)(nil)

// DB is a store on DynamoDB.
type DB struct {
	client *dynamodb.Client
	prefix string
}

// Open opens the store of a dynamodb://PREFIX URL.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "dynamodb" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, errors.New("dynamo: DATABASE_URL must be dynamodb://TABLE_PREFIX")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("dynamo: AWS configuration: %w", err)
	}
	db := &DB{client: dynamodb.NewFromConfig(cfg), prefix: u.Host}
	if u.Query().Get("create") == "true" {
		if err := db.createTables(ctx); err != nil {
			return nil, fmt.Errorf("dynamo: making the tables: %w", err)
		}
	}
	return db, nil
}

// Close releases nothing: the client holds no connection of its own.
func (db *DB) Close() error { return nil }

// table is the name of the table of a kind of record.
func (db *DB) table(kind string) *string { return aws.String(db.prefix + "-" + kind) }

// createTables makes every table of tables.go that is missing, on-demand,
// with its TTL attribute, and waits until each is active.
func (db *DB) createTables(ctx context.Context) error {
	for _, t := range tables {
		name := db.table(t.kind)
		_, err := db.client.CreateTable(ctx, t.input(name))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("%s: %w", *name, err)
		}
		// The waiter's default first delay is 20 s; dynalite and
		// DynamoDB make a table in well under that.
		waiter := dynamodb.NewTableExistsWaiter(db.client, func(o *dynamodb.TableExistsWaiterOptions) {
			o.MinDelay, o.MaxDelay = 100*time.Millisecond, 5*time.Second
		})
		if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: name}, time.Minute); err != nil {
			return fmt.Errorf("%s: %w", *name, err)
		}
		if t.ttl != "" {
			_, err := db.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: name,
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.ttl), Enabled: aws.Bool(true)}})
			// dynalite has no TTL (UnknownOperationException): readers
			// check expiries themselves, so a table without it still works.
			var api smithy.APIError
			unknown := errors.As(err, &api) && api.ErrorCode() == "UnknownOperationException"
			if err != nil && !unknown && !strings.Contains(err.Error(), "TimeToLive is already enabled") {
				return fmt.Errorf("%s: TTL: %w", *name, err)
			}
		}
	}
	return nil
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// now is the time stored for a change: UTC, to the microsecond, as the
// other stores keep it, so that a record reads back as it was written and
// copies between stores compare equal.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func notFound(what string) error {
	return claudebridge.Errorf(claudebridge.ENOTFOUND, "%s not found", what)
}

// internal wraps a DynamoDB failure: its text stays in logs, the client
// sees "Internal server error".
func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *claudebridge.Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("dynamo: %s: %w", op, err)
}

// conditionFailed reports a conditional write whose condition was false.
func conditionFailed(err error) bool {
	var c *types.ConditionalCheckFailedException
	return errors.As(err, &c)
}
