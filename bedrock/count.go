package bedrock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/claudebridge/claudebridge"
	"github.com/tidwall/gjson"
)

// countTTL is how long a count is reused; editors ask for the same count
// dozens of times at start-up.
const countTTL = time.Minute

// countCacheSize bounds the cache; when full, it starts again empty.
const countCacheSize = 4096

type countCache struct {
	mu sync.Mutex
	m  map[countKey]cachedCount
}

type cachedCount struct {
	count claudebridge.TokenCount
	at    time.Time
}

func (c *countCache) get(k countKey) (claudebridge.TokenCount, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	if !ok || time.Since(v.at) > countTTL {
		return claudebridge.TokenCount{}, false
	}
	return v.count, true
}

func (c *countCache) put(k countKey, v claudebridge.TokenCount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= countCacheSize {
		c.m = make(map[countKey]cachedCount)
	}
	c.m[k] = cachedCount{count: v, at: time.Now()}
}

// CountTokens counts through Bedrock's CountTokens with the base model id
// (CountTokens takes no profiles) and the body InvokeModel would get, with
// the max_tokens Bedrock requires there and Anthropic's count requests never
// carry (countMaxTokens). Only a refusal that says the model cannot count
// (or that CountTokens is not there, or not allowed) makes it answer with
// estimate(...) marked Estimated from then on for the model; a refusal of
// the body is the client's error, as on the Anthropic API, except a prompt
// over the counting limit, whose refusal names the exact count. Answers are
// cached for a minute by model and body.
func (u *Upstream) CountTokens(ctx context.Context, r *claudebridge.Request) (*claudebridge.TokenCount, error) {
	if _, ok := r.Fields["max_tokens"]; !ok && r.Fields != nil {
		r = r.Clone()
		r.SetField("max_tokens", countMaxTokens(r.Fields["thinking"]))
	}
	c := u.prepare(ctx, r)
	base := c.target.Base
	body := u.body(r, c)
	key := keyOf(base, body)
	if tc, ok := u.counts.get(key); ok {
		return &tc, nil
	}
	if base == "" || !c.rules.canCount() {
		tc := claudebridge.TokenCount{InputTokens: estimate(body.bytes()), Estimated: true}
		u.counts.put(key, tc)
		return &tc, nil
	}
	var out *bedrockruntime.CountTokensOutput
	err := u.adaptFrom(r, c, body, func(body *segments) error {
		send := segmentSend{body: countRequest(body)}
		var err error
		out, err = u.runtime.CountTokens(ctx, &bedrockruntime.CountTokensInput{
			ModelId: aws.String(base),
			// A placeholder: the middleware of send puts the request in.
			Input: &rttypes.CountTokensInputMemberInvokeModel{Value: rttypes.InvokeModelTokensRequest{Body: []byte{}}},
		}, send.options)
		send.release()
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, mapError(ctx.Err())
		}
		var ae smithy.APIError
		errors.As(err, &ae)
		switch code := errorCode(err); {
		case code == "ValidationException" && ae != nil && promptTooLong.MatchString(ae.ErrorMessage()):
			// CountTokens refuses past 200,000 tokens, whatever the
			// model's window, and names the count in its refusal.
			n, _ := strconv.Atoi(promptTooLong.FindStringSubmatch(ae.ErrorMessage())[1])
			tc := claudebridge.TokenCount{InputTokens: n}
			u.counts.put(key, tc)
			return &tc, nil
		case code == "ValidationException" && ae != nil && !cannotCount(ae.ErrorMessage()):
			return nil, mapError(err) // the body: the client's to fix
		case code == "ValidationException", code == "ResourceNotFoundException", code == "UnknownOperationException", code == "AccessDeniedException":
			// The model cannot count, Bedrock (or a stand-in) has no
			// CountTokens, or the role may invoke but not count (a common
			// IAM policy): stop asking.
			c.rules.setCannotCount()
			u.log.Info("bedrock: model cannot count tokens; estimating", "model", base, "error", mapError(err))
		}
		tc := claudebridge.TokenCount{InputTokens: estimate(body.bytes()), Estimated: true}
		return &tc, nil
	}
	tc := claudebridge.TokenCount{InputTokens: int(aws.ToInt32(out.InputTokens))}
	u.counts.put(key, tc)
	return &tc, nil
}

