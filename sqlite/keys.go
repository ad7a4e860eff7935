package sqlite

import (
	"context"
	"strings"

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
	k.CreatedAt = now()
	res, err := db.ws.ExecContext(ctx, `INSERT INTO virtual_keys (name, prefix, hash, rpm, tpm, concurrency,
		budget_usd, budget_period, max_cost_per_request, models, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.Name, k.Prefix, k.Hash, k.RPM, k.TPM, k.Concurrency, k.BudgetUSD, k.BudgetPeriod, k.MaxCostPerRequest,
		strings.Join(k.Models, ","), nanos(k.CreatedAt))
	if isUnique(err) {
		return claudebridge.Errorf(claudebridge.EINVALID, "key %q exists", k.Name)
	}
	if err != nil {
		return internal("create key", err)
	}
	k.ID, err = res.LastInsertId()
	return internal("create key", err)
}

// Keys returns every key, revoked ones included, by name.
func (db *DB) Keys(ctx context.Context) ([]claudebridge.Key, error) {
	rows, err := db.rs.QueryContext(ctx, `SELECT id, name, prefix, hash, rpm, tpm, concurrency, budget_usd,
		budget_period, max_cost_per_request, models, created_at, revoked_at FROM virtual_keys ORDER BY name`)
	if err != nil {
		return nil, internal("keys", err)
	}
	defer rows.Close()
	var list []claudebridge.Key
	for rows.Next() {
		var k claudebridge.Key
		var models string
		var created, revoked int64
		if err := rows.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &k.RPM, &k.TPM, &k.Concurrency, &k.BudgetUSD,
			&k.BudgetPeriod, &k.MaxCostPerRequest, &models, &created, &revoked); err != nil {
			return nil, internal("keys", err)
		}
		if models != "" {
			k.Models = strings.Split(models, ",")
		}
		k.CreatedAt = fromNanos(created)
		if revoked != 0 {
			k.RevokedAt = fromNanos(revoked)
		}
		list = append(list, k)
	}
	return list, internal("keys", rows.Err())
}

// RevokeKey revokes the key of that name; ENOTFOUND if there is none,
// EINVALID if it is revoked already.
func (db *DB) RevokeKey(ctx context.Context, name string) error {
	res, err := db.ws.ExecContext(ctx, `UPDATE virtual_keys SET revoked_at = ? WHERE name = ? AND revoked_at = 0`, nanos(now()), name)
	if err != nil {
		return internal("revoke key", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var n int
	if err := db.rs.QueryRowContext(ctx, `SELECT count(*) FROM virtual_keys WHERE name = ?`, name).Scan(&n); err != nil {
		return internal("revoke key", err)
	}
	if n == 0 {
		return notFound("key")
	}
	return claudebridge.Errorf(claudebridge.EINVALID, "key %q is revoked already", name)
}

// KeysVersion returns the count of changes ever made to the keys: the
// table's triggers move it, whichever process made the change.
func (db *DB) KeysVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.rs.QueryRowContext(ctx, `SELECT version FROM virtual_keys_version`).Scan(&v)
	return v, internal("keys version", err)
}
