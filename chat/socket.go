package chat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// writeTimeout is the longest a socket may take to take one frame; a
// socket slower than that is closed (the page reconnects and resumes).
const writeTimeout = 10 * time.Second

// clientFrame is any frame the page sends.
type clientFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	Text           string `json:"text"`
	Model          string `json:"model"`
	PromptID       string `json:"prompt_id"`
	TurnID         string `json:"turn_id"`
	AfterSeq       int    `json:"after_seq"`
	MessageID      string `json:"message_id"`
}

type deltaFrame struct {
	Type   string `json:"type"` // "delta"
	TurnID string `json:"turn_id"`
	Seq    int    `json:"seq"`
	Text   string `json:"text"`
}

type errorFrame struct {
	Type    string `json:"type"` // "error"
	Message string `json:"message"`
	Code    string `json:"code"`
}

// socket is one page's WebSocket. Reading happens here; each turn the
// socket follows is written by a goroutine of its own that reads the
// turn's deltas at its own pace, so a slow socket never holds up a turn.
// When the socket goes, its goroutines end; the turns go on.
type socket struct {
	s    *Server
	out  frameSink
	user *claudebridge.User
	ctx  context.Context

	wg        sync.WaitGroup
	mu        sync.Mutex
	following map[string]context.CancelFunc // by turn id
}

func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	id, err := s.identify(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if !s.originAllowed(r) {
		s.writeError(w, claudebridge.Errorf(claudebridge.EPERMISSION, "Origin not allowed"))
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		// Accept would answer in plain text; the API answers in JSON.
		s.writeError(w, claudebridge.Errorf(claudebridge.EINVALID, "/api/ws is a WebSocket: the request must carry Upgrade: websocket"))
		return
	}
	// The Origin was checked above, against CHAT_ALLOW_ORIGINS as well.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	conn.SetReadLimit(4 << 20)
	ctx, cancel := context.WithCancel(r.Context())
	stopOnClose := context.AfterFunc(s.sockets, cancel)
	defer stopOnClose()
	sock := &socket{s: s, out: websocketSink{conn}, user: id.user, ctx: ctx, following: map[string]context.CancelFunc{}}
	sock.wg.Add(1)
	go sock.keepAlive(conn, cancel)
	sock.serve(conn)
	cancel()
	sock.wg.Wait()
	conn.Close(websocket.StatusNormalClosure, "")
}

// keepAlive pings the client every PingInterval; a client that does not
// answer within PingTimeout is gone, and its socket is closed (the turns
// it followed go on, for the next socket to resume).
func (c *socket) keepAlive(conn *websocket.Conn, closeSocket func()) {
	defer c.wg.Done()
	every := c.s.opts.PingInterval
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(c.ctx, c.s.opts.PingTimeout)
			err := conn.Ping(ctx)
			cancel()
			if err != nil {
				closeSocket()
				return
			}
		}
	}
}

func (c *socket) serve(conn *websocket.Conn) {
	for {
		typ, b, err := conn.Read(c.ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			c.fail(claudebridge.Errorf(claudebridge.EINVALID, "Frames are JSON text"))
			continue
		}
		var f clientFrame
		if err := json.Unmarshal(b, &f); err != nil {
			c.fail(claudebridge.Errorf(claudebridge.EINVALID, "The frame is not valid JSON"))
			continue
		}
		c.handle(f)
	}
}

// frameSink takes a socket's frames, one at a time: a WebSocket this
// process holds (serve), or a connection of API Gateway's WebSocket API
// posted to (Lambda).
type frameSink interface {
	send(ctx context.Context, frame []byte) error
}

// websocketSink writes frames to a WebSocket held here, each within
// writeTimeout.
type websocketSink struct{ conn *websocket.Conn }

func (w websocketSink) send(ctx context.Context, frame []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return w.conn.Write(ctx, websocket.MessageText, frame)
}

func (c *socket) handle(f clientFrame) {
	switch f.Type {
	case "send", "continue", "regenerate", "edit":
		t, frame, err := c.s.start(c.ctx, c.user, turnRequest{kind: f.Type, conversationID: f.ConversationID,
			text: f.Text, model: f.Model, promptID: f.PromptID, messageID: f.MessageID})
		if err != nil {
			c.fail(err)
			return
		}
		if err := c.write(frame); err != nil {
			return
		}
		c.follow(t, 0)
	case "resume":
		seq := max(f.AfterSeq, 0) // a negative seq would number the replay wrong
		switch t := c.s.turns.get(f.TurnID); {
		case t == nil:
			// Another process's, if any: through the bus.
			c.followRemote(f.TurnID, seq)
		case t.userID != c.user.ID:
			c.unknown(f.TurnID, f.AfterSeq)
		default:
			c.follow(t, seq)
		}
	case "ping":
		// The page's keep-alive behind API Gateway, whose idle timeout
		// (10 minutes) only frames from the client reset: nothing to say.
	case "stop":
		t := c.s.turns.get(f.TurnID)
		if t == nil && f.TurnID != "" {
			if err := c.s.bus.Stop(c.ctx, f.TurnID, c.user.ID); err != nil {
				c.fail(err)
			}
			return
		}
		if t == nil || t.userID != c.user.ID {
			c.fail(claudebridge.Errorf(claudebridge.ENOTFOUND, "turn_id: no such turn"))
			return
		}
		t.stop(errStopped)
	default:
		c.fail(claudebridge.Errorf(claudebridge.EINVALID, "type: want send, edit, stop, resume, continue or regenerate"))
	}
}

