package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Directives are the per-request instructions a test writes into the text of
// the last user message, so they survive any client, SDK and gateway on the
// way. The syntax is [[name]] or [[name=value]], optionally followed by *N
// inside the brackets meaning "only the first N identical requests"
// (e.g. [[throttle*2]], [[stream-error=3*1]]), and by @EMULATOR for a fault
// that only one emulator obeys: [[throttle@us-east-1]] (the Bedrock emulator
// of that region, or any with @bedrock), [[overloaded@anthropic]] (the
// Anthropic API emulator), for tests of failover between them. Unknown
// names are ignored.
type Directives struct {
	// Fault is "" or one of: "throttle" (429 rate_limit_error /
	// ThrottlingException), "quota" (ServiceQuotaExceededException),
	// "overloaded" (529 overloaded_error / ServiceUnavailableException 503),
	// "error" (500 api_error / InternalServerException), "not-ready"
	// (ModelNotReadyException 429), "model-timeout" (ModelTimeoutException
	// 408), "denied" (403), "too-long" (the prompt is over the context
	// window: 400 "prompt is too long: ..." / ValidationException "Input is
	// too long for requested model."), "reset" (close the connection without
	// answering), "cut" (the stream stops after Cut events with no
	// message_stop and the connection closes), "stream-error" (after Cut
	// events an error event or exception frame), "stream-timeout" (after Cut
	// events a timeout_error event / modelTimeoutException frame).
	Fault string
	// Times is N from *N: the fault fires for the first N identical requests
	// only. 0 means every time.
	Times int
	// Cut is the number of stream events sent before "cut" or "stream-error"
	// take effect ([[cut=3]]); 0 means right after the response headers.
	Cut int
	// Delay is the pause between stream events ([[slow=MS]]).
	Delay time.Duration
	// FirstDelay is the pause before the first byte, before the response
	// headers ([[wait=MS]]).
	FirstDelay time.Duration
	// RetryAfter is the number of seconds sent in retry-after with a fault
	// ([[retry-after=S]]); 0 means the transport's default.
	RetryAfter int
	// Words is the length in words of the text answer ([[words=N]]); 0 means
	// a short realistic paragraph. max_tokens still caps it.
	Words int
	// Only names the emulator the fault is for ([[throttle@us-west-2]]);
	// "" means every emulator. See For.
	Only string
	// Redacted asks for a redacted_thinking block before the thinking block
	// when thinking is enabled ([[redacted]]).
	Redacted bool
}

// faults are the names accepted as Directives.Fault.
var faults = map[string]bool{
	"throttle": true, "quota": true, "overloaded": true, "error": true,
	"not-ready": true, "model-timeout": true, "denied": true, "reset": true,
	"cut": true, "stream-error": true, "too-long": true, "stream-timeout": true,
}

var directivePattern = regexp.MustCompile(`\[\[([a-z][a-z-]*)(?:=([0-9]+))?(?:\*([0-9]+))?(?:@([a-z0-9-]+))?\]\]`)

// maxDirectiveNumber bounds numbers in directives so that a stray [[slow=…]]
// cannot stall the emulator for hours or overflow.
const maxDirectiveNumber = 1_000_000

// ParseDirectives reads the directives in text. Later directives of the same
// name override earlier ones; when several faults are named the last wins.
func ParseDirectives(text string) Directives {
	var d Directives
	for _, m := range directivePattern.FindAllStringSubmatch(text, -1) {
		name := m[1]
		value := boundedAtoi(m[2])
		times := boundedAtoi(m[3])
		switch {
		case faults[name]:
			d.Fault = name
			d.Times = times
			d.Only = m[4]
			if isStreamFault(name) {
				d.Cut = value
			}
		case name == "slow":
			d.Delay = time.Duration(value) * time.Millisecond
		case name == "wait":
			d.FirstDelay = time.Duration(value) * time.Millisecond
		case name == "retry-after":
			d.RetryAfter = value
		case name == "words":
			d.Words = value
		case name == "redacted":
			d.Redacted = true
		}
	}
	return d
}

// For returns d as the emulator known by names sees it: without the fault
// when the fault is for another emulator.
func (d Directives) For(names ...string) Directives {
	if d.Only == "" {
		return d
	}
	for _, n := range names {
		if n == d.Only {
			return d
		}
	}
	d.Fault, d.Times, d.Cut, d.Only = "", 0, 0, ""
	return d
}

func boundedAtoi(s string) int {
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > maxDirectiveNumber {
		return maxDirectiveNumber
	}
	return n
}

// stripDirectives removes the directives from text so that the answer quotes
// the question, not the instructions to the emulator.
func stripDirectives(text string) string {
	return strings.TrimSpace(directivePattern.ReplaceAllString(text, ""))
}

// FaultCounter decides whether a fault limited to N times fires for a
// request: it counts identical requests (by key) and fires for the first N.
// The zero value is ready to use and safe for concurrent use.
type FaultCounter struct {
	mu   sync.Mutex
	seen map[string]int
}

// maxCountedKeys bounds the counter's memory; when it is reached the counts
// start over, which only matters to a test that sends that many distinct
// fault requests.
const maxCountedKeys = 10000

// Fire reports whether the fault of d fires for the request identified by key
// (see RequestKey). It is false when d has no fault, true every time when
// d.Times is 0, and true for the first d.Times calls with the same key
// otherwise.
func (c *FaultCounter) Fire(key string, d Directives) bool {
	if d.Fault == "" {
		return false
	}
	if d.Times <= 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || len(c.seen) >= maxCountedKeys {
		c.seen = make(map[string]int)
	}
	c.seen[key]++
	return c.seen[key] <= d.Times
}

// RequestKey returns the key FaultCounter uses to recognise identical
// requests: a hash of the model id and the body.
func RequestKey(model string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(model))
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// isStreamFault reports whether fault breaks a stream after its Cut
// events rather than answering with an error.
func isStreamFault(fault string) bool {
	return fault == "cut" || fault == "stream-error" || fault == "stream-timeout"
}

// CutIndex is the index of the event that a stream fault ("cut",
// "stream-error", "stream-timeout") replaces, -1 for any other fault. A cut
// never lets the last event (message_stop) through, however large cut is.
func CutIndex(fault string, cut, events int) int {
	if isStreamFault(fault) {
		return min(cut, events-1)
	}
	return -1
}

// Pause waits for d, the delay a directive asked for, and reports false if
// ctx ended first (the client went away), so that no goroutine outlives it.
func Pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
