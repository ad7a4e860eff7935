package bedrock

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/claudebridge/claudebridge/models"
	"github.com/tidwall/gjson"
)

// rules are what Bedrock takes for one base model: the table's knowledge and
// what the upstream's 400s taught since start-up. Safe for concurrent use.
type rules struct {
	mu          sync.RWMutex
	accept      map[string]bool
	reject      map[string]bool
	drops       []string  // generalised field paths, "*" for any index
	compiled    *dropTrie // drops compiled; replaced when they change, never edited
	cannotCount bool
	foldSystem  bool // role "system" messages are refused: fold them into system
}

func newRules(spec *models.Bedrock) *rules {
	r := &rules{accept: map[string]bool{}, reject: map[string]bool{}}
	for _, b := range rejectedEverywhere {
		r.reject[b] = true
	}
	if spec != nil {
		for _, b := range spec.Accept {
			r.accept[b] = true
		}
		for _, b := range spec.Reject {
			r.reject[b] = true
		}
		r.drops = append(r.drops, spec.Drop...)
		r.compiled = compileDrops(r.drops)
		r.cannotCount = spec.CannotCount
	}
	return r
}

// rulesFor returns the rules of a base model, creating them from the table
// on first use. Models the table does not know (and "" for unknown) start
// with no knowledge and learn.
func (u *Upstream) rulesFor(base string) *rules {
	u.rulesMu.Lock()
	defer u.rulesMu.Unlock()
	if r, ok := u.rules[base]; ok {
		return r
	}
	var spec *models.Bedrock
	for i := range models.All {
		if models.All[i].Bedrock.ID == base {
			spec = &models.All[i].Bedrock
		}
	}
	r := newRules(spec)
	u.rules[base] = r
	return r
}

// betas returns the flags of asked to send: without the operator's DropBetas,
// the known-rejected ones, and context-1m where the model does not take it.
func (r *rules) betas(asked, operatorDrops []string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for _, b := range asked {
		switch {
		case slices.Contains(operatorDrops, b), r.reject[b]:
		case b == context1M && !r.accept[b]:
		default:
			out = append(out, b)
		}
	}
	return out
}

// learnBetas handles "invalid beta flag" for the flags sent: those of
// unknown status are remembered as rejected and returned. When every flag
// sent was known to be accepted, the table is wrong for this account: all
// are returned (to drop from this request) but none is remembered.
func (r *rules) learnBetas(sent []string) (dropped []string, remembered bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range sent {
		if !r.accept[b] {
			dropped = append(dropped, b)
		}
	}
	if len(dropped) == 0 {
		return sent, false
	}
	for _, b := range dropped {
		r.reject[b] = true
	}
	return dropped, true
}

// dropPaths returns the field paths to remove from requests for this
// model, compiled; nil when there are none.
func (r *rules) dropPaths() *dropTrie {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.compiled
}

// learnDrop remembers a generalised path; it reports false when the path was
// already known (so the caller does not loop on it).
func (r *rules) learnDrop(path string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.Contains(r.drops, path) {
		return false
	}
	r.drops = append(slices.Clip(r.drops), path)
	r.compiled = compileDrops(r.drops)
	return true
}

// learnFoldSystem remembers that the model refuses role "system" messages;
// false if that was known.
func (r *rules) learnFoldSystem() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.foldSystem {
		return false
	}
	r.foldSystem = true
	return true
}

func (r *rules) foldsSystem() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.foldSystem
}

func (r *rules) setCannotCount() {
	r.mu.Lock()
	r.cannotCount = true
	r.mu.Unlock()
}

func (r *rules) canCount() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return !r.cannotCount
}

// isInvalidBeta reports whether a ValidationException message is Bedrock's
// answer to an anthropic_beta flag it does not take: "invalid beta flag",
// also as "The model returned the following errors: invalid beta flag".
func isInvalidBeta(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "invalid beta flag")
}

// extraInputs finds the field paths of "<path>: Extra inputs are not
// permitted" in a ValidationException message, e.g. "The model returned the
// following errors: tools.0.custom.eager_input_streaming: Extra inputs are not
// permitted". Several errors may be listed in one message.
var extraInputs = regexp.MustCompile(`([A-Za-z0-9_.\-\[\]]+): Extra inputs are not permitted`)

func extraInputPaths(msg string) []string {
	var out []string
	for _, m := range extraInputs.FindAllStringSubmatch(msg, -1) {
		out = append(out, m[1])
	}
	return out
}

// extraneousKey finds the top-level keys of Bedrock's request validator's
// "Malformed input request: #: extraneous key [output_config] is not
// permitted, please reformat your input and try again." Nested ones
// ("#/tools/4: extraneous key [...]") are left alone: the validator lists
// them for every variant of a union the value failed, keys that are valid
// in the variant meant among them.
var extraneousKey = regexp.MustCompile(`#: extraneous key \[([^\]]+)\] is not permitted`)

func extraneousKeys(msg string) []string {
	var out []string
	for _, m := range extraneousKey.FindAllStringSubmatch(msg, -1) {
		out = append(out, m[1])
	}
	return out
}

// generalise maps a path from the validator's message onto body: segments
// that are not keys of the body (the validator names the variant of a union,
// e.g. "custom" in tools.0.custom.defer_loading) are skipped, array indices
// become "*". ok is false when the path does not lead to a field of body.
func generalise(body []byte, path string) (string, bool) {
	segs := strings.Split(path, ".")
	cur := gjson.ParseBytes(body)
	var out []string
	for i, s := range segs {
		switch {
		case cur.IsArray():
			n, err := strconv.Atoi(s)
			if err != nil {
				continue // a variant name between the array and its element
			}
			cur = cur.Get(strconv.Itoa(n))
			out = append(out, "*")
		case cur.IsObject():
			v := cur.Get(escapeKey(s))
			if !v.Exists() {
				if i == len(segs)-1 {
					return "", false
				}
				continue // a variant name, not a key
			}
			cur = v
			out = append(out, s)
		default:
			return "", false
		}
	}
	if len(out) == 0 || out[len(out)-1] == "*" {
		return "", false
	}
	return strings.Join(out, "."), true
}

// escapeKey escapes the characters gjson and sjson give a meaning in paths.
func escapeKey(k string) string {
	if !strings.ContainsAny(k, `.*?|#@\!=<>%`) {
		return k
	}
	var b strings.Builder
	for _, c := range k {
		if strings.ContainsRune(`.*?|#@\!=<>%`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
