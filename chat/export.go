package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
)

// exportJSON is the JSON export: a document of every conversation chosen,
// with its messages. POST /api/import takes it back, or one conversation
// alone (an exportedConversation object).
type exportJSON struct {
	Format        string                 `json:"format"` // "claudebridge.chat"
	Version       int                    `json:"version"`
	ExportedAt    time.Time              `json:"exported_at"`
	Conversations []exportedConversation `json:"conversations"`
}

type exportedConversation struct {
	ID        string            `json:"id"`
	Title     string            `json:"title"`
	Model     string            `json:"model"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	Messages  []exportedMessage `json:"messages"`
}

type exportedMessage struct {
	Role      string             `json:"role"`
	Content   string             `json:"content"`
	Status    string             `json:"status,omitempty"`
	Error     string             `json:"error,omitempty"`
	Model     string             `json:"model,omitempty"`
	Usage     claudebridge.Usage `json:"usage"`
	CreatedAt time.Time          `json:"created_at"`
}

const exportFormat = "claudebridge.chat"

func (s *Server) exportOne(ctx context.Context, userID int64, c *claudebridge.Conversation) (exportedConversation, error) {
	msgs, err := s.opts.Conversations.Messages(ctx, userID, c.ID)
	if err != nil {
		return exportedConversation{}, err
	}
	e := exportedConversation{ID: c.ID, Title: c.Title, Model: c.Model, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Messages: []exportedMessage{}}
	for _, m := range msgs {
		e.Messages = append(e.Messages, exportedMessage{m.Role, m.Content, m.Status, m.Error, m.Model, m.Usage, m.CreatedAt})
	}
	return e, nil
}

func (s *Server) exportConversation(w http.ResponseWriter, r *http.Request) {
	uid := userOf(r).user.ID
	c, err := s.opts.Conversations.Conversation(r.Context(), uid, r.PathValue("id"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	e, err := s.exportOne(r.Context(), uid, c)
	if err != nil {
		s.writeError(w, err)
		return
	}
	s.writeExport(w, r, []exportedConversation{e}, c.ID)
}

func (s *Server) exportAll(w http.ResponseWriter, r *http.Request) {
	uid := userOf(r).user.ID
	var all []exportedConversation
	cursor := ""
	for {
		list, next, err := s.opts.Conversations.Conversations(r.Context(), uid, cursor, 100)
		if err != nil {
			s.writeError(w, err)
			return
		}
		for i := range list {
			e, err := s.exportOne(r.Context(), uid, &list[i])
			if err != nil {
				s.writeError(w, err)
				return
			}
			all = append(all, e)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if all == nil {
		all = []exportedConversation{}
	}
	s.writeExport(w, r, all, "conversations")
}

// writeExport answers format=json (the default) or format=md, as a download.
func (s *Server) writeExport(w http.ResponseWriter, r *http.Request, list []exportedConversation, name string) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.json"`, name))
		writeJSON(w, http.StatusOK, exportJSON{Format: exportFormat, Version: 1, ExportedAt: time.Now().UTC(), Conversations: list})
	case "md", "markdown":
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.md"`, name))
		w.Write([]byte(markdown(list)))
	default:
		s.writeError(w, claudebridge.Errorf(claudebridge.EINVALID, "format: want json or md"))
	}
}

// markdown renders conversations for reading: a heading per conversation,
// one per message with its role; answers cut short say how.
func markdown(list []exportedConversation) string {
	var b strings.Builder
	for i, c := range list {
		if i > 0 {
			b.WriteString("\n---\n\n")
		}
		fmt.Fprintf(&b, "# %s\n\n_%s · %s_\n\n", c.Title, c.Model, c.CreatedAt.Format(time.RFC3339))
		for _, m := range c.Messages {
			role := "User"
			if m.Role == "assistant" {
				role = "Assistant"
			}
			fmt.Fprintf(&b, "## %s\n\n%s\n\n", role, strings.TrimRight(m.Content, "\n"))
			if m.Status != "" && m.Status != claudebridge.MessageComplete {
				fmt.Fprintf(&b, "_(%s%s)_\n\n", m.Status, map[bool]string{true: ": " + m.Error, false: ""}[m.Error != ""])
			}
		}
	}
	return b.String()
}

// importConversations stores the conversations of a JSON export (or one
// exported conversation) as new conversations of the user, with new ids.
func (s *Server) importConversations(w http.ResponseWriter, r *http.Request) {
	var raw map[string]json.RawMessage
	if err := decode(r, &raw); err != nil {
		s.writeError(w, err)
		return
	}
	b, _ := json.Marshal(raw)
	var list []exportedConversation
	if _, ok := raw["conversations"]; ok {
		var doc exportJSON
		if err := json.Unmarshal(b, &doc); err != nil {
			s.writeError(w, claudebridge.Errorf(claudebridge.EINVALID, "Not a claudebridge export: %v", err))
			return
		}
		list = doc.Conversations
	} else if _, ok := raw["messages"]; ok {
		var one exportedConversation
		if err := json.Unmarshal(b, &one); err != nil {
			s.writeError(w, claudebridge.Errorf(claudebridge.EINVALID, "Not a claudebridge export: %v", err))
			return
		}
		list = []exportedConversation{one}
	} else {
		s.writeError(w, claudebridge.Errorf(claudebridge.EINVALID, "Not a claudebridge export: want \"conversations\" or \"messages\""))
		return
	}
	for _, c := range list {
		for j, m := range c.Messages {
			if m.Role != "user" && m.Role != "assistant" {
				s.writeError(w, claudebridge.Errorf(claudebridge.EINVALID, "messages.%d.role: want user or assistant", j))
				return
			}
		}
	}
	uid := userOf(r).user.ID
	imports := make([]claudebridge.ImportedConversation, 0, len(list))
	for _, e := range list {
		c := &claudebridge.Conversation{UserID: uid, Title: strings.TrimSpace(e.Title), Model: e.Model}
		if c.Title == "" {
			c.Title = "Imported chat"
		}
		if c.Model == "" {
			c.Model, _ = s.defaultModel(r.Context())
		}
		ic := claudebridge.ImportedConversation{Conversation: c}
		for _, em := range e.Messages {
			status := em.Status
			switch status {
			case "", claudebridge.MessageStreaming:
				// An export taken mid-answer holds a partial text.
				status = map[bool]string{true: claudebridge.MessageInterrupted, false: claudebridge.MessageComplete}[status != ""]
			}
			ic.Messages = append(ic.Messages, &claudebridge.Message{Role: em.Role, Content: em.Content, Status: status,
				Error: em.Error, Model: em.Model, Usage: em.Usage})
		}
		imports = append(imports, ic)
	}
	// All or nothing: a failure half-way leaves no half-imported history.
	if err := s.opts.Conversations.ImportConversations(r.Context(), imports); err != nil {
		s.writeError(w, err)
		return
	}
	n := len(imports)
	writeJSON(w, http.StatusOK, map[string]int{"imported": n})
}
