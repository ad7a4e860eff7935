// Package sim is the simulated Claude that both emulators serve: it
// validates a Messages request as the API does, answers deterministically
// from it (text, thinking, tool use, usage with cache tokens), and reads
// the fault directives a test writes into its prompt ([[throttle*2]],
// [[words=40]], ...). The wire formats are the emulators' own.
package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/claudebridge/claudebridge"
)

// Reply is the emulator's answer to one Messages request.
type Reply struct {
	// Directives are what the last user message asked of the emulator.
	Directives Directives

	id           string
	model        string
	blocks       []block
	stopReason   string
	stopSequence *string
	usage        claudebridge.Usage
	// cacheHour is true when the cache write was for one hour, not five
	// minutes.
	cacheHour bool
}

// block is one content block of the reply.
type block struct {
	Type      string // text, thinking, redacted_thinking or tool_use
	Text      string // text and thinking
	Signature string // thinking
	Data      string // redacted_thinking
	ID        string // tool_use
	Name      string // tool_use
	Input     json.RawMessage
}

// Answer computes the emulator's deterministic answer to one Messages request.
// model is the model id the caller got (Anthropic or Bedrock); it is named in
// the reply as given and, when the Catalog knows it, bounds max_tokens.
// fields are the top-level JSON fields of the Messages body (the Bedrock
// InvokeModel body is the same less "model"/"stream", plus
// "anthropic_version"/"anthropic_beta").
//
// It validates like the Anthropic API does and returns a *claudebridge.Error
// with code EINVALID and the API's style of message on bad input. The answer
// quotes the last user message; it uses a tool when tools are given and the
// user names one (or the word "tool"), or tool_choice forces it; it thinks
// first when thinking is enabled. Only the prompt-cache counts depend on
// earlier calls: an identical prefix is read from the cache the second time.
func Answer(model string, fields map[string]json.RawMessage) (*Reply, error) {
	maxOutput := 0
	if m, ok := LookupModel(model); ok {
		maxOutput = m.MaxOutputTokens
	}
	req, err := parseRequest(fields, true, maxOutput)
	if err != nil {
		return nil, err
	}
	seed := requestSeed(model, fields)
	c := composer{req: req, seed: seed, remaining: req.maxTokens}
	c.reply = &Reply{
		id:         "msg_01" + IDChars(seed, "msg", 22),
		model:      model,
		stopReason: "end_turn",
	}
	user := req.lastUser()
	c.reply.Directives = ParseDirectives(directiveText(user))
	c.compose(user)

	split := req.cacheUsage(model, sharedCache)
	c.reply.usage = claudebridge.Usage{
		InputTokens:              split.input,
		CacheCreationInputTokens: split.created,
		CacheReadInputTokens:     split.read,
		OutputTokens:             c.output,
	}
	c.reply.cacheHour = split.hour
	return c.reply, nil
}

// OnBedrock names the reply's message and tool_use ids as Bedrock's
// InvokeModel does, "msg_bdrk_01..." and "toolu_bdrk_01...", where the
// Anthropic API says "msg_01..." and "toolu_01...". The characters after
// the prefix stay the same.
func (r *Reply) OnBedrock() {
	r.id = bedrockID(r.id, "msg_")
	for i := range r.blocks {
		if r.blocks[i].Type == "tool_use" {
			r.blocks[i].ID = bedrockID(r.blocks[i].ID, "toolu_")
		}
	}
}

func bedrockID(id, prefix string) string {
	if rest, ok := strings.CutPrefix(id, prefix); ok && !strings.HasPrefix(rest, "bdrk_") {
		return prefix + "bdrk_" + rest
	}
	return id
}

// CountTokens counts the input tokens of a count_tokens body (a Messages body
// without max_tokens), validating it as the API does.
func CountTokens(model string, fields map[string]json.RawMessage) (int, error) {
	req, err := parseRequest(fields, false, 0)
	if err != nil {
		return 0, err
	}
	return req.inputTokens(), nil
}

