package bedrock

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/claudebridge/claudebridge"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// bedrockVersion is the anthropic_version Bedrock's InvokeModel takes.
const bedrockVersion = "bedrock-2023-05-31"

// invokeBody makes the InvokeModel body of r: every top-level field as its
// raw bytes, less "model" (it goes into the path) and "stream", with
// anthropic_version set and betas as the anthropic_beta array (absent when
// empty). Top-level keys are sorted; nested values are the client's bytes.
func invokeBody(r *claudebridge.Request, betas []string) []byte {
	keys := make([]string, 0, len(r.Fields))
	size := 64
	for k, v := range r.Fields {
		switch k {
		case "model", "stream", "anthropic_version", "anthropic_beta":
			continue
		}
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(`{"anthropic_version":"` + bedrockVersion + `"`)
	if len(betas) > 0 {
		bs, _ := json.Marshal(betas)
		b.WriteString(`,"anthropic_beta":`)
		b.Write(bs)
	}
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(r.Fields[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// dropFields removes every field matching the generalised paths from body,
// editing the bytes in place of the field only: the rest of the body,
// thinking signatures included, is left byte for byte. It returns the
// concrete paths removed.
func dropFields(body []byte, patterns []string) ([]byte, []string) {
	var removed []string
	for _, p := range patterns {
		for _, concrete := range expand(body, strings.Split(p, "."), "") {
			out, err := sjson.DeleteBytes(body, concrete)
			if err != nil {
				continue
			}
			body = out
			removed = append(removed, concrete)
		}
	}
	return body, removed
}

// expand lists the concrete gjson paths of body that match segs ("*" for
// any array index) and exist.
func expand(body []byte, segs []string, prefix string) []string {
	if len(segs) == 0 {
		if prefix != "" && gjson.GetBytes(body, prefix).Exists() {
			return []string{prefix}
		}
		return nil
	}
	join := func(s string) string {
		if prefix == "" {
			return s
		}
		return prefix + "." + s
	}
	if segs[0] != "*" {
		return expand(body, segs[1:], join(escapeKey(segs[0])))
	}
	arr := gjson.GetBytes(body, prefix)
	if !arr.IsArray() {
		return nil
	}
	var out []string
	n := len(arr.Array())
	for i := 0; i < n; i++ {
		out = append(out, expand(body, segs[1:], join(strconv.Itoa(i)))...)
	}
	return out
}

// rewriteModel sets the "model" of a Messages JSON object (at path) to the
// id the client asked for, and strips amazon-bedrock-invocationMetrics.
// Only those bytes change.
func rewriteModel(data []byte, path, model string) []byte {
	if model != "" {
		if out, err := sjson.SetBytes(data, path, model); err == nil {
			data = out
		}
	}
	return stripMetrics(data)
}

const metricsKey = "amazon-bedrock-invocationMetrics"

// stripMetrics removes Bedrock's invocation metrics from an event or body;
// the check is a byte search, so events without them cost nothing more.
func stripMetrics(data []byte) []byte {
	if !bytes.Contains(data, []byte(metricsKey)) {
		return data
	}
	if out, err := sjson.DeleteBytes(data, metricsKey); err == nil {
		data = out
	}
	if bytes.Contains(data, []byte(metricsKey)) {
		if out, err := sjson.DeleteBytes(data, "message."+metricsKey); err == nil {
			data = out
		}
	}
	return data
}

// messageStart rewrites a message_start event: the client's model id, and
// the cache fields of usage always present (0 when Bedrock left them out).
func messageStart(data []byte, model string) []byte {
	data = rewriteModel(data, "message.model", model)
	for _, f := range []string{"message.usage.cache_creation_input_tokens", "message.usage.cache_read_input_tokens"} {
		if !gjson.GetBytes(data, f).Exists() {
			if out, err := sjson.SetBytes(data, f, 0); err == nil {
				data = out
			}
		}
	}
	return data
}
