package bedrockemu

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/emulator/sim"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/converse"
)

// converseDefaultMaxTokens is max_tokens when a Converse request sets no
// inferenceConfig.maxTokens and the model's limit is unknown.
const converseDefaultMaxTokens = 4096

// converse serves Converse and ConverseStream: the request is translated to
// Messages, answered like InvokeModel, and the answer translated back.
func (b *bedrockServer) converse(w http.ResponseWriter, r *http.Request, requestID, modelID string, body []byte, stream bool) {
	start := time.Now()
	ref, e := b.resolveConverseModel(modelID)
	if e == nil && ref.Kind == "base" && ref.Model.ProfileOnly {
		e = onDemandUnsupported(ref.Model.BedrockID)
	}
	if e != nil {
		e.Write(w, requestID)
		return
	}
	guardrailed, e := takeGuardrail(body, stream)
	if e != nil {
		e.Write(w, requestID)
		return
	}
	fields, e := converseFields(ref.Model, guardrailed)
	if e != nil {
		e.Write(w, requestID)
		return
	}
	reply, err := sim.Answer(ref.Model.answerID(), fields)
	if err != nil {
		answerError(err).Write(w, requestID)
		return
	}
	reply.Directives = reply.Directives.For("bedrock", b.region)
	fire, done := b.startFaults(w, r, requestID, sim.RequestKey(modelID, body), reply.Directives, stream)
	if done {
		return
	}
	paths := converse.ResponseFieldPaths(body)
	if stream {
		b.converseStream(w, r, requestID, reply, fire, start, paths)
		return
	}
	out, err := converse.ResponseFromMessages(reply.Message(), paths)
	if err != nil {
		answerError(err).Write(w, requestID)
		return
	}
	out = bytes.Replace(out, []byte(`"latencyMs":0`), []byte(`"latencyMs":`+strconv.FormatInt(time.Since(start).Milliseconds(), 10)), 1)
	out = converseToolUseIDs(out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.Write(out)
}

// converseStream writes the answer as ConverseStream events, each an
// event-stream message whose :event-type is the event's name and whose
// payload is its JSON. paths are the request's
// additionalModelResponseFieldPaths.
func (b *bedrockServer) converseStream(w http.ResponseWriter, r *http.Request, requestID string, reply *sim.Reply, fire bool, start time.Time, paths []string) {
	d := reply.Directives
	events := reply.Events()
	cutAt := -1
	if fire {
		cutAt = sim.CutIndex(d.Fault, d.Cut, len(events))
	}
	w.Header().Set("Content-Type", bedrockwire.EventStreamContentType)
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(http.StatusOK)
	fw := bedrockwire.NewEventWriter(w)
	translator := converse.StreamFromMessages{FieldPaths: paths}
	for i, ev := range events {
		if !beforeStreamEvent(r.Context(), fw, d, i, cutAt) {
			return
		}
		if ev.Type == "message_stop" {
			translator.LatencyMs = time.Since(start).Milliseconds()
		}
		out, err := translator.Event(ev)
		if err != nil {
			fw.Exception("internalServerException", claudebridge.ErrorMessage(err))
			return
		}
		for _, c := range out {
			if c.Type == "contentBlockStart" {
				c.Payload = converseToolUseIDs(c.Payload)
			}
			if err := fw.Event(c.Type, c.Payload); err != nil {
				return
			}
		}
	}
}

// converseToolUseIDs gives the tool uses of a Converse answer or
// contentBlockStart event the ids Bedrock's Converse gives them,
// "tooluse_" and 22 characters, in place of the Messages "toolu_01" ones
// the simulator makes. The key cannot occur inside a JSON string, where
// its quotes would be escaped.
func converseToolUseIDs(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte(`"toolUseId":"toolu_01`), []byte(`"toolUseId":"tooluse_`))
}

// startFaults applies the directives that act before a response starts:
// the first-byte delay and the faults that are plain errors or resets. It
// reports whether a fault fired and whether the response is already done.
func (b *bedrockServer) startFaults(w http.ResponseWriter, r *http.Request, requestID, key string, d sim.Directives, stream bool) (fire, done bool) {
	fire = b.faults.Fire(key, d)
	if !sim.Pause(r.Context(), d.FirstDelay) {
		return fire, true
	}
	if !fire {
		return false, false
	}
	switch d.Fault {
	case "reset":
		// Closes the connection without a response; net/http does not log
		// this panic.
		panic(http.ErrAbortHandler)
	case "cut", "stream-error", "stream-timeout":
		if stream {
			return true, false
		}
		if d.Fault == "cut" {
			panic(http.ErrAbortHandler)
		}
		(&bedrockwire.Error{Type: "ModelErrorException", Status: http.StatusFailedDependency, Message: "The model returned an error while processing the request."}).Write(w, requestID)
		return true, true
	}
	faultError(d).Write(w, requestID)
	return true, true
}