// Usage returns the reply's usage.
func (r *Reply) Usage() claudebridge.Usage { return r.usage }

// lastUser returns the last user message; requests whose messages are all
// from the assistant get an empty one.
func (r *request) lastUser() message {
	for i := len(r.messages) - 1; i >= 0; i-- {
		if r.messages[i].Role == "user" {
			return r.messages[i]
		}
	}
	return message{Role: "user"}
}

// directiveText is all text of m, tool results included, where a test may
// have written directives.
func directiveText(m message) string {
	var b strings.Builder
	var walk func([]contentBlock)
	walk = func(blocks []contentBlock) {
		for _, cb := range blocks {
			if cb.Type == "text" {
				b.WriteString(cb.Text)
				b.WriteByte('\n')
			}
			walk(cb.Nested)
		}
	}
	walk(m.Blocks)
	return b.String()
}

// composer builds a reply within the max_tokens budget.
type composer struct {
	req       *request
	seed      []byte
	reply     *Reply
	remaining int // output tokens still allowed by max_tokens
	output    int // output tokens used
}

func (c *composer) compose(user message) {
	prefill := c.req.messages[len(c.req.messages)-1].Role == "assistant"
	question, images := questionOf(user)
	if c.req.thinking != "" && !prefill {
		if c.reply.Directives.Redacted {
			data := base64.StdEncoding.EncodeToString(append([]byte("cbemu-redacted:"), c.seed[:24]...))
			if !c.spend(TextTokens(data)) {
				return
			}
			c.reply.blocks = append(c.reply.blocks, block{Type: "redacted_thinking", Data: data})
		}
		thought := fmt.Sprintf("The user wrote: %q. I should answer directly, quote what was asked, and keep it short and clear.", clip(question, 200))
		budget := min(c.req.budgetTokens, c.remaining)
		if TextTokens(thought) > budget {
			thought = clipBytes(thought, budget*4)
		}
		c.spend(TextTokens(thought))
		c.reply.blocks = append(c.reply.blocks, block{Type: "thinking", Text: thought, Signature: signThinking(thought)})
		if c.remaining == 0 {
			c.reply.stopReason = "max_tokens"
			return
		}
	}
	if results := toolResults(user, c.req.messages); len(results) > 0 && !prefill {
		c.text(resultSentence(results), 0)
		return
	}
	if t := c.chooseTool(question, prefill); t != nil {
		if c.req.toolChoice == "auto" {
			if !c.text(fmt.Sprintf("I'll use the %s tool to help with that.", t.Name), -1) {
				return
			}
		}
		input := exampleInput(t.InputSchema, question)
		use := block{Type: "tool_use", ID: "toolu_01" + IDChars(c.seed, "toolu", 22), Name: t.Name, Input: input}
		if !c.spend(TextTokens(t.Name) + TextTokens(string(input))) {
			return
		}
		c.reply.blocks = append(c.reply.blocks, use)
		c.reply.stopReason = "tool_use"
		return
	}
	c.text(answerSentence(question, images), c.reply.Directives.Words)
}

// spend takes n output tokens from the budget; it reports false, and sets
// the stop reason, when they do not fit.
func (c *composer) spend(n int) bool {
	if n > c.remaining {
		c.output += c.remaining
		c.remaining = 0
		c.reply.stopReason = "max_tokens"
		return false
	}
	c.remaining -= n
	c.output += n
	return true
}

