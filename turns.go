package claudebridge

import (
	"context"
	"time"
)

// TurnLeaseService lets several processes share one store's chat: a turn
// runs on the process that started it, which holds a lease it renews; a
// message a turn is writing names that process (its owner). When a process
// dies (kill -9, a lost machine) its lease lapses, and any other process
// marks its messages interrupted, so that they can be continued.
type TurnLeaseService interface {
	// RenewTurnLease records that owner (a process's id, random per start) is
	// alive until until, creating its lease. EINVALID for an empty owner.
	RenewTurnLease(ctx context.Context, owner string, until time.Time) error
	// ReleaseTurnLease removes owner's lease: it stopped cleanly. Removing an
	// absent lease is not an error.
	ReleaseTurnLease(ctx context.Context, owner string) error
	// ClaimMessage records owner as the process writing a message now;
	// ENOTFOUND if there is no such message. Only its owner changes.
	ClaimMessage(ctx context.Context, messageID, owner string) error
	// InterruptLapsed marks as MessageInterrupted every MessageStreaming
	// message whose owner's lease ended at or before now, or whose owner
	// has no lease (none claimed it, or it was released) and that was last
	// saved grace or more before now (a turn claims its message just after
	// storing it, and a process renews its lease just after it starts). It
	// returns those messages, as marked, with their users; when several
	// processes call it at once, each message is returned to one of them.
	// The leases that ended are removed.
	InterruptLapsed(ctx context.Context, now time.Time, grace time.Duration) ([]InterruptedMessage, error)
	// ReserveConversation makes owner the one process that starts and runs
	// a turn in a conversation, unless another owner whose lease is live
	// at now holds it (an owner without a live lease holds nothing, so a
	// dead process's hold passes on). It reports whether owner has it;
	// owner's own hold is kept. A turn's messages change only under it,
	// so that two processes never write in one conversation at once.
	ReserveConversation(ctx context.Context, conversationID, owner string, now time.Time) (bool, error)
	// ReleaseConversation gives up owner's hold on a conversation, if it
	// has it.
	ReleaseConversation(ctx context.Context, conversationID, owner string) error
	// TurnStreaming reports whether a message of userID's written by
	// turnID is still MessageStreaming: its turn runs somewhere, or its
	// process died and a sweep will mark it. False for another user's.
	TurnStreaming(ctx context.Context, userID int64, turnID string) (bool, error)
}

// TurnEnd is how a turn ended, as its done frame tells it.
type TurnEnd struct {
	// Seq is the turn's last delta; -1 when the process that tells the end
	// does not know it (a turn whose process died): each follower then
	// ends at the delta it has.
	Seq                 int     `json:"seq"`
	Status              string  `json:"status"`
	Error               string  `json:"error,omitempty"`
	Usage               Usage   `json:"usage"`
	OutputTokensCounted bool    `json:"output_tokens_counted,omitempty"`
	CostUSD             float64 `json:"cost_usd"`
}

// TurnEvent is news of a running turn: deltas, numbered After+1 on, and
// its end when it has ended (after the deltas, if any).
type TurnEvent struct {
	TurnID string   `json:"turn_id"`
	After  int      `json:"after"`
	Deltas []string `json:"deltas,omitempty"`
	End    *TurnEnd `json:"end,omitempty"`
	// Lost, in an event of the bus's own making, says earlier events may
	// have been lost (its connection was cut): a subscriber asks for a
	// snapshot again.
	Lost bool `json:"lost,omitempty"`
}

// TurnSnapshot is what the process running a turn answers a follower that
// joins: the deltas after the seq it asked for and, if the turn has
// ended, how. A follower subscribes first, then asks for the snapshot,
// then applies the events whose deltas go past the snapshot's: no gap, no
// duplicate.
type TurnSnapshot struct {
	After  int      `json:"after"`
	Deltas []string `json:"deltas,omitempty"`
	End    *TurnEnd `json:"end,omitempty"`
}

// TurnOwner is a turn as the process running it answers for it on the
// bus. Its methods must not block for long: the bus calls them as
// requests arrive.
type TurnOwner interface {
	// Snapshot returns the deltas after seq and the end, if any;
	// ENOTFOUND if userID is not the turn's user.
	Snapshot(userID int64, after int) (TurnSnapshot, error)
	// Stop stops the turn as the user's Stop does (its text is kept);
	// ENOTFOUND if userID is not the turn's user.
	Stop(userID int64) error
}

// TurnBus carries running turns between the processes that share a store:
// their deltas and ends to followers anywhere, and followers' requests
// (snapshot, stop) to the process that runs each turn.
type TurnBus interface {
	// Own makes this process answer for a turn, until release is called.
	Own(turnID string, owner TurnOwner) (release func())
	// Publish sends events to the turns' subscribers in every process, in
	// order: one turn's events arrive in the order published.
	Publish(ctx context.Context, events []TurnEvent) error
	// Subscribe calls deliver with each event of turnID published after it
	// returns, in order, until cancel is called. deliver must not block.
	Subscribe(ctx context.Context, turnID string, deliver func(TurnEvent)) (cancel func(), err error)
	// Snapshot asks the process running turnID for its deltas after seq;
	// ENOTFOUND if no process answers for it (or not for userID).
	Snapshot(ctx context.Context, turnID string, userID int64, after int) (TurnSnapshot, error)
	// Stop asks the process running turnID to stop it; ENOTFOUND if no
	// process answers for it (or not for userID).
	Stop(ctx context.Context, turnID string, userID int64) error
}

// TurnStart is what a turn stores before it calls the upstream.
type TurnStart struct {
	// Conversation is the turn's; when Changed, its Title, Model and
	// PromptID are saved too. When New, it is stored first, with the ID
	// it has (random, as the stores make theirs) and times filled.
	Conversation *Conversation
	Changed      bool
	New          bool
	// Owner is the process that runs the turn, At the time it asks.
	Owner string
	At    time.Time
	// Messages are appended in order: the user's message, then the answer
	// being written, which Owner claims.
	Messages []*Message
}

// TurnStarter is a ConversationService and TurnLeaseService that stores
// a turn's start, and its end, each in one step: on a store across a network, one round trip
// instead of five and two. The chat calls the steps one by one on a store
// without it.
type TurnStarter interface {
	// StartTurn does what CreateConversation (when New),
	// ReserveConversation, UpdateConversation (when Changed), AddMessage
	// of each message and ClaimMessage of the last would, all or nothing, and returns the conversation's messages after
	// it, in Seq order. ok is false, and nothing changed, when another
	// owner holds the conversation; ENOTFOUND if it does not exist.
	StartTurn(ctx context.Context, s *TurnStart) (messages []Message, ok bool, err error)
	// EndTurn saves m as UpdateMessage does and, at once, gives up owner's
	// hold on m's conversation as ReleaseConversation does.
	EndTurn(ctx context.Context, m *Message, owner string) error
}
