package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/limits"
)

type modelJSON struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

func toJSON(m claudebridge.Model) modelJSON {
	return modelJSON{Type: "model", ID: m.ID, DisplayName: m.DisplayName, CreatedAt: m.CreatedAt.UTC().Format(time.RFC3339)}
}

// serveModels answers GET /v1/models in Anthropic's list shape, with its
// paging: limit (1-1000, default 20), after_id and before_id. Like every
// call of the Models API it needs anthropic-version (the API's reference
// lists it as required; the official SDKs always send it), and is refused
// without one as /v1/messages is. A virtual key with a model list sees
// only the models it may call.
func (g *Gateway) serveModels(w http.ResponseWriter, r *http.Request, id string, key *limits.Entry) {
	if err := checkVersion(r.Header); err != nil {
		anthropic.WriteError(w, err, id)
		return
	}
	models, err := g.Upstream.Models(r.Context())
	if err != nil {
		anthropic.WriteError(w, err, id)
		return
	}
	models = allowed(models, key)
	q := r.URL.Query()
	limit := 20
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			anthropic.WriteError(w, claudebridge.Errorf(claudebridge.EINVALID, "limit: Input should be an integer between 1 and 1000"), id)
			return
		}
		limit = n
	}
	var lo, hi int
	var hasMore bool
	after, before := q.Get("after_id"), q.Get("before_id")
	switch {
	case after != "":
		i := indexOf(models, after)
		if i < 0 {
			anthropic.WriteError(w, claudebridge.Errorf(claudebridge.EINVALID, "after_id: unknown model %q", after), id)
			return
		}
		lo, hi = i+1, min(i+1+limit, len(models))
		hasMore = hi < len(models)
	case before != "":
		i := indexOf(models, before)
		if i < 0 {
			anthropic.WriteError(w, claudebridge.Errorf(claudebridge.EINVALID, "before_id: unknown model %q", before), id)
			return
		}
		lo, hi = max(0, i-limit), i
		hasMore = lo > 0
	default:
		hi = min(limit, len(models))
		hasMore = hi < len(models)
	}
	page := models[lo:hi]
	data := make([]modelJSON, len(page))
	for i, m := range page {
		data[i] = toJSON(m)
	}
	var first, last any
	if len(data) > 0 {
		first, last = data[0].ID, data[len(data)-1].ID
	}
	writeJSON(w, http.StatusOK, marshal(map[string]any{"data": data, "has_more": hasMore, "first_id": first, "last_id": last}))
}

// serveModel answers GET /v1/models/{id}; anthropic-version is needed as
// for the list, and a model the list would not show is not found.
func (g *Gateway) serveModel(w http.ResponseWriter, r *http.Request, id string, key *limits.Entry, model string) {
	if err := checkVersion(r.Header); err != nil {
		anthropic.WriteError(w, err, id)
		return
	}
	models, err := g.Upstream.Models(r.Context())
	if err != nil {
		anthropic.WriteError(w, err, id)
		return
	}
	models = allowed(models, key)
	if i := indexOf(models, model); i >= 0 {
		writeJSON(w, http.StatusOK, marshal(toJSON(models[i])))
		return
	}
	if c, ok := anthropic.Lookup(model); ok {
		if i := indexOf(models, c.ID); i >= 0 {
			writeJSON(w, http.StatusOK, marshal(toJSON(models[i])))
			return
		}
	}
	anthropic.WriteError(w, claudebridge.Errorf(claudebridge.ENOTFOUND, "model: %s", model), id)
}

// allowed returns the models key may call: all of them for a key without
// a model list (static, none, or a virtual key without --models).
func allowed(models []claudebridge.Model, key *limits.Entry) []claudebridge.Model {
	if key == nil {
		return models
	}
	out := make([]claudebridge.Model, 0, len(models))
	for _, m := range models {
		if key.AllowsModel(m.ID) {
			out = append(out, m)
		}
	}
	return out
}

func indexOf(models []claudebridge.Model, id string) int {
	for i, m := range models {
		if m.ID == id {
			return i
		}
	}
	return -1
}
