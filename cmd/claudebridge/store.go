package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/dynamo"
	"github.com/claudebridge/claudebridge/postgres"
	"github.com/claudebridge/claudebridge/sqlite"
)

// isDynamo reports a DynamoDB store's URL, dynamodb://TABLE_PREFIX.
func isDynamo(u string) bool { return strings.HasPrefix(u, "dynamodb://") }

// isPostgres reports a PostgreSQL URL, in either of libpq's schemes.
func isPostgres(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// openStore opens the store at location (databasePath's): PostgreSQL or
// DynamoDB for their URLs, else the SQLite file, creating its directory. It touches none
// of the rows: a command may run beside a serve on the same database,
// whose streaming answers are alive.
func openStore(ctx context.Context, location string) (claudebridge.Store, error) {
	if isPostgres(location) {
		return postgres.Open(ctx, location)
	}
	if isDynamo(location) {
		return dynamo.Open(ctx, location)
	}
	if err := os.MkdirAll(filepath.Dir(location), 0o700); err != nil {
		return nil, fmt.Errorf("database directory: %v", err)
	}
	return sqlite.Open(location)
}
