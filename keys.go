package claudebridge

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// KeyPrefix begins every virtual key, so that a key found in a log or a
// repository is recognised for what it is (as "sk-ant-" is).
const KeyPrefix = "cb-"

// The names no virtual key may take: the metrics' "key" label gives them
// to the calls of a static key (API_KEYS, BEARER_TOKEN,
// BEDROCK_ACCESS_KEYS) and to those of no key, and a virtual key of either
// name would be counted with them.
const (
	StaticKeyName = "static"
	NoKeyName     = "none"
)

// Key is a virtual key: a client credential of the gateway's doors kept in
// the store, with its own limits. Only the SHA-256 of the secret is kept;
// the secret is shown once, when the key is made.
type Key struct {
	ID   int64
	Name string // unique, chosen by the admin
	// Prefix is the secret's first characters ("cb-" and 6 more): enough
	// to tell keys apart in a list, too few to guess the rest from.
	Prefix string
	// Hash is the hex SHA-256 of the secret. A random 32-byte secret needs
	// no slow hash: nothing can be guessed from its digest.
	Hash string

	// Per minute, per key; zero means no limit.
	RPM         int // requests
	TPM         int // input + output tokens
	Concurrency int // calls and streams in flight at once

	// BudgetUSD is the spending limit per BudgetPeriod ("day" or "month");
	// zero: none. Enforced at admission (limits.Entry.Admit, ledger.Budget).
	BudgetUSD    float64
	BudgetPeriod string
	// MaxCostPerRequest refuses a call whose worst case (its input
	// estimated locally plus max_tokens of output, at the model's price)
	// costs more, in US dollars; zero: no cap.
	MaxCostPerRequest float64
	// Models are the model ids the key may call; empty: every model. An
	// id allows the ids that name the same model in the model table (its
	// alias, its dated id, its Bedrock ids and profiles).
	Models []string

	CreatedAt time.Time
	RevokedAt time.Time // zero while the key is live
}

// Revoked reports whether the key has been revoked.
func (k *Key) Revoked() bool { return !k.RevokedAt.IsZero() }

// Validate returns EINVALID when a field is out of range.
func (k *Key) Validate() error {
	switch {
	case strings.TrimSpace(k.Name) == "" || k.Name != strings.TrimSpace(k.Name):
		return Errorf(EINVALID, "name: must not be empty or begin or end with spaces")
	case strings.ContainsAny(k.Name, "/?#"):
		return Errorf(EINVALID, "name: must not contain / ? or #")
	case k.Name == StaticKeyName || k.Name == NoKeyName:
		return Errorf(EINVALID, "name: %q is reserved: the metrics' key label names the calls of a static key %q and those of no key %q", k.Name, StaticKeyName, NoKeyName)
	case k.RPM < 0 || k.TPM < 0 || k.Concurrency < 0:
		return Errorf(EINVALID, "rpm, tpm, concurrency: must not be negative")
	case k.BudgetUSD < 0 || k.MaxCostPerRequest < 0:
		return Errorf(EINVALID, "budget_usd, max_cost_per_request: must not be negative")
	case k.BudgetUSD > 0 && k.BudgetPeriod != "day" && k.BudgetPeriod != "month":
		return Errorf(EINVALID, "period: must be day or month with a budget")
	case k.BudgetUSD == 0 && k.BudgetPeriod != "":
		return Errorf(EINVALID, "period: only with a budget")
	}
	for _, m := range k.Models {
		if strings.TrimSpace(m) == "" {
			return Errorf(EINVALID, "models: an empty model id")
		}
	}
	return nil
}

// NewKeySecret returns a new virtual key's secret ("cb-" and 32 random
// bytes in unpadded base64url), and its Prefix and Hash.
func NewKeySecret() (secret, prefix, hash string) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	secret = KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, secret[:len(KeyPrefix)+6], HashKey(secret)
}

// HashKey returns the hex SHA-256 of a key's secret, as Key.Hash keeps it.
func HashKey(secret string) string {
	d := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(d[:])
}

// KeyService stores virtual keys.
type KeyService interface {
	// CreateKey stores k (Hash and Prefix made by NewKeySecret), filling ID
	// and CreatedAt. EINVALID if k does not Validate or its name is taken,
	// by a revoked key too.
	CreateKey(ctx context.Context, k *Key) error
	// Keys returns every key, revoked ones included, by name.
	Keys(ctx context.Context) ([]Key, error)
	// RevokeKey revokes the key of that name; ENOTFOUND if there is none,
	// EINVALID if it is revoked already.
	RevokeKey(ctx context.Context, name string) error
	// KeysVersion returns a number that changes whenever a key is created
	// or revoked, by this process or another: a server reads it every
	// second and the keys only when it changed.
	KeysVersion(ctx context.Context) (int64, error)
}
