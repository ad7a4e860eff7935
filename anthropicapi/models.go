package anthropicapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/httpbody"
)

// modelsPageSize is the largest page GET /v1/models gives.
const modelsPageSize = 1000

// maxModelPages stops paging through a list that never ends.
const maxModelPages = 50

// Models lists the models of GET /v1/models, all pages, in the API's order
// (newest first).
func (u *Upstream) Models(ctx context.Context) ([]claudebridge.Model, error) {
	var models []claudebridge.Model
	after := ""
	for page := 0; page < maxModelPages; page++ {
		q := url.Values{"limit": {strconv.Itoa(u.modelsPage)}}
		if after != "" {
			q.Set("after_id", after)
		}
		resp, err := u.call(ctx, http.MethodGet, "/v1/models?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		var list struct {
			Data []struct {
				ID          string    `json:"id"`
				DisplayName string    `json:"display_name"`
				CreatedAt   time.Time `json:"created_at"`
			} `json:"data"`
			HasMore bool   `json:"has_more"`
			LastID  string `json:"last_id"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, httpbody.MaxUpstreamBytes)).Decode(&list)
		resp.Body.Close()
		if err != nil {
			u.log.Warn("anthropic api: model list unreadable", "request_id", resp.Header.Get("Request-Id"), "err", err)
			return nil, claudebridge.Errorf(claudebridge.EINTERNAL, "The Anthropic API sent an unreadable model list")
		}
		for _, m := range list.Data {
			models = append(models, claudebridge.Model{ID: m.ID, DisplayName: m.DisplayName, CreatedAt: m.CreatedAt})
		}
		if !list.HasMore || list.LastID == "" || list.LastID == after {
			return models, nil
		}
		after = list.LastID
	}
	u.log.Warn("anthropic api: model list has more pages than read", "pages", maxModelPages)
	return models, nil
}
