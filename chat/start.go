package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// turnRequest is what a socket asks for: a new message (send), more of the
// last answer (continue), a new answer to a message (regenerate) or a user
// message replaced, with what followed it, and answered anew (edit).
type turnRequest struct {
	kind           string // "send", "continue", "regenerate", "edit"
	conversationID string
	text           string
	model          string
	promptID       string
	messageID      string
}

// turnFrame tells the socket a turn has started.
type turnFrame struct {
	Type           string `json:"type"` // "turn"
	TurnID         string `json:"turn_id"`
	ConversationID string `json:"conversation_id"`
	UserMessageID  string `json:"user_message_id"`
	MessageID      string `json:"message_id"`
	Title          string `json:"title"`
}

func newTurnID() string { return randomID("turn_") }

// randomID is prefix and 96 random bits in hex: ids of turns, owners and
// requests, unique without asking the store.
func randomID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// start prepares and launches a turn for user: the user message and the
// assistant message are stored before the upstream is called.
func (s *Server) start(ctx context.Context, user *claudebridge.User, req turnRequest) (*turn, *turnFrame, error) {
	cs := s.opts.Conversations
	if (req.kind == "send" || req.kind == "edit") && strings.TrimSpace(req.text) == "" {
		// Checked before conversationFor, which may create the conversation.
		return nil, nil, claudebridge.Errorf(claudebridge.EINVALID, "text: must not be empty")
	}
	conv, changed, isNew, err := s.conversationFor(ctx, user, req)
	if err != nil {
		return nil, nil, err
	}
	if err := s.turns.reserve(user.ID, conv.ID); err != nil {
		return nil, nil, err
	}
	launched := false
	defer func() {
		if !launched {
			// The store's hold is given up whether it was had or not:
			// only this process's hold goes.
			s.unhold(conv.ID)
			s.turns.release(conv.ID)
		}
	}()
	t := &turn{ts: s.turns, id: newTurnID(), userID: user.ID, conv: conv}
	frame := &turnFrame{Type: "turn", TurnID: t.id, ConversationID: conv.ID, Title: conv.Title}
	answer := func() *claudebridge.Message {
		return &claudebridge.Message{ConversationID: conv.ID, Role: "assistant", Status: claudebridge.MessageStreaming, Model: conv.Model, TurnID: t.id}
	}
	var history []claudebridge.Message // the conversation as the turn starts, when the store gave it
	// Another process may run a turn in it: held in the store too.
	if req.kind == "send" {
		// The common turn, stored in one step where the store can.
		um := &claudebridge.Message{ConversationID: conv.ID, Role: "user", Content: req.text, Status: claudebridge.MessageComplete}
		t.msg = answer()
		history, err = s.storeStart(ctx, &claudebridge.TurnStart{Conversation: conv, Changed: changed, New: isNew,
			Owner: s.owner, At: time.Now(), Messages: []*claudebridge.Message{um, t.msg}})
		if err != nil {
			return nil, nil, err
		}
		frame.UserMessageID = um.ID
	} else if err := s.holdAndSave(ctx, conv, changed); err != nil {
		return nil, nil, err
	}
	newAnswer := func() error {
		t.msg = answer()
		if err := cs.AddMessage(ctx, t.msg); err != nil {
			return err
		}
		return s.claim(ctx, t.msg.ID)
	}
	switch req.kind {
	case "send": // stored above, with its hold
	case "edit":
		// As other chat apps do: the edited message replaces the old one and
		// everything after it, and gets a new answer.
		msgs, err := cs.Messages(ctx, user.ID, conv.ID)
		if err != nil {
			return nil, nil, err
		}
		i := indexOf(msgs, req.messageID)
		if i < 0 || msgs[i].Role != "user" {
			return nil, nil, claudebridge.Errorf(claudebridge.ENOTFOUND, "message_id: no message of yours in this conversation has that id")
		}
		if err := cs.DeleteMessagesFrom(ctx, conv.ID, msgs[i].Seq); err != nil {
			return nil, nil, err
		}
		um := &claudebridge.Message{ConversationID: conv.ID, Role: "user", Content: req.text, Status: claudebridge.MessageComplete}
		if err := cs.AddMessage(ctx, um); err != nil {
			return nil, nil, err
		}
		frame.UserMessageID = um.ID
		if err := newAnswer(); err != nil {
			return nil, nil, err
		}
	case "continue", "regenerate":
		msgs, err := cs.Messages(ctx, user.ID, conv.ID)
		if err != nil {
			return nil, nil, err
		}
		if req.kind == "continue" {
			if len(msgs) < 2 {
				return nil, nil, claudebridge.Errorf(claudebridge.EINVALID, "There is no answer to continue")
			}
			last := msgs[len(msgs)-1]
			switch last.Status {
			case claudebridge.MessageStopped, claudebridge.MessageMaxTokens, claudebridge.MessageInterrupted:
			default:
				return nil, nil, claudebridge.Errorf(claudebridge.EINVALID, "Only an answer cut by Stop, max_tokens or a restart can be continued (this one is %s)", last.Status)
			}
			if last.Role != "assistant" || strings.TrimSpace(last.Content) == "" {
				return nil, nil, claudebridge.Errorf(claudebridge.EINVALID, "There is no answer to continue")
			}
			t.msg, t.base, t.prior, t.priorCounted = &last, last.Content, last.Usage, last.OutputTokensCounted
			t.msg.Status, t.msg.TurnID, t.msg.Error, t.msg.Model = claudebridge.MessageStreaming, t.id, "", conv.Model
			// Claimed first: streaming again under a lapsed owner, it
			// could be swept at once.
			if err := s.claim(ctx, t.msg.ID); err != nil {
				return nil, nil, err
			}
			if err := cs.UpdateMessage(ctx, t.msg); err != nil {
				return nil, nil, err
			}
			frame.UserMessageID = msgs[len(msgs)-2].ID
		} else {
			i := indexOf(msgs, req.messageID)
			if i < 1 || msgs[i].Role != "assistant" || msgs[i-1].Role != "user" {
				return nil, nil, claudebridge.Errorf(claudebridge.ENOTFOUND, "message_id: no answer of this conversation has that id")
			}
			if err := cs.DeleteMessagesFrom(ctx, conv.ID, msgs[i].Seq); err != nil {
				return nil, nil, err
			}
			frame.UserMessageID = msgs[i-1].ID
			if err := newAnswer(); err != nil {
				return nil, nil, err
			}
		}
	default:
		return nil, nil, claudebridge.Errorf(claudebridge.EINVALID, "type: unknown")
	}
	frame.MessageID = t.msg.ID

	t.req, err = s.buildRequest(ctx, user, conv, t, history)
	if err != nil {
		// The answer is stored as failed: the conversation stays consistent
		// and the page can offer Retry.
		t.msg.Status, t.msg.Error = claudebridge.MessageError, claudebridge.ErrorMessage(err)
		cs.UpdateMessage(context.WithoutCancel(ctx), t.msg)
		return nil, nil, err
	}
	launched = true
	s.turns.launch(t)
	return t, frame, nil
}

