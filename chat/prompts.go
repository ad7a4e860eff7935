package chat

import (
	"net/http"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
)

type promptJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toPromptJSON(p *claudebridge.Prompt) promptJSON {
	return promptJSON{p.ID, p.Name, p.Text, p.CreatedAt, p.UpdatedAt}
}

// readPrompt reads {"name","text"}: a name is required, the text may be
// long but not empty.
func readPrompt(r *http.Request, p *claudebridge.Prompt) error {
	var body struct {
		Name string `json:"name"`
		Text string `json:"text"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	p.Name, p.Text = strings.TrimSpace(body.Name), body.Text
	if p.Name == "" {
		return claudebridge.Errorf(claudebridge.EINVALID, "name: Field required")
	}
	if strings.TrimSpace(p.Text) == "" {
		return claudebridge.Errorf(claudebridge.EINVALID, "text: Field required")
	}
	return nil
}

func (s *Server) listPrompts(w http.ResponseWriter, r *http.Request) {
	list, err := s.opts.Prompts.Prompts(r.Context(), userOf(r).user.ID)
	if err != nil {
		s.writeError(w, err)
		return
	}
	data := make([]promptJSON, 0, len(list))
	for i := range list {
		data = append(data, toPromptJSON(&list[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

func (s *Server) createPrompt(w http.ResponseWriter, r *http.Request) {
	p := &claudebridge.Prompt{UserID: userOf(r).user.ID}
	if err := readPrompt(r, p); err != nil {
		s.writeError(w, err)
		return
	}
	if err := s.opts.Prompts.CreatePrompt(r.Context(), p); err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, toPromptJSON(p))
}

func (s *Server) getPrompt(w http.ResponseWriter, r *http.Request) {
	p, err := s.opts.Prompts.Prompt(r.Context(), userOf(r).user.ID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toPromptJSON(p))
}

func (s *Server) updatePrompt(w http.ResponseWriter, r *http.Request) {
	p, err := s.opts.Prompts.Prompt(r.Context(), userOf(r).user.ID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	if err := readPrompt(r, p); err != nil {
		s.writeError(w, err)
		return
	}
	if err := s.opts.Prompts.UpdatePrompt(r.Context(), p); err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toPromptJSON(p))
}

func (s *Server) deletePrompt(w http.ResponseWriter, r *http.Request) {
	if err := s.opts.Prompts.DeletePrompt(r.Context(), userOf(r).user.ID, r.PathValue("id")); err != nil {
		s.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
