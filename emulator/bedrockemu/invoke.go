package bedrockemu

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge/bedrockwire"
	"github.com/claudebridge/claudebridge/emulator/sim"

	"github.com/claudebridge/claudebridge"
)

// invoke serves InvokeModel and InvokeModelWithResponseStream.
func (b *bedrockServer) invoke(w http.ResponseWriter, r *http.Request, requestID, modelID string, body []byte, stream bool) {
	start := time.Now()
	ref, e := b.resolveModel(modelID)
	if e == nil && ref.Kind == "base" && ref.Model.ProfileOnly {
		e = onDemandUnsupported(ref.Model.BedrockID)
	}
	if e != nil {
		e.Write(w, requestID)
		return
	}
	fields, e := checkInvokeBody(ref.Model, body, headerBetas(r.Header.Get("Anthropic-Beta")))
	if e != nil {
		e.Write(w, requestID)
		return
	}
	reply, err := sim.Answer(ref.Model.AnthropicID, fields)
	if err != nil {
		answerError(err).Write(w, requestID)
		return
	}
	reply.OnBedrock()
	reply.Directives = reply.Directives.For("bedrock", b.region)
	fire, done := b.startFaults(w, r, requestID, sim.RequestKey(modelID, body), reply.Directives, stream)
	if done {
		return
	}
	if stream {
		b.stream(w, r.Context(), requestID, reply, fire, start)
		return
	}
	usage := reply.Usage()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-RequestId", requestID)
	setTokenHeaders(h, usage)
	h.Set("X-Amzn-Bedrock-Invocation-Latency", strconv.FormatInt(time.Since(start).Milliseconds(), 10))
	w.Write(reply.Message())
}

// setTokenHeaders sets the X-Amzn-Bedrock-*-Token-Count headers of an
// InvokeModel response.
func setTokenHeaders(h http.Header, u claudebridge.Usage) {
	h.Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(u.InputTokens))
	h.Set("X-Amzn-Bedrock-Output-Token-Count", strconv.Itoa(u.OutputTokens))
	if u.CacheReadInputTokens > 0 || u.CacheCreationInputTokens > 0 {
		h.Set("X-Amzn-Bedrock-Cache-Read-Input-Token-Count", strconv.Itoa(u.CacheReadInputTokens))
		h.Set("X-Amzn-Bedrock-Cache-Write-Input-Token-Count", strconv.Itoa(u.CacheCreationInputTokens))
	}
}

// stream writes the Messages events of reply as event-stream chunks, with
// the invocation metrics on message_stop, honouring the stream faults and
// pacing of its directives.
func (b *bedrockServer) stream(w http.ResponseWriter, ctx context.Context, requestID string, reply *sim.Reply, fire bool, start time.Time) {
	d := reply.Directives
	events := reply.Events()
	usage := reply.Usage()
	cutAt := -1
	if fire {
		cutAt = sim.CutIndex(d.Fault, d.Cut, len(events))
	}
	h := w.Header()
	h.Set("Content-Type", bedrockwire.EventStreamContentType)
	h.Set("X-Amzn-Bedrock-Content-Type", "application/json")
	h.Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(http.StatusOK)
	fw := bedrockwire.NewEventWriter(w)
	var firstByte time.Duration
	for i, ev := range events {
		if !beforeStreamEvent(ctx, fw, d, i, cutAt) {
			return
		}
		data := ev.Data
		if ev.Type == "message_stop" {
			data = bedrockwire.WithInvocationMetrics(data, usage, time.Since(start), firstByte)
		}
		if err := fw.Chunk(data); err != nil {
			b.log.Info("bedrock stream: client went away", "error", err)
			return
		}
		if i == 0 {
			firstByte = time.Since(start)
		}
	}
}

// maxCountTokens is where CountTokens stops counting, whatever the model's
// context window: past it Bedrock refuses with "prompt is too long: N
// tokens > 200000 maximum", naming the count (boto/botocore#3707).
const maxCountTokens = 200_000

// countTokens serves CountTokens, which takes base model ids only.
func (b *bedrockServer) countTokens(w http.ResponseWriter, requestID, modelID string, body []byte) {
	ref, e := b.resolveModel(modelID)
	if e == nil && (ref.Kind != "base" || strings.HasPrefix(modelID, "arn:") || ref.Model.CannotCount) {
		e = bedrockwire.ValidationError(msgCannotCount)
	}
	if e != nil {
		e.Write(w, requestID)
		return
	}
	in, e := bedrockwire.ParseCountInput(body)
	if e != nil {
		e.Write(w, requestID)
		return
	}
	var fields map[string]json.RawMessage
	if in.InvokeModel != nil {
		fields, e = checkInvokeBody(ref.Model, in.InvokeModel, nil)
	} else {
		fields, e = converseFields(ref.Model, in.Converse)
	}
	if e != nil {
		e.Write(w, requestID)
		return
	}
	// CountTokens, not Answer: counting must not touch the prompt cache.
	// The InvokeModel body carries max_tokens, which a count does not take.
	delete(fields, "max_tokens")
	n, err := sim.CountTokens(ref.Model.AnthropicID, fields)
	if err != nil {
		answerError(err).Write(w, requestID)
		return
	}
	if n > maxCountTokens {
		bedrockwire.ValidationError(fmt.Sprintf("prompt is too long: %d tokens > %d maximum", n, maxCountTokens)).Write(w, requestID)
		return
	}
	writeJSON(w, requestID, map[string]int{"inputTokens": n})
}