// conversationFor finds the conversation of a turn, or makes it for a send
// without one, with the model or prompt chosen with the send applied;
// changed says they differ from what is stored, for the caller to save.
// A new conversation is stored here, unless the store stores it with the
// turn's start (isNew: it has its id, and is not stored yet).
func (s *Server) conversationFor(ctx context.Context, user *claudebridge.User, req turnRequest) (c *claudebridge.Conversation, changed, isNew bool, err error) {
	cs := s.opts.Conversations
	if req.promptID != "" {
		if _, err := s.opts.Prompts.Prompt(ctx, user.ID, req.promptID); err != nil {
			return nil, false, false, err
		}
	}
	if req.conversationID == "" {
		if req.kind != "send" {
			return nil, false, false, claudebridge.Errorf(claudebridge.EINVALID, "conversation_id: Field required")
		}
		c = &claudebridge.Conversation{UserID: user.ID, Title: titleOf(req.text), Model: req.model, PromptID: req.promptID}
		if c.Model == "" {
			if c.Model, err = s.defaultModel(ctx); err != nil {
				return nil, false, false, err
			}
		}
		if _, ok := s.turnStarter(); ok {
			c.ID = randomID("conv_")
			return c, false, true, nil
		}
		return c, false, false, cs.CreateConversation(ctx, c)
	}
	if c, err = cs.Conversation(ctx, user.ID, req.conversationID); err != nil {
		return nil, false, false, err
	}
	if req.model != "" && req.model != c.Model {
		c.Model, changed = req.model, true
	}
	if req.promptID != "" && req.promptID != c.PromptID {
		c.PromptID, changed = req.promptID, true
	}
	return c, changed, false, nil
}

func indexOf(msgs []claudebridge.Message, id string) int {
	for i := range msgs {
		if msgs[i].ID == id {
			return i
		}
	}
	return -1
}

type wireMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// buildRequest makes the Messages call of a turn: the conversation up to
// the answer being written (for a continuation, that answer's text as the
// last, assistant, message to go on from), the saved prompt as system, the
// chat defaults, and the model's sampling rule. msgs are the
// conversation's messages, read when nil.
func (s *Server) buildRequest(ctx context.Context, user *claudebridge.User, conv *claudebridge.Conversation, t *turn, msgs []claudebridge.Message) (*claudebridge.Request, error) {
	if msgs == nil {
		var err error
		if msgs, err = s.opts.Conversations.Messages(ctx, user.ID, conv.ID); err != nil {
			return nil, err
		}
	}
	var history []wireMessage
	for _, m := range msgs {
		content := m.Content
		if m.ID == t.msg.ID {
			if t.base == "" {
				break
			}
			// The API refuses a final assistant message that ends in white space.
			content = strings.TrimRight(t.base, " \t\r\n")
		}
		if strings.TrimSpace(content) == "" || (m.Role != "user" && m.Role != "assistant") {
			continue // failed answers without text
		}
		if len(history) == 0 && m.Role != "user" {
			continue
		}
		if n := len(history); n > 0 && history[n-1].Role == m.Role {
			// Two messages of one role in a row (after an answer that failed
			// empty): the API wants roles to alternate, so they are joined.
			history[n-1].Content += "\n\n" + content
			continue
		}
		history = append(history, wireMessage{m.Role, content})
		if m.ID == t.msg.ID {
			break
		}
	}
	if len(history) == 0 {
		return nil, claudebridge.Errorf(claudebridge.EINVALID, "There is nothing to answer")
	}
	body := map[string]any{
		"model":      conv.Model,
		"max_tokens": s.opts.Defaults.MaxTokens,
		"messages":   history,
		"stream":     true,
	}
	if s.opts.Defaults.Temperature >= 0 {
		body["temperature"] = s.opts.Defaults.Temperature
	}
	if s.opts.Defaults.TopK > 0 {
		body["top_k"] = s.opts.Defaults.TopK
	}
	if conv.PromptID != "" {
		if p, err := s.opts.Prompts.Prompt(ctx, user.ID, conv.PromptID); err == nil {
			body["system"] = p.Text
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	r, err := anthropic.ParseRequest(b, http.Header{}, false)
	if err != nil {
		return nil, err
	}
	return r, nil
}
