package chat

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/claudebridge/claudebridge"
)

type conversationJSON struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Model     string    `json:"model"`
	PromptID  string    `json:"prompt_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type messageJSON struct {
	ID      string             `json:"id"`
	Seq     int                `json:"seq"`
	Role    string             `json:"role"`
	Content string             `json:"content"`
	Status  string             `json:"status"`
	Error   string             `json:"error,omitempty"`
	Model   string             `json:"model,omitempty"`
	Usage   claudebridge.Usage `json:"usage"`
	// OutputTokensCounted says usage.output_tokens was (partly) counted
	// from the text, not reported by the model.
	OutputTokensCounted bool      `json:"output_tokens_counted,omitempty"`
	TurnID              string    `json:"turn_id,omitempty"`
	CreatedAt           time.Time `json:"created_at"`
}

type conversationWithMessages struct {
	conversationJSON
	Messages []messageJSON `json:"messages"`
}

func toConversationJSON(c *claudebridge.Conversation) conversationJSON {
	return conversationJSON{ID: c.ID, Title: c.Title, Model: c.Model, PromptID: c.PromptID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func toMessageJSON(m *claudebridge.Message) messageJSON {
	return messageJSON{ID: m.ID, Seq: m.Seq, Role: m.Role, Content: m.Content, Status: m.Status, Error: m.Error,
		Model: m.Model, Usage: m.Usage, OutputTokensCounted: m.OutputTokensCounted, TurnID: m.TurnID, CreatedAt: m.CreatedAt}
}

func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	type modelJSON struct {
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
	}
	list, err := s.modelList(r.Context())
	if err != nil {
		s.log.Warn("chat: listing models", "err", err)
	}
	models := []modelJSON{}
	for _, m := range list {
		models = append(models, modelJSON{m.ID, m.DisplayName})
	}
	def, _ := s.defaultModel(r.Context())
	answer := map[string]any{"models": models, "default_model": def, "max_tokens": s.opts.Defaults.MaxTokens,
		"provider": s.opts.Provider}
	if s.opts.SocketURL != "" {
		answer["socket_url"] = s.opts.SocketURL
	}
	writeJSON(w, http.StatusOK, answer)
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			s.writeError(w, claudebridge.Errorf(claudebridge.EINVALID, "limit: want a whole number from 1 to 100"))
			return
		}
		limit = n
	}
	var list []claudebridge.Conversation
	var next string
	var err error
	if q := r.URL.Query().Get("q"); q != "" {
		// A search answers one page, the best hits: no cursor.
		list, err = s.opts.Conversations.SearchConversations(r.Context(), userOf(r).user.ID, q, limit)
	} else {
		list, next, err = s.opts.Conversations.Conversations(r.Context(), userOf(r).user.ID, r.URL.Query().Get("cursor"), limit)
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	data := make([]conversationJSON, 0, len(list))
	for i := range list {
		data = append(data, toConversationJSON(&list[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "next_cursor": next})
}

// conversationFields are the fields a client may set; nil is "unchanged".
type conversationFields struct {
	Title    *string `json:"title"`
	Model    *string `json:"model"`
	PromptID *string `json:"prompt_id"`
}

// apply checks the fields and sets them on c.
func (s *Server) apply(r *http.Request, f conversationFields, c *claudebridge.Conversation) error {
	if f.Title != nil {
		c.Title = strings.TrimSpace(*f.Title)
		if utf8.RuneCountInString(c.Title) > 200 {
			return claudebridge.Errorf(claudebridge.EINVALID, "title: at most 200 characters")
		}
	}
	if f.Model != nil && strings.TrimSpace(*f.Model) != "" {
		c.Model = strings.TrimSpace(*f.Model)
	}
	if f.PromptID != nil {
		if *f.PromptID != "" {
			if _, err := s.opts.Prompts.Prompt(r.Context(), c.UserID, *f.PromptID); err != nil {
				return err
			}
		}
		c.PromptID = *f.PromptID
	}
	return nil
}

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request) {
	var f conversationFields
	if err := decode(r, &f); err != nil {
		s.writeError(w, err)
		return
	}
	c := &claudebridge.Conversation{UserID: userOf(r).user.ID, Title: "New chat"}
	if err := s.apply(r, f, c); err != nil {
		s.writeError(w, err)
		return
	}
	if c.Model == "" {
		m, err := s.defaultModel(r.Context())
		if err != nil {
			s.writeError(w, err)
			return
		}
		c.Model = m
	}
	if err := s.opts.Conversations.CreateConversation(r.Context(), c); err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, toConversationJSON(c))
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request) {
	uid := userOf(r).user.ID
	c, err := s.opts.Conversations.Conversation(r.Context(), uid, r.PathValue("id"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	msgs, err := s.opts.Conversations.Messages(r.Context(), uid, c.ID)
	if err != nil {
		s.writeError(w, err)
		return
	}
	out := conversationWithMessages{conversationJSON: toConversationJSON(c), Messages: make([]messageJSON, 0, len(msgs))}
	for i := range msgs {
		m := toMessageJSON(&msgs[i])
		// A message being written shows the text before its turn: the
		// page replays the turn's deltas from seq 1 on top of it.
		if m.Status == claudebridge.MessageStreaming {
			if t := s.turns.get(m.TurnID); t != nil {
				m.Content = t.base
			}
		}
		out.Messages = append(out.Messages, m)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateConversation(w http.ResponseWriter, r *http.Request) {
	var f conversationFields
	if err := decode(r, &f); err != nil {
		s.writeError(w, err)
		return
	}
	c, err := s.opts.Conversations.Conversation(r.Context(), userOf(r).user.ID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	if err := s.apply(r, f, c); err != nil {
		s.writeError(w, err)
		return
	}
	if err := s.opts.Conversations.UpdateConversation(r.Context(), c); err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toConversationJSON(c))
}

func (s *Server) deleteConversation(w http.ResponseWriter, r *http.Request) {
	uid := userOf(r).user.ID
	id := r.PathValue("id")
	if _, err := s.opts.Conversations.Conversation(r.Context(), uid, id); err != nil {
		s.writeError(w, err)
		return
	}
	if !s.turns.stopConversation(id) {
		s.stopElsewhere(r.Context(), uid, id)
	}
	if err := s.opts.Conversations.DeleteConversation(r.Context(), uid, id); err != nil {
		s.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// titleOf makes a conversation's title from its first message: its first
// line with text (fences skipped), as plain text (Markdown marks taken
// out: the list shows titles as they are), spaces collapsed, cut at a word
// near 60 characters.
func titleOf(text string) string {
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "```") || strings.HasPrefix(line, "~~~") {
			continue
		}
		if title := strings.Join(strings.Fields(plainText(line)), " "); title != "" {
			return cutTitle(title)
		}
	}
	return "New chat"
}

