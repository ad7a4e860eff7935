package limits

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/models"
)

// Keyring is the live set of client keys: the static ones (API_KEYS,
// BEARER_TOKEN; no limits) and the live virtual keys of the store, each
// with its Limiter. Lookups read an immutable snapshot through one atomic
// load and never touch the store; Refresh replaces the snapshot when the
// store's KeysVersion moved, keeping the counts of keys whose limits stayed.
type Keyring struct {
	static   *claudebridge.ClientKeys
	store    claudebridge.KeyService // nil: static keys only
	now      func() time.Time
	spending Spending
	lease    *Lease // set: limiters count in lease's store, for every process

	refreshing sync.Mutex
	snap       atomic.Pointer[snapshot]
}

type snapshot struct {
	version int64
	keys    map[[sha256.Size]byte]*Entry // live virtual keys by their secret's digest
	byName  map[string]*Entry            // the same, by name
	stored  bool                         // the store has keys, revoked ones included
}

// Budget is a key's spending limit per period (ledger.Budget, kept out of
// this package so that the doors need not import the ledger).
type Budget interface {
	// ReserveCall reserves the worst case of a call of model with this
	// body and max_tokens for who, or refuses it (EINVALID,
	// cost.BudgetExceeded); settle, called once when the call ends,
	// charges what its usage cost instead.
	ReserveCall(ctx context.Context, who claudebridge.Caller, model string, body []byte, maxTokens int) (settle func(claudebridge.Usage), err error)
}

// Prices is the price table a key's per-request cap prices with
// (cost.Table, kept out of this package as Budget is, so that the doors
// need not import it).
type Prices interface {
	// WorstCase returns the most a call of model with this body and
	// max_tokens can cost on upstream, in US dollars; 0 for a model
	// without a known price.
	WorstCase(model, upstream string, body []byte, maxTokens int) float64
}

// Spending is what holds the keys to money: the price table of their
// per-request caps and the Budget of each key with a budget.
type Spending struct {
	// Prices prices a call's worst case for a key's MaxCostPerRequest:
	// the one table the ledger and MAX_COST_PER_REQUEST price with
	// (PRICES_FILE's). nil: keys' per-request caps are not enforced.
	Prices Prices
	// Upstream names the upstream the calls go to, for its prices.
	Upstream string
	// Budgets makes the Budget of a key with a budget (BudgetUSD > 0);
	// nil: budgets are not enforced.
	Budgets func(*claudebridge.Key) Budget
}

// Entry is one live virtual key, its limiter and its budget.
type Entry struct {
	Key     claudebridge.Key
	Limiter *Limiter
	// Budget holds the key's spending to Key.BudgetUSD per
	// Key.BudgetPeriod; nil for a key without a budget.
	Budget   Budget
	models   map[string]bool // Key.Models and the canonical ids they name; nil: every model
	prices   Prices          // of the key's per-request cap; nil: not enforced
	upstream string
}

func newEntry(key *claudebridge.Key, l *Limiter, s *Spending) *Entry {
	e := &Entry{Key: *key, Limiter: l, prices: s.Prices, upstream: s.Upstream}
	if len(key.Models) > 0 {
		e.models = map[string]bool{}
		for _, id := range key.Models {
			e.models[id] = true
			if m, ok := models.Lookup(id); ok {
				// The ids clients send most, so that they need no look-up.
				e.models[m.ID] = true
				if m.Alias != "" {
					e.models[m.Alias] = true
				}
			}
		}
	}
	return e
}

// AllowsModel reports whether the key may call model: a key without a
// model list may call any; else model must be on the list or name, in
// the model table, the same model as an id on it (so "claude-sonnet-4-5"
// allows "claude-sonnet-4-5-20250929" and its Bedrock profiles).
func (e *Entry) AllowsModel(model string) bool {
	if e.models == nil || e.models[model] {
		return true
	}
	m, ok := models.Lookup(model)
	return ok && e.models[m.ID]
}

// NewKeyring returns the keyring of static and, when store is not nil, the
// store's keys, read once now. now is the limiters' clock; nil: time.Now.
// spending prices the keys' per-request caps and makes their budgets;
// nil: neither is enforced.
func NewKeyring(ctx context.Context, static *claudebridge.ClientKeys, store claudebridge.KeyService, now func() time.Time, spending *Spending) (*Keyring, error) {
	return NewSharedKeyring(ctx, static, store, now, spending, nil)
}