// text adds a text block that starts with lead and runs to words words
// (0: a short paragraph; -1: lead alone), cut at the first stop sequence and
// at max_tokens. It reports whether the reply may go on after it.
func (c *composer) text(lead string, words int) bool {
	s := lead
	if words >= 0 {
		s = paragraph(lead, words, c.seed)
	}
	for _, seq := range c.req.stopSequences {
		if i := strings.Index(s, seq); i >= 0 {
			s = s[:i]
			c.reply.stopReason = "stop_sequence"
			c.reply.stopSequence = &seq
		}
	}
	truncated := TextTokens(s) > c.remaining
	if truncated {
		s = clipBytes(s, c.remaining*4)
		c.reply.stopSequence = nil
	}
	ok := c.spend(TextTokens(s))
	if truncated {
		c.reply.stopReason = "max_tokens"
	}
	if s != "" {
		c.reply.blocks = append(c.reply.blocks, block{Type: "text", Text: s})
	}
	return ok && c.reply.stopReason == "end_turn"
}

// chooseTool returns the tool the answer calls, or nil: the forced one, the
// first custom tool the question names, or the first custom tool when the
// question says "tool".
func (c *composer) chooseTool(question string, prefill bool) *tool {
	if prefill || c.req.toolChoice == "none" {
		return nil
	}
	var custom []*tool
	for i := range c.req.tools {
		if c.req.tools[i].Type == "custom" {
			custom = append(custom, &c.req.tools[i])
		}
	}
	if c.req.toolChoice == "tool" {
		return c.req.findTool(c.req.toolName)
	}
	if len(custom) == 0 {
		return nil
	}
	lower := strings.ToLower(question)
	for _, t := range custom {
		if strings.Contains(lower, strings.ToLower(t.Name)) {
			return t
		}
	}
	if c.req.toolChoice == "any" || strings.Contains(lower, "tool") {
		return custom[0]
	}
	return nil
}

// questionOf returns the text of m less directives, and its image count.
func questionOf(m message) (string, int) {
	var parts []string
	images := 0
	for _, b := range m.Blocks {
		switch b.Type {
		case "text":
			parts = append(parts, b.Text)
		case "image":
			images++
		}
	}
	return stripDirectives(strings.Join(parts, "\n")), images
}

// toolResult is a tool_result of the last user message, with the name of the
// tool whose call it answers.
type toolResult struct {
	name    string
	content string
	isError bool
}

func toolResults(user message, messages []message) []toolResult {
	names := map[string]string{}
	for _, m := range messages {
		for _, b := range m.Blocks {
			if b.Type == "tool_use" {
				names[b.ID] = b.Name
			}
		}
	}
	var out []toolResult
	for _, b := range user.Blocks {
		if b.Type != "tool_result" {
			continue
		}
		var parts []string
		for _, nb := range b.Nested {
			if nb.Type == "text" {
				parts = append(parts, nb.Text)
			}
		}
		out = append(out, toolResult{name: names[b.ToolUseID], content: stripDirectives(strings.Join(parts, "\n")), isError: b.IsError})
	}
	return out
}

func resultSentence(results []toolResult) string {
	var s []string
	for _, r := range results {
		if r.isError {
			s = append(s, fmt.Sprintf("The %s tool reported an error: %q.", r.name, clip(r.content, 500)))
		} else {
			s = append(s, fmt.Sprintf("The %s tool returned: %q.", r.name, clip(r.content, 500)))
		}
	}
	return strings.Join(s, " ")
}

func answerSentence(question string, images int) string {
	var s string
	switch {
	case strings.Contains(question, "\n"):
		// Quoted as a block, as it was written: Markdown in the question
		// (headings, lists, code) comes back as Markdown.
		s = "You asked:\n\n" + clip(question, 2000) + "\n\n"
	case question != "":
		s = `You asked: "` + clip(question, 500) + `".`
	case images == 0:
		s = "You sent a message without text."
	}
	if images == 1 {
		s = strings.TrimSpace(s + " I can see the image you shared.")
	} else if images > 1 {
		s = strings.TrimSpace(fmt.Sprintf("%s I can see the %d images you shared.", s, images))
	}
	return s
}