var (
	// blockMark is what starts a Markdown line: heading, quote, list item.
	blockMark = regexp.MustCompile(`^(?:#{1,6}\s+|(?:>\s*)+|[-*+]\s+|\d{1,9}[.)]\s+)`)
	// link is a link or an image: its label stays.
	link = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
)

// plainText takes the Markdown marks out of one line: block marks, a
// heading's closing hashes, links (their label stays), code backticks and
// emphasis. A '*', '_' or '~' between two letters or digits (snake_case,
// 2*3) is text and stays.
func plainText(line string) string {
	line = blockMark.ReplaceAllString(line, "")
	if strings.HasPrefix(line, "#") || strings.HasSuffix(line, "#") {
		line = strings.TrimRight(line, "# ")
	}
	line = link.ReplaceAllString(line, "$1")
	var b strings.Builder
	runes := []rune(line)
	for i, r := range runes {
		switch r {
		case '`':
			continue
		case '*', '_', '~':
			j := i
			for j > 0 && runes[j-1] == r {
				j--
			}
			k := i
			for k+1 < len(runes) && runes[k+1] == r {
				k++
			}
			if j > 0 && k+1 < len(runes) && isWordRune(runes[j-1]) && isWordRune(runes[k+1]) {
				b.WriteRune(r)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// cutTitle cuts a title at a word near 60 characters.
func cutTitle(text string) string {
	const max = 60
	if utf8.RuneCountInString(text) <= max {
		return text
	}
	runes := []rune(text)[:max]
	cut := string(runes)
	if i := strings.LastIndexByte(cut, ' '); i > max/2 {
		cut = cut[:i]
	}
	return cut + "…"
}
