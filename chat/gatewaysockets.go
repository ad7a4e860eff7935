package chat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/claudebridge/claudebridge"
)

// Sockets held by a gateway: behind API Gateway's WebSocket API no process
// holds the page's socket. Each connect, frame and disconnect is an
// invocation of its own (ConnectSocket, SocketMessage, DisconnectSocket),
// frames go to the page by a post to its connection (Connections), and a
// turn runs in an invocation of its own (RunSocketJob), which outlives the
// gateway's integration timeout. Invocations share no memory: who a
// connection is, and what pages ask of a running turn (follow it, stop it),
// are in the store (Options.Sockets); the job running a turn reads those
// requests as it goes. The frames are those of /api/ws, so one page serves
// both.

// ErrGone is wrapped by Connections.Post's error when the connection is
// gone (API Gateway's 410 GoneException).
var ErrGone = errors.New("chat: the connection is gone")

// Connections posts frames to the connections of a gateway's WebSocket API.
type Connections interface {
	// Post sends frame, one text message, to connection id; an error
	// wrapping ErrGone when the connection no longer exists.
	Post(ctx context.Context, id string, frame []byte) error
}

// SocketJob is a turn to run in an invocation of its own: the frame that
// asked for it (send, continue, regenerate or edit), on which connection,
// for which user.
type SocketJob struct {
	ConnectionID string          `json:"connection_id"`
	UserID       int64           `json:"user_id"`
	Frame        json.RawMessage `json:"frame"`
}

// JobLauncher starts a SocketJob elsewhere (an asynchronous invocation of
// the function) and returns once it is accepted, before it runs.
type JobLauncher interface {
	Launch(ctx context.Context, job SocketJob) error
}

const (
	// ticketLifetime is how long a socket ticket may wait to be redeemed:
	// the page asks for one just before it opens the socket.
	ticketLifetime = 60 * time.Second
	// connectionLifetime is how long a connection is kept: API Gateway
	// ends one after 2 hours; the margin covers clocks and a late
	// $disconnect.
	connectionLifetime = 2*time.Hour + 10*time.Minute
	// requestLifetime is how long a follow or stop request is kept; no
	// turn job runs longer than Lambda's longest timeout (15 minutes).
	requestLifetime = 20 * time.Minute
	// pollEvery is how often a turn job reads its turn's requests: a Stop
	// or a resumed page waits no longer than this.
	pollEvery = 200 * time.Millisecond
	// postEvery spaces the posts to one connection: the deltas that pile
	// up meanwhile go as one frame, so that a fast answer costs a few
	// posts a second rather than one per delta.
	postEvery = 50 * time.Millisecond
	// jobMargin is how long before its invocation's deadline a turn job
	// stops its turn, stored interrupted, rather than be killed mid-save.
	jobMargin = 5 * time.Second
	// maxResumeWait bounds how long a resume waits for a dead job's lease
	// to lapse: well within API Gateway's 29-second integration timeout.
	maxResumeWait = 20 * time.Second
	// storeWait bounds the wait for a stopped turn to be stored when a
	// job's context ends.
	storeWait = 10 * time.Second
)

// socketTicket answers POST /api/socket-ticket: a ticket that opens one
// socket at Options.SocketURL within a minute. A page on another origin
// than the socket's (the Function URL's and the API's) cannot send its
// cookie with the WebSocket handshake; the ticket, got with the cookie and
// the CSRF token, stands for it.
func (s *Server) socketTicket(w http.ResponseWriter, r *http.Request) {
	if s.opts.Sockets == nil || s.opts.SocketURL == "" {
		s.writeError(w, claudebridge.Errorf(claudebridge.ENOTFOUND, "No socket tickets here: the socket is /api/ws (CHAT_SOCKET_URL is not set)"))
		return
	}
	ticket := newToken()
	if err := s.opts.Sockets.AddSocketTicket(r.Context(), hashToken(ticket), userOf(r).user.ID, time.Now().Add(ticketLifetime)); err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"ticket": ticket, "url": s.opts.SocketURL})
}

