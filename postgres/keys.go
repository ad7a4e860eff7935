package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.KeyService = (*DB)(nil)

// CreateKey stores k, filling ID and CreatedAt; EINVALID if it does not
// Validate, has no hash, or its name is taken (by a revoked key too).
func (db *DB) CreateKey(ctx context.Context, k *claudebridge.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if k.Hash == "" || k.Prefix == "" {
		return claudebridge.Errorf(claudebridge.EINVALID, "a key needs its hash and prefix")
	}
	created := now()
	var id int64
	err := db.pool.QueryRow(ctx, `INSERT INTO virtual_keys (name, prefix, hash, rpm, tpm, concurrency,
		budget_usd, budget_period, max_cost_per_request, models, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		k.Name, k.Prefix, k.Hash, k.RPM, k.TPM, k.Concurrency, k.BudgetUSD, k.BudgetPeriod, k.MaxCostPerRequest,
		strings.Join(k.Models, ","), created).Scan(&id)
	if isUnique(err) {
		return claudebridge.Errorf(claudebridge.EINVALID, "key %q exists", k.Name)
	}
	if err != nil {
		return internal("create key", err)
	}
	k.ID, k.CreatedAt = id, created
	return nil
}

// Keys returns every key, revoked ones included, by name (byte order, as
// SQLite sorts, whatever the database's collation).
func (db *DB) Keys(ctx context.Context) ([]claudebridge.Key, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, name, prefix, hash, rpm, tpm, concurrency, budget_usd,
		budget_period, max_cost_per_request, models, created_at, revoked_at
		FROM virtual_keys ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, internal("keys", err)
	}
	list, err := pgx.CollectRows(rows, scanKey)
	return list, internal("keys", err)
}

func scanKey(row pgx.CollectableRow) (claudebridge.Key, error) {
	var k claudebridge.Key
	var models string
	var revoked *time.Time
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &k.RPM, &k.TPM, &k.Concurrency, &k.BudgetUSD,
		&k.BudgetPeriod, &k.MaxCostPerRequest, &models, &k.CreatedAt, &revoked); err != nil {
		return k, err
	}
	if models != "" {
		k.Models = strings.Split(models, ",")
	}
	k.CreatedAt = utc(k.CreatedAt)
	if revoked != nil {
		k.RevokedAt = utc(*revoked)
	}
	return k, nil
}

// RevokeKey revokes the key of that name; ENOTFOUND if there is none,
// EINVALID if it is revoked already.
func (db *DB) RevokeKey(ctx context.Context, name string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE virtual_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL`, now(), name)
	if err != nil {
		return internal("revoke key", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM virtual_keys WHERE name = $1)`, name).Scan(&exists); err != nil {
		return internal("revoke key", err)
	}
	if !exists {
		return notFound("key")
	}
	return claudebridge.Errorf(claudebridge.EINVALID, "key %q is revoked already", name)
}

// KeysVersion returns the count of statements that ever changed the keys:
// the table's trigger moves it in the changing transaction, whichever
// process made the change, so a reader sees it move exactly when it can
// see the change.
func (db *DB) KeysVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.pool.QueryRow(ctx, `SELECT version FROM virtual_keys_version`).Scan(&v)
	return v, internal("keys version", err)
}
