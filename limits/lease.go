package limits

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
)

// LeaseTTL is how long a process's slots and budget holds outlive its last
// renewal: a crashed process's calls stop counting against their keys'
// concurrency and budgets within it. Leases are renewed every third of it.
const LeaseTTL = 15 * time.Second

// Lease is this process's lease in a store that counts limits for several
// processes (claudebridge.LimitService): the slots of calls in flight and
// the budget holds it takes count while Run renews it, and no longer once
// it lapses.
type Lease struct {
	// Holder names this process in the store: random, made by NewLease.
	Holder string
	store  claudebridge.LimitService
	now    func() time.Time

	mu      sync.Mutex
	pending []int64 // slots whose release failed, freed at the next renewal
}

// NewLease takes a new lease in store, live for LeaseTTL. now is the
// clock; nil: time.Now.
func NewLease(ctx context.Context, store claudebridge.LimitService, now func() time.Time) (*Lease, error) {
	if now == nil {
		now = time.Now
	}
	b := make([]byte, 12)
	rand.Read(b)
	l := &Lease{Holder: "lease_" + hex.EncodeToString(b), store: store, now: now}
	return l, l.Renew(ctx)
}

// Renew extends the lease by LeaseTTL from now, and frees the slots whose
// release failed before.
func (l *Lease) Renew(ctx context.Context) error {
	t := l.now()
	if err := l.store.RenewLease(ctx, l.Holder, t, t.Add(LeaseTTL)); err != nil {
		return err
	}
	l.mu.Lock()
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	for i, slot := range pending {
		if err := l.store.ReleaseSlot(ctx, slot); err != nil {
			l.mu.Lock()
			l.pending = append(l.pending, pending[i:]...)
			l.mu.Unlock()
			return err
		}
	}
	return nil
}

// Run renews the lease every third of LeaseTTL until ctx ends. A failed
// renewal is logged and tried again at the next tick. ctx should outlive
// the calls in flight (a server's drain): their slots lapse with it.
func (l *Lease) Run(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := l.Renew(ctx); err != nil && ctx.Err() == nil && log != nil {
				log.Warn("renewing the limits' lease", "error", err)
			}
		}
	}
}

// End makes the lease lapse now, so that what it held is freed at once
// rather than LeaseTTL later.
func (l *Lease) End(ctx context.Context) error {
	now := l.now()
	return l.store.RenewLease(ctx, l.Holder, now, now)
}

// end ends a call (LimitService.EndCall): frees its slot and settles its
// window by delta tokens. A slot whose release fails is freed at the next
// renewal instead, not left held while the lease lives; a failed
// correction leaves the estimate counted: the window closes within a
// minute.
func (l *Lease) end(key string, slot int64, opened time.Time, delta int) {
	if slot == 0 && (delta == 0 || opened.IsZero()) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.store.EndCall(ctx, key, slot, opened, delta); err != nil && slot != 0 {
		l.mu.Lock()
		l.pending = append(l.pending, slot)
		l.mu.Unlock()
	}
}