// ConnectSocket decides whether the gateway may open connection id, and
// records whose it is. r is the handshake as the gateway passed it on: its
// ?ticket= (redeemed once), else its session cookie with its Origin checked
// as /api/ws checks it. EAUTH without either, EPERMISSION for a foreign
// Origin; the gateway then refuses the handshake.
func (s *Server) ConnectSocket(ctx context.Context, r *http.Request, id string) (userID int64, err error) {
	// Who it is is checked before the store is needed: a refusal needs none.
	noStore := claudebridge.Errorf(claudebridge.EINTERNAL, "chat: this store keeps no sockets")
	now := time.Now()
	if ticket := r.URL.Query().Get("ticket"); ticket != "" {
		if s.opts.Sockets == nil {
			return 0, noStore
		}
		if userID, err = s.opts.Sockets.RedeemSocketTicket(ctx, hashToken(ticket), now); err != nil {
			return 0, err
		}
	} else {
		who, err := s.identify(r.WithContext(ctx))
		if err != nil {
			return 0, err
		}
		if !s.originAllowed(r) {
			return 0, claudebridge.Errorf(claudebridge.EPERMISSION, "Origin not allowed")
		}
		userID = who.user.ID
	}
	if s.opts.Sockets == nil {
		return 0, noStore
	}
	err = s.opts.Sockets.AddSocketConnection(ctx, claudebridge.SocketConnection{ID: id, UserID: userID, At: now, Expires: now.Add(connectionLifetime)})
	return userID, err
}

// DisconnectSocket forgets connection id.
func (s *Server) DisconnectSocket(ctx context.Context, id string) error {
	if s.opts.Sockets == nil {
		return nil
	}
	return s.opts.Sockets.RemoveSocketConnection(ctx, id)
}

// SocketMessage handles a frame the page sent on connection id, as /api/ws
// handles it, within the gateway's integration timeout: a frame that starts
// a turn is launched as a SocketJob; resume and stop become requests to the
// job running the turn, through the store; what is wrong is posted back as
// an error frame. ENOTFOUND if the connection is not known (or expired).
func (s *Server) SocketMessage(ctx context.Context, id string, body []byte, out Connections, jobs JobLauncher) error {
	if s.opts.Sockets == nil || s.opts.Leases == nil {
		return claudebridge.Errorf(claudebridge.EINTERNAL, "chat: this store keeps no sockets")
	}
	conn, err := s.opts.Sockets.SocketConnection(ctx, id, time.Now())
	if err != nil {
		return err
	}
	c := s.gatewaySocket(ctx, id, conn.UserID, out)
	var f clientFrame
	if err := json.Unmarshal(body, &f); err != nil {
		c.fail(claudebridge.Errorf(claudebridge.EINVALID, "The frame is not valid JSON"))
		return nil
	}
	switch f.Type {
	case "send", "continue", "regenerate", "edit":
		if err := jobs.Launch(ctx, SocketJob{ConnectionID: id, UserID: conn.UserID, Frame: body}); err != nil {
			c.fail(err)
		}
	case "resume":
		seq := max(f.AfterSeq, 0)
		if f.TurnID == "" {
			c.unknown(f.TurnID, seq)
			return nil
		}
		// Asked first, checked after: a turn that ends in between either
		// reads the request or is no longer streaming.
		if err := s.addTurnRequest(ctx, claudebridge.TurnRequest{TurnID: f.TurnID, Kind: claudebridge.TurnFollow,
			UserID: conn.UserID, ConnectionID: id, AfterSeq: seq}); err != nil {
			c.fail(err)
			return nil
		}
		s.tellIfNotRunning(ctx, c, f.TurnID, seq)
	case "stop":
		if f.TurnID == "" {
			c.fail(claudebridge.Errorf(claudebridge.ENOTFOUND, "turn_id: no such turn"))
			return nil
		}
		// Recorded unchecked: the job honours its own user's stops only. A
		// check here (TurnStreaming) would read DynamoDB's index, which may
		// not show a turn started a moment ago, and refuse a good Stop.
		if err := s.addTurnRequest(ctx, claudebridge.TurnRequest{TurnID: f.TurnID, Kind: claudebridge.TurnStop, UserID: conn.UserID}); err != nil {
			c.fail(err)
		}
	case "ping":
	default:
		c.fail(claudebridge.Errorf(claudebridge.EINVALID, "type: want send, edit, stop, resume, continue or regenerate"))
	}
	return nil
}

