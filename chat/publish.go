package chat

import (
	"context"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
)

// publishEvery is how long a turn's deltas wait to go on the bus: a
// batch per turn per interval (most of a second's deltas in one message)
// instead of one message per delta, at a delay followers do not notice.
const publishEvery = 25 * time.Millisecond

// publisher puts the local turns' news on the bus, every publishEvery
// while some turn has news, in one Publish for all of them. One flush at a
// time: a turn's events go out in order.
type publisher struct {
	s *Server

	mu    sync.Mutex
	dirty map[*turn]struct{}
	timer *time.Timer // the next flush, nil when none is due

	flushing sync.Mutex
}

// mark says t has news to publish. Not called with t.mu held.
func (p *publisher) mark(t *turn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dirty == nil {
		p.dirty = map[*turn]struct{}{}
	}
	p.dirty[t] = struct{}{}
	if p.timer == nil {
		p.timer = time.AfterFunc(publishEvery, p.flush)
	}
}

// flush publishes what the marked turns have not published yet.
func (p *publisher) flush() {
	p.flushing.Lock()
	defer p.flushing.Unlock()
	p.mu.Lock()
	dirty := p.dirty
	p.dirty, p.timer = nil, nil
	p.mu.Unlock()
	events := make([]claudebridge.TurnEvent, 0, len(dirty))
	for t := range dirty {
		if ev, ok := t.unpublished(); ok {
			events = append(events, ev)
		}
	}
	if len(events) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.s.bus.Publish(ctx, events); err != nil {
		// Followers elsewhere see a gap and ask the turn for a snapshot.
		p.s.log.Warn("chat: publishing turns' deltas", "turns", len(events), "err", err)
	}
}

// unpublished returns the deltas (and the end) t has not published yet.
// The deltas of a turn no follower asked a snapshot of are passed over:
// its pages are this process's sockets, which read the turn itself, and a
// follower elsewhere starts from a snapshot (turnOwner.Snapshot). Most
// turns are followed only where they run, and their deltas were most of
// the bus's messages, each one read by every process; such a turn marks
// the publisher only as it ends. The end always goes: it is one message
// per turn.
func (t *turn) unpublished() (claudebridge.TurnEvent, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.deltas)
	if !t.followed {
		t.published = n // passed over
	}
	ev := claudebridge.TurnEvent{TurnID: t.id, After: t.published, Deltas: t.deltas[t.published:n:n]}
	t.published = n
	if t.done != nil && !t.endPublished {
		ev.End, t.endPublished = t.done.end(), true
	}
	return ev, len(ev.Deltas) > 0 || ev.End != nil
}

// end is f as the bus carries it.
func (f *doneFrame) end() *claudebridge.TurnEnd {
	return &claudebridge.TurnEnd{Seq: f.Seq, Status: f.Status, Error: f.Error, Usage: f.Usage,
		OutputTokensCounted: f.OutputTokensCounted, CostUSD: f.CostUSD}
}

// doneOf is the done frame of a turn's end told by the bus; seq stands
// for an end of unknown seq (the turn's process died).
func doneOf(turnID string, e *claudebridge.TurnEnd, seq int) doneFrame {
	if e.Seq >= 0 {
		seq = e.Seq
	}
	return doneFrame{Type: "done", TurnID: turnID, Seq: seq, Status: e.Status, Error: e.Error, Usage: e.Usage,
		OutputTokensCounted: e.OutputTokensCounted, CostUSD: e.CostUSD}
}

// turnOwner answers for a local turn on the bus.
type turnOwner struct{ t *turn }

func (o turnOwner) Snapshot(userID int64, after int) (claudebridge.TurnSnapshot, error) {
	if userID != o.t.userID {
		return claudebridge.TurnSnapshot{}, claudebridge.Errorf(claudebridge.ENOTFOUND, "turn_id: no such turn")
	}
	after = max(after, 0)
	deltas, done := o.t.follow(after)
	snap := claudebridge.TurnSnapshot{After: after, Deltas: deltas}
	if done != nil {
		snap.End = done.end()
	}
	return snap, nil
}

// follow is since for a follower that will read the rest on the bus: the
// turn's deltas go on the bus from now on, those past the snapshot first.
func (t *turn) follow(after int) ([]string, *doneFrame) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.deltas)
	if !t.followed {
		// What was passed over is in the snapshot.
		t.followed, t.published = true, n
	}
	var deltas []string
	if after < n {
		deltas = t.deltas[after:n:n]
	}
	return deltas, t.done
}

func (o turnOwner) Stop(userID int64) error {
	if userID != o.t.userID {
		return claudebridge.Errorf(claudebridge.ENOTFOUND, "turn_id: no such turn")
	}
	o.t.stop(errStopped)
	return nil
}

// publishInterrupted tells the followers of swept answers' turns, in any
// process, that they ended interrupted.
func (s *Server) publishInterrupted(ctx context.Context, list []claudebridge.InterruptedMessage) {
	var events []claudebridge.TurnEvent
	for _, im := range list {
		if im.Message.TurnID != "" {
			events = append(events, claudebridge.TurnEvent{TurnID: im.Message.TurnID,
				End: &claudebridge.TurnEnd{Seq: -1, Status: claudebridge.MessageInterrupted, Usage: im.Message.Usage}})
		}
	}
	if len(events) == 0 {
		return
	}
	if err := s.bus.Publish(ctx, events); err != nil {
		s.log.Warn("chat: telling followers of interrupted answers", "err", err)
	}
}