// follow writes t's deltas after seq, then each new one, then its done
// frame. Following a turn again replaces the earlier follower.
func (c *socket) follow(t *turn, seq int) {
	ctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	if old := c.following[t.id]; old != nil {
		old()
	}
	c.following[t.id] = cancel
	c.mu.Unlock()
	notify, unsubscribe := t.subscribe()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer unsubscribe()
		defer cancel()
		for {
			deltas, done := t.since(seq)
			if !c.writeDeltas(ctx, t.id, &seq, deltas) {
				return
			}
			if done != nil && seq >= done.Seq {
				c.write(done)
				return
			}
			select {
			case <-notify:
			case <-ctx.Done():
				return
			}
		}
	}()
}

// writeDeltas writes deltas, numbered *seq+1 on, and advances *seq; false
// if the socket or the follower is gone. Deltas that piled up while this
// socket was writing go out as one frame carrying the seq of the last: a
// socket that keeps up sends one frame per delta, one that lags catches up
// in fewer writes instead of falling further behind.
func (c *socket) writeDeltas(ctx context.Context, turnID string, seq *int, deltas []string) bool {
	for len(deltas) > 0 {
		n, size := 0, 0
		for n < len(deltas) && (n == 0 || size+len(deltas[n]) <= maxFrameText) {
			size += len(deltas[n])
			n++
		}
		*seq += n
		text := deltas[0]
		if n > 1 {
			text = strings.Join(deltas[:n], "")
		}
		deltas = deltas[n:]
		if ctx.Err() != nil || c.write(deltaFrame{Type: "delta", TurnID: turnID, Seq: *seq, Text: text}) != nil {
			return false
		}
	}
	return true
}

// unknown tells the page a turn is not known (long finished, or never
// this user's): the page reloads the message by REST.
func (c *socket) unknown(turnID string, seq int) {
	c.write(doneFrame{Type: "done", TurnID: turnID, Seq: seq, Status: "unknown"})
}

// followRemote follows a turn another process runs, through the bus: it
// subscribes to the turn's events first, then asks its process for the
// deltas after seq, then writes the events' deltas past those, so that
// nothing is missed or written twice. A gap (an event lost by the bus)
// is filled by asking again.
func (c *socket) followRemote(turnID string, seq int) {
	ctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	if old := c.following[turnID]; old != nil {
		old()
	}
	c.following[turnID] = cancel
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel()
		var mu sync.Mutex
		var queue []claudebridge.TurnEvent
		notify := make(chan struct{}, 1)
		unsubscribe, err := c.s.bus.Subscribe(ctx, turnID, func(ev claudebridge.TurnEvent) {
			mu.Lock()
			queue = append(queue, ev)
			mu.Unlock()
			select {
			case notify <- struct{}{}:
			default:
			}
		})
		if err != nil {
			c.fail(err)
			return
		}
		defer unsubscribe()
		for needSnapshot := true; ; {
			var events []claudebridge.TurnEvent
			if needSnapshot {
				snap, err := c.s.bus.Snapshot(ctx, turnID, c.user.ID, seq)
				switch {
				case ctx.Err() != nil:
					return
				case err != nil && c.s.orphaned(ctx, c.user.ID, turnID, err):
					// Its process died: the sweep that marks its answer
					// interrupted tells its end.
					needSnapshot = false
					continue
				case err != nil:
					c.unknown(turnID, seq)
					return
				}
				events = []claudebridge.TurnEvent{{TurnID: turnID, After: snap.After, Deltas: snap.Deltas, End: snap.End}}
				needSnapshot = false
			} else {
				select {
				case <-notify:
				case <-ctx.Done():
					return
				}
				mu.Lock()
				events, queue = queue, nil
				mu.Unlock()
			}
			for _, ev := range events {
				ended, gap, ok := c.apply(ctx, ev, &seq)
				if !ok || ended {
					return
				}
				if gap {
					// The snapshot has the rest of these events.
					needSnapshot = true
					break
				}
			}
		}
	}()
}

// apply writes what ev adds past *seq: its new deltas, then its end. gap
// says ev starts past *seq, or ends past it while deltas are missing, or
// the bus lost events;
// ok is false once the socket or the follower is gone.
func (c *socket) apply(ctx context.Context, ev claudebridge.TurnEvent, seq *int) (ended, gap, ok bool) {
	deltas := ev.Deltas
	if ev.Lost || (ev.After > *seq && len(deltas) > 0) {
		return false, true, true
	}
	if skip := *seq - ev.After; skip > 0 {
		deltas = deltas[min(skip, len(deltas)):]
	}
	if !c.writeDeltas(ctx, ev.TurnID, seq, deltas) {
		return false, false, false
	}
	if ev.End == nil {
		return false, false, true
	}
	if ev.End.Seq > *seq {
		return false, true, true
	}
	c.write(doneOf(ev.TurnID, ev.End, *seq))
	return true, false, true
}

// maxFrameText bounds the text of one delta frame made of several deltas.
const maxFrameText = 16 << 10

func (c *socket) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	err = c.out.send(c.ctx, b)
	if err != nil && !errors.Is(err, context.Canceled) {
		c.s.log.Debug("chat: socket write", "err", err)
	}
	return err
}

func (c *socket) fail(err error) {
	_, typ := anthropic.Status(claudebridge.ErrorCode(err))
	if claudebridge.ErrorCode(err) == claudebridge.EINTERNAL {
		c.s.log.Error("chat: socket request failed", "err", err)
	}
	c.write(errorFrame{Type: "error", Message: claudebridge.ErrorMessage(err), Code: typ})
}