// converseFields translates a Converse request (or the converse input of
// CountTokens) into Messages fields and checks them as Bedrock checks what
// it passes to the model; the model's complaints come back, as on Bedrock,
// after "The model returned the following errors: ".
//
// For a model of another provider only what Converse itself says is taken;
// keys of additionalModelRequestFields are refused, and no Claude rule
// (betas, fields, sampling) applies.
func converseFields(m *bedrockModel, raw json.RawMessage) (map[string]json.RawMessage, *bedrockwire.Error) {
	fields, err := converse.RequestToMessages(raw)
	if err != nil {
		return nil, bedrockwire.ValidationError(claudebridge.ErrorMessage(err))
	}
	if m.Provider != "" {
		return otherModelRequest(fields)
	}
	if _, ok := fields["max_tokens"]; !ok {
		limit := converseDefaultMaxTokens
		if m.MaxOutputTokens > 0 {
			limit = m.MaxOutputTokens
		}
		fields["max_tokens"] = json.RawMessage(strconv.Itoa(limit))
	}
	fields["anthropic_version"] = json.RawMessage(`"` + bedrockwire.AnthropicVersion + `"`)
	body, _ := json.Marshal(fields)
	checked, e := checkInvokeBody(m, body, nil)
	if e != nil {
		if !strings.HasPrefix(e.Message, "Malformed input request") {
			e.Message = "The model returned the following errors: " + e.Message
		}
		return nil, e
	}
	return checked, nil
}

// otherModelRequest checks the Messages fields of a Converse request for a
// model of another provider and completes max_tokens.
func otherModelRequest(fields map[string]json.RawMessage) (map[string]json.RawMessage, *bedrockwire.Error) {
	var extra []string
	for _, name := range sortedNames(fields) {
		if !contains(otherModelFields, name) {
			extra = append(extra, "#: extraneous key ["+name+"] is not permitted")
		}
	}
	if len(extra) > 0 {
		return nil, bedrockwire.ValidationError("The model returned the following errors: Malformed input request: " + strings.Join(extra, "") + ", please reformat your input and try again.")
	}
	if _, ok := fields["max_tokens"]; !ok {
		fields["max_tokens"] = json.RawMessage(strconv.Itoa(converseDefaultMaxTokens))
	}
	return fields, nil
}

func sortedNames(m map[string]json.RawMessage) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// takeGuardrail checks and removes the guardrailConfig of a Converse
// request: the emulator has every guardrail, and none ever intervenes. The
// identifier and version are required, as in Bedrock's GuardrailConfiguration
// (GuardrailStreamConfiguration for ConverseStream, which also takes
// streamProcessingMode "sync" or "async").
func takeGuardrail(body []byte, stream bool) ([]byte, *bedrockwire.Error) {
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil {
		return body, nil // converseFields reports it
	}
	raw, ok := in["guardrailConfig"]
	if !ok {
		return body, nil
	}
	var gc struct {
		Identifier *string `json:"guardrailIdentifier"`
		Version    *string `json:"guardrailVersion"`
		Trace      *string `json:"trace"`
		Mode       *string `json:"streamProcessingMode"`
	}
	if err := json.Unmarshal(raw, &gc); err != nil {
		return nil, bedrockwire.ValidationError("guardrailConfig: must be an object")
	}
	switch {
	case gc.Identifier == nil || *gc.Identifier == "":
		return nil, bedrockwire.ValidationError("1 validation error detected: Value null at 'guardrailConfig.guardrailIdentifier' failed to satisfy constraint: Member must not be null")
	case gc.Version == nil || *gc.Version == "":
		return nil, bedrockwire.ValidationError("1 validation error detected: Value null at 'guardrailConfig.guardrailVersion' failed to satisfy constraint: Member must not be null")
	case gc.Mode != nil && (!stream || (*gc.Mode != "sync" && *gc.Mode != "async")):
		return nil, bedrockwire.ValidationError("guardrailConfig.streamProcessingMode: not a valid value")
	}
	delete(in, "guardrailConfig")
	out, _ := json.Marshal(in)
	return out, nil
}
