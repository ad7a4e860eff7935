package anthropic

import (
	"strconv"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
)

// Catalog lists the Claude models that current Anthropic SDKs name, newest
// first: the ids a client may send, the aliases that point at them, and what
// GET /v1/models says of them. Upstreams map these ids to their own.
var Catalog = []CatalogModel{
	{ID: "claude-opus-5-5", DisplayName: "Claude Opus 5.5", Created: "2026-10-20"},
	{ID: "claude-sonnet-5-5", DisplayName: "Claude Sonnet 5.5", Created: "2026-10-20"},
	{ID: "claude-haiku-5-5", DisplayName: "Claude Haiku 5.5", Created: "2026-10-20"},
	{ID: "claude-fable-5-1", DisplayName: "Claude Fable 5.1", Created: "2026-09-15"},
	{ID: "claude-mythos-5-1", DisplayName: "Claude Mythos 5.1", Created: "2026-09-15"},
	{ID: "claude-opus-5", DisplayName: "Claude Opus 5", Created: "2026-07-21"},
	{ID: "claude-sonnet-5", DisplayName: "Claude Sonnet 5", Created: "2026-07-21"},
	{ID: "claude-fable-5", DisplayName: "Claude Fable 5", Created: "2026-07-21"},
	{ID: "claude-mythos-5", DisplayName: "Claude Mythos 5", Created: "2026-07-21"},
	{ID: "claude-opus-4-8", DisplayName: "Claude Opus 4.8", Created: "2026-06-02"},
	{ID: "claude-opus-4-7", DisplayName: "Claude Opus 4.7", Created: "2026-04-16"},
	{ID: "claude-mythos-preview", DisplayName: "Claude Mythos Preview", Created: "2026-04-07"},
	{ID: "claude-sonnet-4-6", DisplayName: "Claude Sonnet 4.6", Created: "2026-02-17"},
	{ID: "claude-opus-4-6", DisplayName: "Claude Opus 4.6", Created: "2026-02-05"},
	{ID: "claude-opus-4-5-20251101", Alias: "claude-opus-4-5", DisplayName: "Claude Opus 4.5", Created: "2025-11-24"},
	{ID: "claude-haiku-4-5-20251001", Alias: "claude-haiku-4-5", DisplayName: "Claude Haiku 4.5", Created: "2025-10-15"},
	{ID: "claude-sonnet-4-5-20250929", Alias: "claude-sonnet-4-5", DisplayName: "Claude Sonnet 4.5", Created: "2025-09-29"},
}

// CatalogModel is one entry of Catalog.
type CatalogModel struct {
	ID          string // the canonical id, dated where Anthropic dates it
	Alias       string // the undated alias, if the id is dated
	DisplayName string
	Created     string // release date, YYYY-MM-DD
}

// Model returns the entry as the domain's Model.
func (m CatalogModel) Model() claudebridge.Model {
	t, _ := time.Parse(time.DateOnly, m.Created)
	return claudebridge.Model{ID: m.ID, DisplayName: m.DisplayName, CreatedAt: t}
}

// Lookup finds a catalogue entry by id or alias.
func Lookup(id string) (CatalogModel, bool) {
	for _, m := range Catalog {
		if m.ID == id || m.Alias == id {
			return m, true
		}
	}
	return CatalogModel{}, false
}

// Version returns the generation of a Claude model id as major*10+minor
// ("claude-sonnet-4-5-20250929" → 45, "claude-opus-5" → 50,
// "claude-3-7-sonnet-latest" → 37), or 0 when the id is not a Claude id.
// Rules that depend on the generation use it, so that ids released after
// this build follow the rules of their family.
func Version(id string) int {
	id = strings.TrimPrefix(id, "claude-")
	parts := strings.Split(id, "-")
	var nums []int
	for _, p := range parts {
		if len(p) == 8 { // a date
			continue
		}
		if n, err := strconv.Atoi(p); err == nil && n < 100 {
			nums = append(nums, n)
		} else if len(nums) > 0 {
			break
		}
	}
	switch len(nums) {
	case 0:
		return 0
	case 1:
		return nums[0] * 10
	}
	return nums[0]*10 + nums[1]
}
