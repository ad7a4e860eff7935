package sim

import (
	"container/list"
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"
)

// Token counts of the emulator: about one token per 4 bytes of text, as the
// real tokenizers give for English prose, plus fixed costs below.
const (
	requestOverhead = 3    // every request
	messageOverhead = 4    // every message: role and turn markers
	ImageTokens     = 1600 // any image, whatever its size
	documentTokens  = 2000 // any non-text document (a PDF)
)

// TextTokens counts the tokens of s: one per started 4 bytes.
func TextTokens(s string) int {
	return (len(s) + 3) / 4
}

// blockTokens counts one input block.
func blockTokens(b contentBlock) int {
	switch b.Type {
	case "text":
		return TextTokens(b.Text)
	case "image":
		return ImageTokens
	case "document":
		var src struct {
			Type string `json:"type"`
			Data string `json:"data"`
		}
		if json.Unmarshal(b.Source, &src) == nil && src.Type == "text" {
			return TextTokens(src.Data)
		}
		return documentTokens
	case "tool_result":
		n := TextTokens(b.ToolUseID)
		for _, nb := range b.Nested {
			n += blockTokens(nb)
		}
		return n
	case "thinking":
		// Thinking of earlier turns is not counted (the API strips it),
		// except that the signature itself travels.
		return 0
	}
	// Tool calls and anything else: the block as JSON.
	return TextTokens(string(b.Raw))
}

// segment is one unit of the prompt in the order the API caches it: tools,
// then system, then messages.
type segment struct {
	bytes      []byte
	tokens     int
	breakpoint bool
	ttl        time.Duration
}

func cacheTTL(raw json.RawMessage) (time.Duration, bool) {
	if !Given(raw) {
		return 0, false
	}
	var cc struct {
		TTL string `json:"ttl"`
	}
	_ = json.Unmarshal(raw, &cc)
	if cc.TTL == "1h" {
		return time.Hour, true
	}
	return 5 * time.Minute, true
}

func (r *request) segments() []segment {
	var segs []segment
	for _, t := range r.tools {
		ttl, bp := cacheTTL(t.CacheControl)
		segs = append(segs, segment{bytes: t.Raw, tokens: TextTokens(string(t.Raw)), breakpoint: bp, ttl: ttl})
	}
	for _, b := range r.system {
		ttl, bp := cacheTTL(b.CacheControl)
		segs = append(segs, segment{bytes: []byte(b.Text), tokens: blockTokens(b), breakpoint: bp, ttl: ttl})
	}
	for _, m := range r.messages {
		segs = append(segs, segment{bytes: []byte("\x00" + m.Role), tokens: messageOverhead})
		for _, b := range m.Blocks {
			ttl, bp := cacheTTL(b.CacheControl)
			segs = append(segs, segment{bytes: b.Raw, tokens: blockTokens(b), breakpoint: bp, ttl: ttl})
		}
	}
	return segs
}

// inputTokens counts the whole prompt.
func (r *request) inputTokens() int {
	n := requestOverhead
	for _, s := range r.segments() {
		n += s.tokens
	}
	return n
}

// cacheUsage splits the prompt's tokens as prompt caching does: the longest
// prefix ending at a cache_control breakpoint that was seen before is read
// from the cache, the rest up to the last breakpoint is written to it, and
// what follows is plain input. The model is part of every cache key.
func (r *request) cacheUsage(model string, cache *promptCache) cacheSplit {
	h := sha256.New()
	h.Write([]byte(model))
	total := requestOverhead
	type point struct {
		key    string
		tokens int
		ttl    time.Duration
	}
	var points []point
	for _, s := range r.segments() {
		h.Write(s.bytes)
		h.Write([]byte{0})
		total += s.tokens
		if s.breakpoint {
			points = append(points, point{key: string(h.Sum(nil)), tokens: total, ttl: s.ttl})
		}
	}
	if len(points) == 0 {
		return cacheSplit{input: total}
	}
	now := time.Now()
	hit := 0
	for _, p := range points {
		if cache.has(p.key, now) {
			hit = p.tokens
		}
	}
	for _, p := range points {
		cache.put(p.key, now.Add(p.ttl))
	}
	last := points[len(points)-1]
	split := cacheSplit{read: hit, hour: last.ttl == time.Hour}
	if hit < last.tokens {
		split.created = last.tokens - hit
	}
	split.input = total - split.read - split.created
	return split
}

// cacheSplit is how a prompt's tokens divide under prompt caching.
type cacheSplit struct {
	input, created, read int
	// hour is true when the written prefix was cached for an hour rather
	// than five minutes.
	hour bool
}

// promptCache is a small LRU of cache prefixes with their expiry.
type promptCache struct {
	mu      sync.Mutex
	size    int
	order   *list.List // of *cacheEntry, most recent first
	entries map[string]*list.Element
}

type cacheEntry struct {
	key     string
	expires time.Time
}

func newPromptCache(size int) *promptCache {
	return &promptCache{size: size, order: list.New(), entries: make(map[string]*list.Element)}
}

// sharedCache is the prompt cache of Answer: the emulated account's cache,
// shared by the Anthropic and Bedrock emulators of one process.
var sharedCache = newPromptCache(512)

func (c *promptCache) has(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return ok && now.Before(e.Value.(*cacheEntry).expires)
}

func (c *promptCache) put(key string, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		e.Value.(*cacheEntry).expires = expires
		c.order.MoveToFront(e)
		return
	}
	c.entries[key] = c.order.PushFront(&cacheEntry{key: key, expires: expires})
	for c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
}
