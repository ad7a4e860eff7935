package converse

import (
	"encoding/json"
	"strconv"
	"strings"

	claudebridge "github.com/claudebridge/claudebridge"
)

// stopReasonToMessages maps a Converse stopReason to a Messages
// stop_reason (see the package comment). The malformed_* reasons have no
// Messages twin and leave an answer a client cannot use as it is (a tool
// call that is not JSON); they become an api_error, which Anthropic clients
// retry.
func stopReasonToMessages(r string) (string, error) {
	switch r {
	case "end_turn", "tool_use", "max_tokens", "stop_sequence", "model_context_window_exceeded":
		return r, nil
	case "guardrail_intervened", "content_filtered":
		return "refusal", nil
	case "malformed_model_output", "malformed_tool_use":
		return "", &claudebridge.Error{Code: claudebridge.EINTERNAL, Status: 502,
			Message: "Bedrock stopped the answer with " + r + ": the model's output could not be parsed; the request may be retried"}
	}
	// A reason added to Converse later: the model stopped of its own accord.
	return "end_turn", nil
}

// stopReasonFromMessages maps a Messages stop_reason to a Converse stopReason.
func stopReasonFromMessages(r string) string {
	switch r {
	case "end_turn", "tool_use", "max_tokens", "stop_sequence", "model_context_window_exceeded":
		return r
	case "refusal":
		return "content_filtered"
	}
	return "end_turn"
}

// The additionalModelResponseFieldPaths that ask Bedrock for the matched
// stop sequence: a JSON pointer into the model's answer, which is the
// message_delta event in a stream.
const (
	stopSequencePath       = "/stop_sequence"
	streamStopSequencePath = "/delta/stop_sequence"
)

// stopSequenceOf reads the matched stop sequence from Converse's
// additionalModelResponseFields, where it sits at the path asked for:
// stop_sequence (Converse) or delta.stop_sequence (ConverseStream).
func stopSequenceOf(raw json.RawMessage) *string {
	var f struct {
		StopSequence *string `json:"stop_sequence"`
		Delta        struct {
			StopSequence *string `json:"stop_sequence"`
		} `json:"delta"`
	}
	if isNull(raw) || json.Unmarshal(raw, &f) != nil {
		return nil
	}
	if f.StopSequence != nil {
		return f.StopSequence
	}
	return f.Delta.StopSequence
}

// ResponseFieldPaths returns the additionalModelResponseFieldPaths of a
// Converse request body: the JSON pointers into the model's answer that the
// caller wants back in additionalModelResponseFields. nil when there are
// none or the body is not a JSON object.
func ResponseFieldPaths(body []byte) []string {
	var in struct {
		Paths []string `json:"additionalModelResponseFieldPaths"`
	}
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	return in.Paths
}

// responseFields makes additionalModelResponseFields as Bedrock does: the
// value at each of paths (JSON pointers, RFC 6901) in the model's answer
// doc, nested under the same keys. Paths that lead nowhere are left out;
// nil when none leads anywhere.
func responseFields(paths []string, doc []byte) map[string]any {
	var out map[string]any
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			continue
		}
		keys := strings.Split(p[1:], "/")
		for i, k := range keys {
			keys[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(k)
		}
		v, ok := pointerValue(doc, keys)
		if !ok {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		at := out
		for _, k := range keys[:len(keys)-1] {
			next, ok := at[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				at[k] = next
			}
			at = next
		}
		at[keys[len(keys)-1]] = v
	}
	return out
}

// pointerValue returns the value at keys in doc.
func pointerValue(doc json.RawMessage, keys []string) (json.RawMessage, bool) {
	for _, k := range keys {
		var obj map[string]json.RawMessage
		if json.Unmarshal(doc, &obj) == nil && obj != nil {
			v, ok := obj[k]
			if !ok {
				return nil, false
			}
			doc = v
			continue
		}
		var arr []json.RawMessage
		i, err := strconv.Atoi(k)
		if json.Unmarshal(doc, &arr) != nil || err != nil || i < 0 || i >= len(arr) {
			return nil, false
		}
		doc = arr[i]
	}
	return doc, true
}
