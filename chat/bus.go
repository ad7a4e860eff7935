package chat

import (
	"context"
	"sync"

	"github.com/claudebridge/claudebridge"
)

// MemoryBus is the claudebridge.TurnBus of one process: the chat servers
// that share it (one in serve on SQLite; several in tests, each standing
// for a process) show, stop and resume each other's turns. Events are
// delivered as they are published, in the publisher's goroutine.
type MemoryBus struct {
	mu     sync.Mutex
	owners map[string]claudebridge.TurnOwner
	subs   map[string]map[*memorySub]struct{}
}

type memorySub struct{ deliver func(claudebridge.TurnEvent) }

var _ claudebridge.TurnBus = (*MemoryBus)(nil)

// NewMemoryBus returns an empty bus.
func NewMemoryBus() *MemoryBus {
	return &MemoryBus{owners: map[string]claudebridge.TurnOwner{}, subs: map[string]map[*memorySub]struct{}{}}
}

// Own makes owner answer for turnID until release.
func (b *MemoryBus) Own(turnID string, owner claudebridge.TurnOwner) (release func()) {
	b.mu.Lock()
	b.owners[turnID] = owner
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.owners[turnID] == owner {
			delete(b.owners, turnID)
		}
	}
}

// Publish delivers events to their turns' subscribers. The lock is held
// while they are delivered: one turn's events reach each subscriber in
// order even when two publishers race.
func (b *MemoryBus) Publish(_ context.Context, events []claudebridge.TurnEvent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ev := range events {
		for sub := range b.subs[ev.TurnID] {
			sub.deliver(ev)
		}
	}
	return nil
}

// Subscribe delivers turnID's events from now until cancel.
func (b *MemoryBus) Subscribe(_ context.Context, turnID string, deliver func(claudebridge.TurnEvent)) (cancel func(), err error) {
	sub := &memorySub{deliver}
	b.mu.Lock()
	if b.subs[turnID] == nil {
		b.subs[turnID] = map[*memorySub]struct{}{}
	}
	b.subs[turnID][sub] = struct{}{}
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs[turnID], sub)
		if len(b.subs[turnID]) == 0 {
			delete(b.subs, turnID)
		}
	}, nil
}

// owner returns who answers for turnID; ENOTFOUND if none.
func (b *MemoryBus) owner(turnID string) (claudebridge.TurnOwner, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o := b.owners[turnID]; o != nil {
		return o, nil
	}
	return nil, claudebridge.Errorf(claudebridge.ENOTFOUND, "turn_id: no such turn")
}

// Snapshot asks turnID's owner for its deltas after seq.
func (b *MemoryBus) Snapshot(_ context.Context, turnID string, userID int64, after int) (claudebridge.TurnSnapshot, error) {
	o, err := b.owner(turnID)
	if err != nil {
		return claudebridge.TurnSnapshot{}, err
	}
	return o.Snapshot(userID, after)
}

// Stop asks turnID's owner to stop it.
func (b *MemoryBus) Stop(_ context.Context, turnID string, userID int64) error {
	o, err := b.owner(turnID)
	if err != nil {
		return err
	}
	return o.Stop(userID)
}