// countRequest is the JSON request of CountTokens for an InvokeModel body,
// {"input":{"invokeModel":{"body":"<base64>"}}} as the SDK writes it, in
// one buffer of its final size, the base64 written straight from the
// segments. The SDK's own serializer would want the body whole and grow
// its buffer as it writes: 1.5 MB allocated for a 370 KB body, against
// the 0.5 MB of the base64.
func countRequest(body *segments) *segments {
	const head, tail = `{"input":{"invokeModel":{"body":"`, `"}}}`
	buf := bytes.NewBuffer(make([]byte, 0, len(head)+base64.StdEncoding.EncodedLen(body.size)+len(tail)))
	buf.WriteString(head)
	enc := base64.NewEncoder(base64.StdEncoding, buf)
	_, _ = body.reader().WriteTo(enc) // a bytes.Buffer takes every write
	_ = enc.Close()
	buf.WriteString(tail)
	s := newSegments(1, 0)
	s.add(buf.Bytes())
	return &s
}

// cannotCount reports whether a ValidationException of CountTokens says
// the model does not count ("The provided model doesn't support counting
// tokens."), as opposed to a refusal of the body.
func cannotCount(msg string) bool {
	msg = strings.ToLower(strings.ReplaceAll(msg, "\u2019", "'"))
	return strings.Contains(msg, "support counting tokens") || strings.Contains(msg, "support token counting")
}

// countMaxTokens is the max_tokens a count is sent with: CountTokens takes
// only bodies InvokeModel would, which carry one. It must be over a
// thinking budget (the model's rule) and is otherwise the least there is;
// it changes no count.
func countMaxTokens(thinking json.RawMessage) json.RawMessage {
	if budget := gjson.GetBytes(thinking, "budget_tokens"); budget.Type == gjson.Number {
		return json.RawMessage(strconv.FormatInt(budget.Int()+1, 10))
	}
	return json.RawMessage("1")
}

// countKey is the cache key of a count: the model and the body, hashed
// with two seeds of the process's own (128 bits: a collision, which would
// answer with another body's count, is not to be expected). maphash runs
// at memory speed; SHA-256 cost a quarter of a millisecond on 370 KB.
type countKey [2]uint64

var countSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func keyOf(base string, body *segments) countKey {
	var k countKey
	for i, seed := range countSeeds {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(base)
		h.WriteByte(0)
		for _, p := range body.parts {
			h.Write(p)
		}
		k[i] = h.Sum64()
	}
	return k
}

// Fixed costs of the estimate, in tokens.
const (
	imageTokens    = 1600 // an image of about 1.15 megapixels, the size the API scales larger ones down to
	documentTokens = 1600 // a PDF page of text, as a floor for documents of unknown size
	toolsOverhead  = 350  // the system prompt the API adds when tools are given
	messageTokens  = 4    // role and turn markers per message
)

// estimate guesses the input tokens of a Bedrock body where Bedrock cannot
// count: one token per 4 bytes of text (system, message text, tool inputs
// and results, tool definitions as JSON), plus fixed costs per image,
// document, message and for the tool-use prompt. Base64 data is not counted
// as text.
func estimate(body []byte) int {
	doc := gjson.ParseBytes(body)
	bytes := 0
	fixed := 0
	var walk func(v gjson.Result)
	walk = func(v gjson.Result) {
		switch {
		case v.IsArray():
			v.ForEach(func(_, e gjson.Result) bool { walk(e); return true })
		case v.IsObject():
			switch v.Get("type").String() {
			case "image":
				fixed += imageTokens
				return
			case "document":
				if v.Get("source.type").String() == "base64" {
					fixed += documentTokens
					return
				}
			}
			v.ForEach(func(k, e gjson.Result) bool {
				if k.String() != "cache_control" && k.String() != "signature" {
					walk(e)
				}
				return true
			})
		case v.Type == gjson.String:
			bytes += len(v.Str)
		}
	}
	walk(doc.Get("system"))
	msgs := doc.Get("messages")
	fixed += messageTokens * len(msgs.Array())
	walk(msgs)
	if tools := doc.Get("tools"); tools.Exists() {
		bytes += len(tools.Raw)
		fixed += toolsOverhead
	}
	return (bytes+3)/4 + fixed
}