// tellIfNotRunning posts the end of a turn no job runs: "unknown" for one
// not streaming (the page reloads it by REST), and "interrupted" for one
// whose job died once the sweep has marked it, waiting up to a lease's
// length for that; a turn still running says nothing here, its job
// answers the follow.
func (s *Server) tellIfNotRunning(ctx context.Context, c *socket, turnID string, seq int) {
	streaming, err := s.opts.Leases.TurnStreaming(ctx, c.user.ID, turnID)
	if err != nil {
		c.fail(err)
		return
	}
	if !streaming {
		c.unknown(turnID, seq)
		return
	}
	// A job that died (killed mid-turn) leaves its lease to lapse within
	// Lease; no job will answer the follow, and the page would wait for
	// ever. So this waits that long, sweeping, unless the answer ends
	// first (its job then reads the follow and answers it).
	wait := time.NewTimer(min(s.opts.Lease+s.opts.Lease/3, maxResumeWait))
	defer wait.Stop()
	tick := time.NewTicker(s.opts.Lease / 3)
	defer tick.Stop()
	for {
		list, err := s.sweepList(ctx, time.Now())
		if err != nil {
			s.log.Warn("chat: marking the answers of lapsed processes interrupted", "err", err)
		}
		for _, im := range list {
			if im.Message.TurnID == turnID && im.UserID == c.user.ID {
				c.write(doneOf(turnID, &claudebridge.TurnEnd{Seq: -1, Status: claudebridge.MessageInterrupted, Usage: im.Message.Usage}, seq))
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wait.C:
			return // the job is alive: it renewed its lease
		case <-tick.C:
		}
		streaming, err := s.opts.Leases.TurnStreaming(ctx, c.user.ID, turnID)
		if err != nil {
			c.fail(err)
			return
		}
		if !streaming {
			// Ended, or marked by another sweep (another instance, or this
			// one's lease keeper), which tells no follower here: the page
			// reloads the answer as stored. A job that ended it may send
			// its own done as well; the page takes either.
			c.unknown(turnID, seq)
			return
		}
	}
}

func (s *Server) addTurnRequest(ctx context.Context, r claudebridge.TurnRequest) error {
	r.ID, r.At = randomID(""), time.Now()
	r.Expires = r.At.Add(requestLifetime)
	return s.opts.Sockets.AddTurnRequest(ctx, r)
}

// RunSocketJob runs a turn job: it starts the turn (an error, a busy
// conversation among them, is posted as an error frame), posts its turn
// frame and its deltas to the job's connection, and while the turn runs
// reads its requests every pollEvery: a follow gets the deltas after its
// seq, then the live ones, on its own connection; a stop stops the turn,
// its text kept. Requests of another user than the turn's are ignored. It
// returns once the turn is stored and every follower has its done frame
// (or is gone), or ctx ends; jobMargin before ctx's deadline the turn is
// stopped and stored interrupted.
func (s *Server) RunSocketJob(ctx context.Context, job SocketJob, out Connections) error {
	if s.opts.Sockets == nil || s.opts.Leases == nil {
		return claudebridge.Errorf(claudebridge.EINTERNAL, "chat: socket jobs need the socket store and turn leases")
	}
	// The lease goes first: an instance thawed after a long freeze holds a
	// lapsed one, under which a sweep would take the new answer for dead.
	if err := s.opts.Leases.RenewTurnLease(ctx, s.owner, time.Now().Add(s.opts.Lease)); err != nil {
		return err
	}
	user := &claudebridge.User{ID: job.UserID}
	first := s.gatewaySocket(ctx, job.ConnectionID, job.UserID, out)
	var f clientFrame
	if err := json.Unmarshal(job.Frame, &f); err != nil {
		first.fail(claudebridge.Errorf(claudebridge.EINVALID, "The frame is not valid JSON"))
		return nil
	}
	t, frame, err := s.start(ctx, user, turnRequest{kind: f.Type, conversationID: f.ConversationID,
		text: f.Text, model: f.Model, promptID: f.PromptID, messageID: f.MessageID})
	if err != nil {
		first.fail(err)
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok {
		cut := time.AfterFunc(time.Until(deadline.Add(-jobMargin)), func() { t.stop(errShutdown) })
		defer cut.Stop()
	}
	followers := map[string]*socket{job.ConnectionID: first}
	defer func() {
		for _, c := range followers {
			c.wg.Wait()
		}
	}()
	if first.write(frame) == nil {
		first.follow(t, 0)
	}
	notify, unsubscribe := t.subscribe()
	defer unsubscribe()
	seen := map[string]bool{}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for ended := false; ; {
		if _, done := t.since(0); done != nil {
			// Read once more after the end: a follow asked just before it
			// gets its done frame.
			ended = true
		}
		reqs, err := s.opts.Sockets.TurnRequests(ctx, t.id, time.Now())
		if err != nil {
			s.log.Warn("chat: reading a turn's requests", "turn", t.id, "err", err)
		}
		for _, r := range reqs {
			if seen[r.ID] || r.UserID != t.userID {
				continue
			}
			seen[r.ID] = true
			switch r.Kind {
			case claudebridge.TurnStop:
				t.stop(errStopped)
			case claudebridge.TurnFollow:
				c := followers[r.ConnectionID]
				if c == nil {
					c = s.gatewaySocket(ctx, r.ConnectionID, t.userID, out)
					followers[r.ConnectionID] = c
				}
				c.follow(t, max(r.AfterSeq, 0))
			}
		}
		if ended {
			return nil
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				// Stored interrupted before the invocation ends: Lambda
				// may freeze the instance once it has.
				t.stop(errShutdown)
				stored := time.NewTimer(storeWait)
				defer stored.Stop()
				for done := (*doneFrame)(nil); done == nil; _, done = t.since(0) {
					select {
					case <-notify:
					case <-stored.C:
						return ctx.Err()
					}
				}
				return ctx.Err()
			case <-tick.C:
				break wait
			case <-notify:
				// Deltas wake this too; only the end cuts the wait short.
				if _, done := t.since(0); done != nil {
					break wait
				}
			}
		}
	}
}

// gatewaySocket is a socket whose frames are posted to connection id.
func (s *Server) gatewaySocket(ctx context.Context, id string, userID int64, out Connections) *socket {
	return &socket{s: s, out: newPostSink(s, out, id), user: &claudebridge.User{ID: userID},
		ctx: ctx, following: map[string]context.CancelFunc{}}
}

// postSink posts a socket's frames to its connection, one at a time and
// at most one per postEvery. A connection that is gone is forgotten.
type postSink struct {
	s   *Server
	out Connections
	id  string

	// turn is held by the post under way; a channel rather than a mutex,
	// so that a sender waiting for its turn can give up when ctx ends.
	turn chan struct{}
	last time.Time
	gone bool
}

func newPostSink(s *Server, out Connections, id string) *postSink {
	return &postSink{s: s, out: out, id: id, turn: make(chan struct{}, 1)}
}

func (p *postSink) send(ctx context.Context, frame []byte) error {
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.turn }()
	if p.gone {
		return ErrGone
	}
	if wait := time.Until(p.last.Add(postEvery)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	post, cancel := context.WithTimeout(ctx, writeTimeout)
	err := p.out.Post(post, p.id, frame)
	cancel()
	p.last = time.Now()
	if errors.Is(err, ErrGone) {
		p.gone = true
		if err := p.s.opts.Sockets.RemoveSocketConnection(context.WithoutCancel(ctx), p.id); err != nil {
			p.s.log.Warn("chat: forgetting a gone connection", "err", err)
		}
	}
	return err
}
