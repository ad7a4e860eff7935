package anthropic

import (
	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/models"
)

// SamplingPolicy says what to do with a request that sets both temperature
// and top_p for a model that refuses the pair.
type SamplingPolicy string

const (
	// SamplingDropTopP keeps temperature and drops top_p, as the migration
	// guide claudebridge follows does. The default.
	SamplingDropTopP SamplingPolicy = "drop_top_p"
	// SamplingReject answers 400 invalid_request_error.
	SamplingReject SamplingPolicy = "reject"
)

// ExclusiveSampling reports whether model refuses temperature and top_p in
// the same request, as models.All says: Claude Opus 4.1 and every model
// since. Bedrock ids ("anthropic.claude-sonnet-4-5-...", "us.anthropic...")
// are judged by the Claude id inside them, ids the table does not have by
// the closest model of their family.
func ExclusiveSampling(model string) bool {
	m, ok := models.Closest(model)
	return ok && m.ExclusiveSampling
}

// ApplySampling enforces the sampling rule of r's model on r, changing r
// when the policy drops a field. It returns EINVALID under SamplingReject.
func ApplySampling(r *claudebridge.Request, policy SamplingPolicy) error {
	t, hasT := r.Fields["temperature"]
	p, hasP := r.Fields["top_p"]
	if !hasT || !hasP || isNull(t) || isNull(p) || !ExclusiveSampling(r.Model) {
		return nil
	}
	if policy == SamplingReject {
		return invalid("temperature and top_p cannot both be specified for %s; use only one", r.Model)
	}
	r.SetField("top_p", nil)
	return nil
}