// NewSharedKeyring is NewKeyring whose limiters count in lease's store
// (claudebridge.LimitService), together with every process on the same
// database, under lease; nil lease: in this process's memory, as
// NewKeyring's do.
func NewSharedKeyring(ctx context.Context, static *claudebridge.ClientKeys, store claudebridge.KeyService, now func() time.Time, spending *Spending, lease *Lease) (*Keyring, error) {
	k := &Keyring{static: static, store: store, now: now, lease: lease}
	if spending != nil {
		k.spending = *spending
	}
	k.snap.Store(&snapshot{version: -1})
	if err := k.Refresh(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Open reports whether no key at all is configured: no static key, and
// none in the store, revoked ones included. The doors then take every
// request, as they do without API_KEYS. Revoking the last key never opens
// them: once a store has had a key, the doors stay closed.
func (k *Keyring) Open() bool {
	return k.static == nil && !k.snap.Load().stored
}

// Lookup returns the virtual key whose secret is key, nil for a static key
// (or any key when Open), or EAUTH. The digest is looked up in a map: its
// timing tells at most something of a SHA-256 digest, never of a key.
func (k *Keyring) Lookup(key string) (*Entry, error) {
	s := k.snap.Load()
	if key != "" && len(s.keys) > 0 {
		if e := s.keys[sha256.Sum256([]byte(key))]; e != nil {
			return e, nil
		}
	}
	if k.static == nil && !s.stored {
		return nil, nil
	}
	if key == "" {
		return nil, claudebridge.Errorf(claudebridge.EAUTH, "x-api-key header or Authorization: Bearer is required")
	}
	if k.static != nil && k.static.Allow(key) {
		return nil, nil
	}
	return nil, claudebridge.Errorf(claudebridge.EAUTH, "invalid x-api-key")
}

// Named returns the live virtual key of that name, nil if none is (a
// revoked key, a static key's empty name).
func (k *Keyring) Named(name string) *Entry {
	return k.snap.Load().byName[name]
}

// Refresh reads the store's keys again if their version moved since the
// last read. Limiters of keys whose limits stayed keep their counts, and
// budgets that stayed keep their reservations; a changed budget reads the
// ledger afresh.
func (k *Keyring) Refresh(ctx context.Context) error {
	if k.store == nil {
		return nil
	}
	k.refreshing.Lock()
	defer k.refreshing.Unlock()
	old := k.snap.Load()
	v, err := k.store.KeysVersion(ctx)
	if err != nil || v == old.version {
		return err
	}
	list, err := k.store.Keys(ctx)
	if err != nil {
		return err
	}
	s := &snapshot{version: v, keys: make(map[[sha256.Size]byte]*Entry, len(list)), byName: make(map[string]*Entry, len(list)), stored: len(list) > 0}
	for i := range list {
		key := &list[i]
		if key.Revoked() {
			continue
		}
		var digest [sha256.Size]byte
		if n, err := hex.Decode(digest[:], []byte(key.Hash)); err != nil || n != sha256.Size {
			continue // not a digest: no secret can match it
		}
		l := k.newLimiter(key)
		if prev := old.keys[digest]; prev != nil && prev.Limiter.sameLimits(key) {
			l = prev.Limiter
		}
		e := newEntry(key, l, &k.spending)
		if key.BudgetUSD > 0 && k.spending.Budgets != nil {
			if prev := old.keys[digest]; prev != nil && prev.Budget != nil &&
				prev.Key.BudgetUSD == key.BudgetUSD && prev.Key.BudgetPeriod == key.BudgetPeriod {
				e.Budget = prev.Budget
			} else {
				e.Budget = k.spending.Budgets(key)
			}
		}
		s.keys[digest] = e
		s.byName[key.Name] = e
	}
	k.snap.Store(s)
	return nil
}

// newLimiter returns key's limiter, shared when the keyring is.
func (k *Keyring) newLimiter(key *claudebridge.Key) *Limiter {
	if k.lease != nil {
		return newSharedLimiter(key, k.now, k.lease)
	}
	return NewLimiter(key, k.now)
}

// Run calls Refresh every interval until ctx ends; a failed read is logged
// and tried again at the next tick, the keys last read staying in force.
func (k *Keyring) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if k.store == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.Refresh(ctx); err != nil && ctx.Err() == nil && log != nil {
				log.Warn("reading the virtual keys", "error", err)
			}
		}
	}
}
