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
	conn *websocket.Conn
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
	sock := &socket{s: s, conn: conn, user: id.user, ctx: ctx, following: map[string]context.CancelFunc{}}
	sock.wg.Add(1)
	go sock.keepAlive(cancel)
	sock.serve()
	cancel()
	sock.wg.Wait()
	conn.Close(websocket.StatusNormalClosure, "")
}

// keepAlive pings the client every PingInterval; a client that does not
// answer within PingTimeout is gone, and its socket is closed (the turns
// it followed go on, for the next socket to resume).
func (c *socket) keepAlive(closeSocket func()) {
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
			err := c.conn.Ping(ctx)
			cancel()
			if err != nil {
				closeSocket()
				return
			}
		}
	}
}

func (c *socket) serve() {
	for {
		typ, b, err := c.conn.Read(c.ctx)
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
		t := c.s.turns.get(f.TurnID)
		if t == nil || t.userID != c.user.ID {
			// Long finished (or never this user's): the page reloads the
			// message by REST.
			c.write(doneFrame{Type: "done", TurnID: f.TurnID, Seq: f.AfterSeq, Status: "unknown"})
			return
		}
		c.follow(t, max(f.AfterSeq, 0)) // a negative seq would number the replay wrong
	case "stop":
		t := c.s.turns.get(f.TurnID)
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
			// Deltas that piled up while this socket was writing go out as
			// one frame carrying the seq of the last: a socket that keeps up
			// sends one frame per delta, one that lags catches up in fewer
			// writes instead of falling further behind.
			for len(deltas) > 0 {
				n, size := 0, 0
				for n < len(deltas) && (n == 0 || size+len(deltas[n]) <= maxFrameText) {
					size += len(deltas[n])
					n++
				}
				seq += n
				text := deltas[0]
				if n > 1 {
					text = strings.Join(deltas[:n], "")
				}
				deltas = deltas[n:]
				if ctx.Err() != nil || c.write(deltaFrame{Type: "delta", TurnID: t.id, Seq: seq, Text: text}) != nil {
					return
				}
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

// maxFrameText bounds the text of one delta frame made of several deltas.
const maxFrameText = 16 << 10

func (c *socket) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	err = c.conn.Write(ctx, websocket.MessageText, b)
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
