package bedrockemu

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/claudebridge/claudebridge/bedrockwire"
)

// checkInvokeBody applies Bedrock's rules for an Anthropic InvokeModel body
// and returns its top-level fields. Two layers answer, as on Bedrock: the
// request validator ("Malformed input request: #: ...") for the shape of the
// envelope, then the model ("<path>: Extra inputs are not permitted",
// "invalid beta flag", sampling rules) for what the model takes.
// headerBetas are flags sent in an anthropic-beta HTTP header, which Bedrock
// also reads.
func checkInvokeBody(m *bedrockModel, body []byte, headerBetas []string) (map[string]json.RawMessage, *bedrockwire.Error) {
	fields, betas, e := bedrockwire.Envelope(body)
	if e != nil {
		return nil, e
	}

	for _, flag := range append(betas, headerBetas...) {
		if !m.takesBeta(flag) {
			return nil, bedrockwire.ValidationError(msgInvalidBeta)
		}
	}
	betas = append(betas, headerBetas...)

	var extra []string
	var names []string
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !m.takesField(name) && name != "model" && name != "stream" {
			extra = append(extra, name+": Extra inputs are not permitted")
		}
	}
	extra = append(extra, rejectedToolInputs(m, fields["tools"], betas)...)
	if len(extra) > 0 {
		return nil, bedrockwire.ValidationError(strings.Join(extra, ", "))
	}

	if m.SamplingExclusive && present(fields["temperature"]) && present(fields["top_p"]) {
		return nil, bedrockwire.ValidationError(msgSamplingExclusive)
	}
	return fields, nil
}

// rejectedToolInputs names the custom-tool fields the model does not take
// with the given betas, in Bedrock's "tools.N.custom.field" form.
func rejectedToolInputs(m *bedrockModel, raw json.RawMessage, betas []string) []string {
	var tools []map[string]json.RawMessage
	if json.Unmarshal(raw, &tools) != nil {
		return nil
	}
	var out []string
	for i, tool := range tools {
		var typ string
		json.Unmarshal(tool["type"], &typ)
		if typ != "" && typ != "custom" {
			continue
		}
		for _, f := range rejectedToolFields {
			if _, ok := tool[f]; !ok {
				continue
			}
			if beta, ok := m.ToolFields[f]; ok && (beta == "" || contains(betas, beta)) {
				continue
			}
			out = append(out, "tools."+strconv.Itoa(i)+".custom."+f+": Extra inputs are not permitted")
		}
	}
	return out
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// headerBetas reads the comma-separated anthropic-beta header.
func headerBetas(value string) []string {
	var out []string
	for _, f := range strings.Split(value, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
