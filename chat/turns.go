package chat

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
)

// Causes of a turn's end other than the model's own; they decide its status.
var (
	errStopped  = errors.New("chat: stopped by the user")
	errShutdown = errors.New("chat: server shutting down")
	// errLeaseLost: this process could not renew its lease, so other
	// processes are about to take its turns for dead and mark them
	// interrupted; it stops them first, rather than write over answers
	// continued elsewhere.
	errLeaseLost = errors.New("chat: this process's lease is lapsing")
)

// turns are the turns running now and those finished within ReplayFor.
// A turn is a goroutine of its own, on a context of the server's: no socket
// owns it.
type turns struct {
	s  *Server
	wg sync.WaitGroup

	mu       sync.Mutex
	byID     map[string]*turn
	byConv   map[string]*turn // running turns, one per conversation at most
	convUser map[string]int64 // the user of each conversation in byConv
	byUser   map[int64]int    // turns per user, running or being prepared
	stopped  map[string]bool  // conversations stopped while their turn was being prepared
	closed   bool

	// closeBegun, if set (by tests, before close), is called once close has
	// marked the turns closed, before it waits for them.
	closeBegun func()
}

func newTurns(s *Server) *turns {
	return &turns{s: s, byID: map[string]*turn{}, byConv: map[string]*turn{}, convUser: map[string]int64{}, byUser: map[int64]int{}, stopped: map[string]bool{}}
}

// get returns a turn running or recently finished; nil if unknown.
func (ts *turns) get(id string) *turn {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.byID[id]
}

// reserve marks a conversation busy for a turn being prepared; false if a
// turn already writes in it or the server is closing.
func (ts *turns) reserve(userID int64, convID string) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.closed {
		return claudebridge.Errorf(claudebridge.EOVERLOADED, "The server is shutting down")
	}
	if _, busy := ts.byConv[convID]; busy {
		return errBusy
	}
	if max := ts.s.opts.TurnsPerUser; ts.byUser[userID] >= max {
		return claudebridge.Errorf(claudebridge.ERATELIMIT, "%d answers are already being written for you; wait for one to end or stop it", max)
	}
	ts.byConv[convID] = nil
	ts.convUser[convID] = userID
	ts.byUser[userID]++
	// Counted from here, not from launch: close must also wait for a turn
	// that is being prepared, or it would start after the store is closed.
	ts.wg.Add(1)
	return nil
}

// release undoes reserve for a turn that did not start.
func (ts *turns) release(convID string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t, ok := ts.byConv[convID]; ok && t == nil {
		ts.unreserveLocked(convID)
		ts.wg.Done()
	}
}

// unreserveLocked frees a conversation and counts its user's turn out.
func (ts *turns) unreserveLocked(convID string) {
	delete(ts.byConv, convID)
	delete(ts.stopped, convID)
	u := ts.convUser[convID]
	delete(ts.convUser, convID)
	if ts.byUser[u]--; ts.byUser[u] <= 0 {
		delete(ts.byUser, u)
	}
}

// launch starts t in a reserved conversation. A turn launched after close
// began ends at once, stored as interrupted.
func (ts *turns) launch(t *turn) {
	ctx, cancel := context.WithCancelCause(context.Background())
	t.cancel = cancel
	if cause := ts.enter(t); cause != nil {
		cancel(cause)
	}
	// Followers in other processes find it through the bus, for as long
	// as followers here can.
	disown := ts.s.bus.Own(t.id, turnOwner{t})
	go func() {
		defer ts.wg.Done()
		t.run(ctx)
		cancel(nil)
		time.AfterFunc(ts.s.opts.ReplayFor, func() {
			disown()
			ts.mu.Lock()
			delete(ts.byID, t.id)
			ts.mu.Unlock()
		})
	}()
}

// enter records t as the turn of its reserved conversation, and returns
// why it must end at once, if it must: the server is closing, or the
// conversation was deleted while t was being prepared.
func (ts *turns) enter(t *turn) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.byConv[t.conv.ID] = t
	ts.byID[t.id] = t
	switch {
	case ts.closed:
		return errShutdown
	case ts.stopped[t.conv.ID]:
		delete(ts.stopped, t.conv.ID)
		return errStopped
	}
	return nil
}

// current reports whether t is its conversation's turn here still.
func (ts *turns) current(t *turn) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.byConv[t.conv.ID] == t
}

// free ends t's hold on its conversation here, once the store's is given
// up (storeEnd). Called before t's done frame is published: a page that
// reads it may start the next turn at once.
func (ts *turns) free(t *turn) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.byConv[t.conv.ID] == t {
		ts.unreserveLocked(t.conv.ID)
	}
}

// stopConversation stops the turn writing in a conversation, if any; a
// turn still being prepared (its conversation deleted under it) is
// stopped the moment it is launched. It reports whether this process had
// one.
func (ts *turns) stopConversation(convID string) bool {
	ts.mu.Lock()
	t, reserved := ts.byConv[convID]
	if reserved && t == nil {
		ts.stopped[convID] = true
	}
	ts.mu.Unlock()
	if t != nil {
		t.stop(errStopped)
	}
	return reserved
}

// stopAll stops every running turn with cause.
func (ts *turns) stopAll(cause error) {
	ts.mu.Lock()
	var running []*turn
	for _, t := range ts.byConv {
		if t != nil {
			running = append(running, t)
		}
	}
	ts.mu.Unlock()
	for _, t := range running {
		t.stop(cause)
	}
}

// running returns how many turns are running or being prepared.
func (ts *turns) running() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.byConv)
}

// drain refuses new turns and waits until the running ones have ended by
// themselves, or ctx ends.
func (ts *turns) drain(ctx context.Context) error {
	ts.mu.Lock()
	ts.closed = true
	ts.mu.Unlock()
	return ts.wait(ctx)
}

// wait waits until every turn has ended and is stored, or ctx ends.
func (ts *turns) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { ts.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close ends every running turn as interrupted and waits until each is
// stored, or ctx ends.
func (ts *turns) close(ctx context.Context) error {
	ts.mu.Lock()
	ts.closed = true
	var running []*turn
	for _, t := range ts.byConv {
		if t != nil {
			running = append(running, t)
		}
	}
	ts.mu.Unlock()
	if ts.closeBegun != nil {
		ts.closeBegun()
	}
	for _, t := range running {
		t.stop(errShutdown)
	}
	return ts.wait(ctx)
}