var fillers = []string{
	"Here is a short answer.",
	"The main point is simple, and the details follow from it.",
	"In practice this depends on the context you are working in.",
	"A good first step is to check the assumptions behind the question.",
	"Most of the time the straightforward approach works well.",
	"If you need more detail, I can expand on any part of this.",
	"There are a few trade-offs worth keeping in mind.",
	"Taken together, these points give a clear picture.",
}

// paragraph returns lead followed by filler sentences: exactly words words
// in all when words > 0, a short Markdown answer (markdownAnswer)
// otherwise.
func paragraph(lead string, words int, seed []byte) string {
	if words <= 0 {
		return markdownAnswer(lead, seed)
	}
	target := words
	out := strings.Fields(lead)
	for i := int(seed[0]); len(out) < target; i++ {
		out = append(out, strings.Fields(fillers[i%len(fillers)])...)
	}
	if words > 0 && len(out) > words {
		out = out[:words]
		if last := out[len(out)-1]; !strings.HasSuffix(last, ".") {
			out[len(out)-1] = last + "."
		}
	}
	return strings.Join(out, " ")
}

// markdownAnswer is a default answer: lead, then what a model's answers
// are made of in Markdown, so that a chat shows them rendered: a heading,
// bold, a list, inline code and a fenced code block. The sentences depend
// on the seed, the shape does not.
func markdownAnswer(lead string, seed []byte) string {
	filler := func(i int) string { return fillers[(int(seed[0])+i)%len(fillers)] }
	var b strings.Builder
	b.WriteString(strings.TrimRight(lead, "\n"))
	b.WriteString("\n\n## Summary\n\n**")
	b.WriteString(filler(0))
	b.WriteString("** ")
	b.WriteString(filler(1))
	b.WriteString("\n\n- ")
	b.WriteString(filler(2))
	b.WriteString("\n- ")
	b.WriteString(filler(3))
	b.WriteString("\n- Run `make check` before you commit.\n\nFor example:\n\n```sh\nmake check\n```")
	return b.String()
}

// clip shortens s to n bytes at a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return clipBytes(s, n) + "…"
}

// clipBytes shortens s to at most n bytes at a rune boundary.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// seedless are the fields that do not change the answer: a call streamed or
// not, through Bedrock or the Anthropic API, gets the same reply.
var seedless = map[string]bool{"model": true, "stream": true, "anthropic_version": true, "anthropic_beta": true}

// requestSeed hashes the model and the fields in key order: the source of
// every choice the answer makes, so equal requests get equal answers.
func requestSeed(model string, fields map[string]json.RawMessage) []byte {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if !seedless[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write([]byte(model))
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(fields[k])
	}
	return h.Sum(nil)
}

const idAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// IDChars returns n base58 characters derived from seed and purpose.
func IDChars(seed []byte, purpose string, n int) string {
	h := sha256.Sum256(append([]byte(purpose+":"), seed...))
	out := make([]byte, n)
	for i := range out {
		out[i] = idAlphabet[int(h[i%len(h)]+byte(i/len(h)))%len(idAlphabet)]
	}
	return string(out)
}

// signatureKey signs the emulator's thinking blocks. It protects nothing; it
// lets the emulator notice a thinking block changed on its way back, as the
// API does.
var signatureKey = []byte("claudebridge emulator thinking")

const signatureMagic = "cbemu1"

func signThinking(thought string) string {
	mac := hmac.New(sha256.New, signatureKey)
	mac.Write([]byte(thought))
	return base64.StdEncoding.EncodeToString(append([]byte(signatureMagic), mac.Sum(nil)...))
}

// validSignature reports whether a thinking block sent back is acceptable:
// its signature must be non-empty, and when the emulator made it, it must
// still match the thinking text.
func validSignature(thought, signature string) bool {
	if signature == "" {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || !strings.HasPrefix(string(raw), signatureMagic) {
		return true
	}
	return hmac.Equal([]byte(signature), []byte(signThinking(thought)))
}
