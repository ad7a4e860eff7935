package chat

import (
	"context"
	"time"

	"github.com/claudebridge/claudebridge"
)

// Turns across processes: each process (each Server) has an owner id, its
// turns claim their messages for it, and it renews a lease of its own in
// the store every Lease/3. Every process also sweeps: the streaming
// messages of an owner whose lease lapsed (a process killed mid-turn) are
// marked interrupted, so that they can be continued anywhere.

func newOwnerID() string { return randomID("owner_") }

// keepLease renews s's lease and sweeps lapsed ones at once, then every
// Lease/3, until stop is closed. When renewals fail until the lease would
// lapse before the next one, the local turns are stopped (stored
// interrupted, if the store can be reached): the other processes will
// take them for dead, and their answers may be continued elsewhere.
func (s *Server) keepLease(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	every := s.opts.Lease / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	renewed := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), every)
		now := time.Now()
		if err := s.opts.Leases.RenewTurnLease(ctx, s.owner, now.Add(s.opts.Lease)); err != nil {
			s.log.Warn("chat: renewing this process's lease", "err", err)
			if time.Since(renewed)+every >= s.opts.Lease {
				s.turns.stopAll(errLeaseLost)
			}
		} else {
			renewed = now
		}
		if err := s.sweep(ctx, time.Now()); err != nil {
			s.log.Warn("chat: marking the answers of lapsed processes interrupted", "err", err)
		}
		cancel()
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// sweep marks interrupted the answers whose process's lease ended by at
// (or that no live process claimed within Lease), and counts their output
// tokens from their text.
func (s *Server) sweep(ctx context.Context, at time.Time) error {
	_, err := s.sweepList(ctx, at)
	return err
}

// sweepList is sweep, returning the answers it marked.
func (s *Server) sweepList(ctx context.Context, at time.Time) ([]claudebridge.InterruptedMessage, error) {
	list, err := s.opts.Leases.InterruptLapsed(ctx, at, s.opts.Lease)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	s.log.Warn("chat: answers of a process whose lease lapsed marked interrupted", "count", len(list))
	// Counted first: the pages told reload the answers.
	err = RecordInterrupted(ctx, s.opts.Conversations, s.opts.Usage, list)
	s.publishInterrupted(ctx, list)
	return list, err
}

// stopElsewhere asks, through the bus, the processes writing answers in a
// conversation to stop them (it is being deleted). Their answer is not
// awaited: the deletion goes on, and a turn whose process died is not
// waited for either.
func (s *Server) stopElsewhere(ctx context.Context, userID int64, convID string) {
	msgs, err := s.opts.Conversations.Messages(ctx, userID, convID)
	if err != nil {
		return
	}
	for _, m := range msgs {
		if m.Status != claudebridge.MessageStreaming || m.TurnID == "" {
			continue
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			s.bus.Stop(ctx, m.TurnID, userID)
		}()
	}
}

// orphaned reports whether a turn no process answers for (err, from the
// bus) is still streaming in the store: its process died, and a sweep
// will mark it interrupted once its lease lapses. A page told "unknown"
// would reload the answer, see it streaming and ask again, until then.
func (s *Server) orphaned(ctx context.Context, userID int64, turnID string, err error) bool {
	if s.opts.Leases == nil || claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		return false
	}
	streaming, err := s.opts.Leases.TurnStreaming(ctx, userID, turnID)
	return err == nil && streaming
}

// claim records this process as the writer of a message; without
// Options.Leases there is nothing to record.
func (s *Server) claim(ctx context.Context, messageID string) error {
	if s.opts.Leases == nil {
		return nil
	}
	return s.opts.Leases.ClaimMessage(ctx, messageID, s.owner)
}

// stopLease stops the lease's renewal and, if release, removes it: the
// turns have ended and are stored, so none of this process's messages is
// left streaming.
func (s *Server) stopLease(ctx context.Context, release bool) {
	if s.leaseStop == nil {
		return
	}
	close(s.leaseStop)
	<-s.leaseStopped
	s.leaseStop = nil
	if !release {
		return
	}
	if err := s.opts.Leases.ReleaseTurnLease(ctx, s.owner); err != nil {
		s.log.Warn("chat: releasing this process's lease", "err", err)
	}
}

// hold reserves a conversation in the store for this process before a turn
// changes anything in it, so that no other process sharing the store
// starts a turn there meanwhile; without Options.Leases the reservation in
// memory is the whole of it.
func (s *Server) hold(ctx context.Context, convID string) error {
	if s.opts.Leases == nil {
		return nil
	}
	ok, err := s.opts.Leases.ReserveConversation(ctx, convID, s.owner, time.Now())
	if err != nil {
		return err
	}
	if !ok {
		return errBusy
	}
	return nil
}

// holdAndSave holds a conversation for a turn and then, if changed, saves
// its title, model and prompt: a turn refused because the conversation is
// busy changes nothing.
func (s *Server) holdAndSave(ctx context.Context, conv *claudebridge.Conversation, changed bool) error {
	if err := s.hold(ctx, conv.ID); err != nil {
		return err
	}
	if !changed {
		return nil
	}
	return s.opts.Conversations.UpdateConversation(ctx, conv)
}

// turnStarter is the conversations' store, when it stores a turn's start
// and end in one step each and holds conversations for this process.
func (s *Server) turnStarter() (claudebridge.TurnStarter, bool) {
	ts, ok := s.opts.Conversations.(claudebridge.TurnStarter)
	return ts, ok && s.opts.Leases != nil
}

// storeStart stores what a turn stores before it calls the upstream: in
// one step on a store that can (it returns the conversation's messages
// then), else step by step (it returns nil).
func (s *Server) storeStart(ctx context.Context, st *claudebridge.TurnStart) ([]claudebridge.Message, error) {
	if ts, ok := s.turnStarter(); ok {
		msgs, ok, err := ts.StartTurn(ctx, st)
		if err == nil && !ok {
			err = errBusy
		}
		return msgs, err
	}
	if err := s.holdAndSave(ctx, st.Conversation, st.Changed); err != nil {
		return nil, err
	}
	for _, m := range st.Messages {
		if err := s.opts.Conversations.AddMessage(ctx, m); err != nil {
			return nil, err
		}
	}
	return nil, s.claim(ctx, st.Messages[len(st.Messages)-1].ID)
}

// storeEnd stores a turn's answer as it ended and, when release, gives up
// its conversation's hold with it: in one step on a store that can.
func (s *Server) storeEnd(ctx context.Context, m *claudebridge.Message, release bool) error {
	if ts, ok := s.turnStarter(); ok && release {
		return ts.EndTurn(ctx, m, s.owner)
	}
	err := s.opts.Conversations.UpdateMessage(ctx, m)
	if release {
		s.unhold(m.ConversationID)
	}
	return err
}

// errBusy refuses a turn in a conversation a turn is being written in,
// here or in another process.
var errBusy = claudebridge.Errorf(claudebridge.EINVALID, "An answer is already being written in this conversation; stop it first")

// unhold gives up the hold of hold, once the turn has ended and is stored
// (or did not start).
func (s *Server) unhold(convID string) {
	if s.opts.Leases == nil {
		return
	}
	if err := s.opts.Leases.ReleaseConversation(context.Background(), convID, s.owner); err != nil {
		s.log.Warn("chat: releasing a conversation", "conversation", convID, "err", err)
	}
}
