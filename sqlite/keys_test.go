package sqlite

import (
	"context"
	"testing"

	"github.com/claudebridge/claudebridge"
)

func newKey(name string) *claudebridge.Key {
	_, prefix, hash := claudebridge.NewKeySecret()
	return &claudebridge.Key{Name: name, Prefix: prefix, Hash: hash}
}

func TestAKeyIsStoredWithItsLimitsAndListedByName(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	k := newKey("zeta")
	k.RPM, k.TPM, k.Concurrency = 2, 1000, 3
	k.BudgetUSD, k.BudgetPeriod, k.MaxCostPerRequest = 5, "month", 0.25
	k.Models = []string{"claude-haiku-4-5", "claude-sonnet-4-5"}
	if err := db.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKey(ctx, newKey("alpha")); err != nil {
		t.Fatal(err)
	}
	list, err := db.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 2; got != want {
		t.Fatalf("keys = %d, want %d", got, want)
	}
	if got, want := list[0].Name, "alpha"; got != want {
		t.Errorf("first key = %q, want %q", got, want)
	}
	z := list[1]
	if got, want := z.Hash, k.Hash; got != want {
		t.Errorf("hash = %q, want %q", got, want)
	}
	if got, want := z.Prefix, k.Prefix; got != want {
		t.Errorf("prefix = %q, want %q", got, want)
	}
	if got, want := z.RPM, 2; got != want {
		t.Errorf("rpm = %d, want %d", got, want)
	}
	if got, want := z.TPM, 1000; got != want {
		t.Errorf("tpm = %d, want %d", got, want)
	}
	if got, want := z.Concurrency, 3; got != want {
		t.Errorf("concurrency = %d, want %d", got, want)
	}
	if got, want := z.BudgetPeriod, "month"; got != want {
		t.Errorf("period = %q, want %q", got, want)
	}
	if got, want := z.MaxCostPerRequest, 0.25; got != want {
		t.Errorf("max cost = %v, want %v", got, want)
	}
	if got, want := len(z.Models), 2; got != want {
		t.Fatalf("models = %d, want %d", got, want)
	}
	if got, want := z.Models[1], "claude-sonnet-4-5"; got != want {
		t.Errorf("model = %q, want %q", got, want)
	}
	if z.Revoked() {
		t.Error("a new key is revoked")
	}
}

func TestAKeyNameIsTakenOnce(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	if err := db.CreateKey(ctx, newKey("ci")); err != nil {
		t.Fatal(err)
	}
	err := db.CreateKey(ctx, newKey("ci"))
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
}

func TestRevokingMarksTheKeyAndMovesTheVersion(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	v0, err := db.KeysVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKey(ctx, newKey("ci")); err != nil {
		t.Fatal(err)
	}
	v1, _ := db.KeysVersion(ctx)
	if v1 == v0 {
		t.Errorf("version after create = %d, unchanged", v1)
	}
	if err := db.RevokeKey(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	v2, _ := db.KeysVersion(ctx)
	if v2 == v1 {
		t.Errorf("version after revoke = %d, unchanged", v2)
	}
	list, _ := db.Keys(ctx)
	if !list[0].Revoked() {
		t.Error("the key is not revoked")
	}
	if got, want := claudebridge.ErrorCode(db.RevokeKey(ctx, "ci")), claudebridge.EINVALID; got != want {
		t.Errorf("second revoke: code = %q, want %q", got, want)
	}
	if got, want := claudebridge.ErrorCode(db.RevokeKey(ctx, "nobody")), claudebridge.ENOTFOUND; got != want {
		t.Errorf("unknown key: code = %q, want %q", got, want)
	}
}
