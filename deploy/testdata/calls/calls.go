// Package calls is made-up code for the test of the AWS call finder
// (deploy/awscalls_test.go): one call of each form it must find, and
// some it must not take for calls. It is never run.
package calls

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

type store struct{ db *dynamodb.Client }

// Direct is a method call on a client held in a field.
func (s *store) Direct(ctx context.Context) {
	s.db.GetItem(ctx, &dynamodb.GetItemInput{})
}

// Value takes a method value, called later.
func Value(ctx context.Context, c *bedrockruntime.Client) {
	invoke := c.InvokeModel
	invoke(ctx, &bedrockruntime.InvokeModelInput{})
}

// Paged and Waited call operations through the SDK's helpers.
func Paged(ctx context.Context, c *bedrock.Client, db *dynamodb.Client) {
	p := bedrock.NewListInferenceProfilesPaginator(c, &bedrock.ListInferenceProfilesInput{})
	p.NextPage(ctx)
	dynamodb.NewTableNotExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{}, time.Minute)
}

// NotCalls calls nothing of AWS.
func NotCalls(c *secretsmanager.Client) secretsmanager.Options {
	return c.Options()
}

// secrets would hide its calls from the finder, which says so.
type secrets interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ secrets = (*secretsmanager.Client)(nil)
