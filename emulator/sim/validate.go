package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/claudebridge/claudebridge"
)

// request is a Messages body the emulator has parsed and validated.
type request struct {
	maxTokens     int
	system        []contentBlock
	messages      []message
	tools         []tool
	toolChoice    string // "auto", "any", "tool" or "none"
	toolName      string // the tool forced by tool_choice {"type":"tool"}
	thinking      string // "", "enabled", "adaptive" ("disabled" is kept as "")
	budgetTokens  int
	stopSequences []string
}

type message struct {
	Role   string
	Blocks []contentBlock
}

// contentBlock is one block of a message or of the system prompt. Raw keeps
// the block as sent, for token counting and cache prefixes.
type contentBlock struct {
	Type         string          `json:"type"`
	Text         string          `json:"text"`
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Input        json.RawMessage `json:"input"`
	ToolUseID    string          `json:"tool_use_id"`
	Content      json.RawMessage `json:"content"`
	IsError      bool            `json:"is_error"`
	Thinking     *string         `json:"thinking"`
	Signature    *string         `json:"signature"`
	Data         *string         `json:"data"`
	Source       json.RawMessage `json:"source"`
	CacheControl json.RawMessage `json:"cache_control"`
	Raw          json.RawMessage `json:"-"`
	// Nested are the blocks of a tool_result's content list.
	Nested []contentBlock `json:"-"`
}

type tool struct {
	Name         string          `json:"name"`
	Type         string          `json:"type"`
	InputSchema  json.RawMessage `json:"input_schema"`
	CacheControl json.RawMessage `json:"cache_control"`
	Raw          json.RawMessage `json:"-"`
}

// knownFields are the top-level fields the emulator accepts: those of the
// Messages API, and the two the Bedrock InvokeModel body adds. Any other
// field is refused as the API refuses it.
var knownFields = map[string]bool{
	"model": true, "messages": true, "max_tokens": true, "system": true,
	"stop_sequences": true, "stream": true, "temperature": true, "top_p": true,
	"top_k": true, "tools": true, "tool_choice": true, "thinking": true,
	"metadata": true, "service_tier": true, "container": true,
	"mcp_servers": true, "context_management": true, "output_config": true,
	"output_format": true, "inference_geo": true, "speed": true,
	"anthropic_version": true, "anthropic_beta": true,
}

var blockTypes = []string{"text", "image", "document", "search_result", "tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result", "container_upload"}

var toolNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)

var imageMediaTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

func invalid(format string, args ...any) *claudebridge.Error {
	return claudebridge.Errorf(claudebridge.EINVALID, format, args...)
}

// parseRequest validates fields as the Messages API does and returns the
// parsed request. requireMaxTokens is false for count_tokens, whose body has
// no max_tokens. maxOutput is the model's output limit, 0 when unknown.
func parseRequest(fields map[string]json.RawMessage, requireMaxTokens bool, maxOutput int) (*request, error) {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !knownFields[name] || (!requireMaxTokens && (name == "max_tokens" || name == "stream" || name == "stop_sequences" || name == "temperature" || name == "top_p" || name == "top_k" || name == "metadata")) {
			return nil, invalid("%s: Extra inputs are not permitted", name)
		}
	}
	r := &request{toolChoice: "auto"}
	if err := r.parseMaxTokens(fields["max_tokens"], requireMaxTokens, maxOutput); err != nil {
		return nil, err
	}
	if err := r.parseMessages(fields["messages"]); err != nil {
		return nil, err
	}
	if err := r.parseSystem(fields["system"]); err != nil {
		return nil, err
	}
	if err := r.parseTools(fields["tools"], fields["tool_choice"]); err != nil {
		return nil, err
	}
	if err := r.parseSampling(fields); err != nil {
		return nil, err
	}
	if err := r.parseThinking(fields["thinking"], fields["temperature"], requireMaxTokens); err != nil {
		return nil, err
	}
	if err := r.checkToolPairs(); err != nil {
		return nil, err
	}
	return r, nil
}

// Given reports whether a field was sent with a value other than null.
func Given(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func (r *request) parseMaxTokens(raw json.RawMessage, required bool, maxOutput int) error {
	if !Given(raw) {
		if required {
			return invalid("max_tokens: Field required")
		}
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return invalid("max_tokens: Input should be a valid integer")
	}
	v, err := n.Int64()
	if err != nil {
		return invalid("max_tokens: Input should be a valid integer")
	}
	if v < 1 {
		return invalid("max_tokens: Input should be greater than or equal to 1")
	}
	if maxOutput > 0 && v > int64(maxOutput) {
		return invalid("max_tokens: %d > %d, which is the maximum allowed number of output tokens for this model", v, maxOutput)
	}
	r.maxTokens = int(v)
	return nil
}

func (r *request) parseMessages(raw json.RawMessage) error {
	if !Given(raw) {
		return invalid("messages: Field required")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return invalid("messages: Input should be a valid list")
	}
	if len(items) == 0 {
		return invalid("messages: at least one message is required")
	}
	for i, item := range items {
		var m struct {
			Role    *string         `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		if err := json.Unmarshal(item, &m); err != nil {
			return invalid("messages.%d: Input should be a valid dictionary", i)
		}
		if m.Role == nil {
			return invalid("messages.%d.role: Field required", i)
		}
		if *m.Role != "user" && *m.Role != "assistant" {
			return invalid("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		if !Given(m.Content) {
			return invalid("messages.%d.content: Field required", i)
		}
		last := i == len(items)-1
		blocks, err := parseContent(fmt.Sprintf("messages.%d.content", i), m.Content)
		if err != nil {
			return err
		}
		if len(blocks) == 0 && !(last && *m.Role == "assistant") {
			return invalid("messages.%d: all messages must have non-empty content except for the optional final assistant message", i)
		}
		if last && *m.Role == "assistant" && len(blocks) > 0 {
			if b := blocks[len(blocks)-1]; b.Type == "text" && strings.TrimRight(b.Text, " \t\r\n") != b.Text {
				return invalid("messages: final assistant content cannot end with trailing whitespace")
			}
		}
		r.messages = append(r.messages, message{Role: *m.Role, Blocks: blocks})
	}
	return nil
}

// parseContent reads a content field: a string (one text block) or a list of
// blocks. An empty string gives no blocks.
func parseContent(path string, raw json.RawMessage) ([]contentBlock, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return nil, nil
		}
		return []contentBlock{{Type: "text", Text: s, Raw: raw}}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, invalid("%s: Input should be a valid list", path)
	}
	blocks := make([]contentBlock, 0, len(items))
	for j, item := range items {
		b, err := parseBlock(fmt.Sprintf("%s.%d", path, j), item)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

func parseBlock(path string, raw json.RawMessage) (contentBlock, error) {
	var b contentBlock
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil || probe == nil {
		return b, invalid("%s: Input should be a valid dictionary", path)
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, invalid("%s: %s", path, typeErrorMessage(err))
	}
	b.Raw = raw
	if _, ok := probe["type"]; !ok {
		return b, invalid("%s.type: Field required", path)
	}
	switch b.Type {
	case "text":
		if _, ok := probe["text"]; !ok {
			return b, invalid("%s.text: Field required", path)
		}
		if b.Text == "" {
			return b, invalid("messages: text content blocks must be non-empty")
		}
	case "image":
		return b, checkImage(path, b.Source)
	case "document":
		if !Given(b.Source) {
			return b, invalid("%s.source: Field required", path)
		}
	case "tool_use", "server_tool_use":
		if b.ID == "" {
			return b, invalid("%s.id: Field required", path)
		}
		if b.Name == "" {
			return b, invalid("%s.name: Field required", path)
		}
		var input map[string]any
		if !Given(b.Input) {
			return b, invalid("%s.input: Field required", path)
		}
		if err := json.Unmarshal(b.Input, &input); err != nil {
			return b, invalid("%s.input: Input should be a valid dictionary", path)
		}
	case "tool_result":
		if b.ToolUseID == "" {
			return b, invalid("%s.tool_use_id: Field required", path)
		}
		if Given(b.Content) {
			nested, err := parseContent(path+".content", b.Content)
			if err != nil {
				return b, err
			}
			b.Nested = nested
		}
	case "thinking":
		if b.Thinking == nil {
			return b, invalid("%s.thinking: Field required", path)
		}
		if b.Signature == nil {
			return b, invalid("%s.signature: Field required", path)
		}
		if !validSignature(*b.Thinking, *b.Signature) {
			return b, invalid("%s: Invalid `signature` in `thinking` block", path)
		}
	case "redacted_thinking":
		if b.Data == nil {
			return b, invalid("%s.data: Field required", path)
		}
	case "search_result", "web_search_tool_result", "container_upload":
	default:
		return b, invalid("%s: Input tag '%s' found using 'type' does not match any of the expected tags: '%s'", path, b.Type, strings.Join(blockTypes, "', '"))
	}
	return b, nil
}

func typeErrorMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field + ": Input should be a valid " + te.Value
	}
	return "Input should be a valid dictionary"
}

func checkImage(path string, raw json.RawMessage) error {
	if !Given(raw) {
		return invalid("%s.source: Field required", path)
	}
	var src struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
		FileID    string `json:"file_id"`
	}
	if err := json.Unmarshal(raw, &src); err != nil {
		return invalid("%s.source: Input should be a valid dictionary", path)
	}
	switch src.Type {
	case "base64":
		if !imageMediaTypes[src.MediaType] {
			return invalid("%s.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'", path)
		}
		if src.Data == "" {
			return invalid("%s.source.base64.data: Field required", path)
		}
		if _, err := base64.StdEncoding.DecodeString(src.Data); err != nil {
			return invalid("%s.source.base64.data: The image data is not valid base64", path)
		}
	case "url":
		if src.URL == "" {
			return invalid("%s.source.url.url: Field required", path)
		}
	case "file":
		if src.FileID == "" {
			return invalid("%s.source.file.file_id: Field required", path)
		}
	default:
		return invalid("%s.source: Input tag '%s' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'", path, src.Type)
	}
	return nil
}

func (r *request) parseSystem(raw json.RawMessage) error {
	if !Given(raw) {
		return nil
	}
	blocks, err := parseContent("system", raw)
	if err != nil {
		return err
	}
	for j, b := range blocks {
		if b.Type != "text" {
			return invalid("system.%d.type: Input should be 'text'", j)
		}
	}
	r.system = blocks
	return nil
}

func (r *request) parseTools(raw, choice json.RawMessage) error {
	if Given(raw) {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return invalid("tools: Input should be a valid list")
		}
		seen := map[string]bool{}
		for i, item := range items {
			var t tool
			if err := json.Unmarshal(item, &t); err != nil {
				return invalid("tools.%d: Input should be a valid dictionary", i)
			}
			t.Raw = item
			if t.Name == "" {
				return invalid("tools.%d.name: Field required", i)
			}
			custom := t.Type == "" || t.Type == "custom"
			if custom {
				if !toolNamePattern.MatchString(t.Name) {
					return invalid("tools.%d.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'", i)
				}
				if !Given(t.InputSchema) {
					return invalid("tools.%d.custom.input_schema: Field required", i)
				}
				var schema struct {
					Type string `json:"type"`
				}
				if err := json.Unmarshal(t.InputSchema, &schema); err != nil {
					return invalid("tools.%d.custom.input_schema: Input should be a valid dictionary", i)
				}
				if schema.Type != "object" {
					return invalid("tools.%d.custom.input_schema.type: Input should be 'object'", i)
				}
				t.Type = "custom"
			}
			if seen[t.Name] {
				return invalid("tools: Tool names must be unique.")
			}
			seen[t.Name] = true
			r.tools = append(r.tools, t)
		}
	}
	if !Given(choice) {
		return nil
	}
	var c struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(choice, &c); err != nil {
		return invalid("tool_choice: Input should be a valid dictionary")
	}
	switch c.Type {
	case "auto", "none":
	case "any":
		if len(r.tools) == 0 {
			return invalid("tool_choice: tool_choice may only be specified while providing tools.")
		}
	case "tool":
		if c.Name == "" {
			return invalid("tool_choice.tool.name: Field required")
		}
		if r.findTool(c.Name) == nil {
			return invalid("tool_choice: Tool '%s' not found in provided tools", c.Name)
		}
	default:
		return invalid("tool_choice: Input tag '%s' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'", c.Type)
	}
	r.toolChoice, r.toolName = c.Type, c.Name
	return nil
}

func (r *request) findTool(name string) *tool {
	for i := range r.tools {
		if r.tools[i].Name == name {
			return &r.tools[i]
		}
	}
	return nil
}

func (r *request) parseSampling(fields map[string]json.RawMessage) error {
	for _, name := range []string{"temperature", "top_p"} {
		if raw := fields[name]; Given(raw) {
			var v float64
			if err := json.Unmarshal(raw, &v); err != nil {
				return invalid("%s: Input should be a valid number", name)
			}
			if v < 0 {
				return invalid("%s: Input should be greater than or equal to 0", name)
			}
			if v > 1 {
				return invalid("%s: Input should be less than or equal to 1", name)
			}
		}
	}
	if raw := fields["top_k"]; Given(raw) {
		var v int
		if err := json.Unmarshal(raw, &v); err != nil {
			return invalid("top_k: Input should be a valid integer")
		}
		if v < 0 {
			return invalid("top_k: Input should be greater than or equal to 0")
		}
	}
	if raw := fields["stream"]; Given(raw) {
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return invalid("stream: Input should be a valid boolean")
		}
	}
	if raw := fields["metadata"]; Given(raw) {
		var v struct {
			UserID *string `json:"user_id"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return invalid("metadata: Input should be a valid dictionary")
		}
		if v.UserID != nil && len(*v.UserID) > 256 {
			return invalid("metadata.user_id: String should have at most 256 characters")
		}
	}
	if raw := fields["stop_sequences"]; Given(raw) {
		if err := json.Unmarshal(raw, &r.stopSequences); err != nil {
			return invalid("stop_sequences: Input should be a valid list")
		}
		for _, s := range r.stopSequences {
			if strings.TrimSpace(s) == "" {
				return invalid("stop_sequences: each stop sequence must contain non-whitespace")
			}
		}
	}
	return nil
}

func (r *request) parseThinking(raw, temperature json.RawMessage, checkBudget bool) error {
	if !Given(raw) {
		return nil
	}
	var t struct {
		Type         string `json:"type"`
		BudgetTokens *int   `json:"budget_tokens"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return invalid("thinking: Input should be a valid dictionary")
	}
	switch t.Type {
	case "disabled":
		return nil
	case "enabled":
		if t.BudgetTokens == nil {
			return invalid("thinking.enabled.budget_tokens: Field required")
		}
		if *t.BudgetTokens < 1024 {
			return invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
		}
		if checkBudget && r.maxTokens <= *t.BudgetTokens {
			return invalid("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size")
		}
		r.budgetTokens = *t.BudgetTokens
	case "adaptive":
		r.budgetTokens = r.maxTokens / 2
	default:
		return invalid("thinking: Input tag '%s' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'", t.Type)
	}
	r.thinking = t.Type
	if Given(temperature) {
		var v float64
		if json.Unmarshal(temperature, &v) == nil && v != 1 {
			return invalid("`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility")
		}
	}
	if r.toolChoice == "any" || r.toolChoice == "tool" {
		return invalid("Thinking may not be enabled when tool_choice forces tool use.")
	}
	return nil
}

// checkToolPairs enforces the API's rule that every tool_use is answered by
// a tool_result in the very next message, and every tool_result answers a
// tool_use of the message before it.
func (r *request) checkToolPairs() error {
	for i, m := range r.messages {
		if m.Role == "assistant" && i+1 < len(r.messages) {
			var missing []string
			results := map[string]bool{}
			for _, b := range r.messages[i+1].Blocks {
				if b.Type == "tool_result" {
					results[b.ToolUseID] = true
				}
			}
			for _, b := range m.Blocks {
				if b.Type == "tool_use" && !results[b.ID] {
					missing = append(missing, b.ID)
				}
			}
			if len(missing) > 0 {
				return invalid("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", i+1, strings.Join(missing, ", "))
			}
		}
		if m.Role != "user" {
			continue
		}
		uses := map[string]bool{}
		if i > 0 && r.messages[i-1].Role == "assistant" {
			for _, b := range r.messages[i-1].Blocks {
				if b.Type == "tool_use" {
					uses[b.ID] = true
				}
			}
		}
		for j, b := range m.Blocks {
			if b.Type == "tool_result" && !uses[b.ToolUseID] {
				return invalid("messages.%d.content.%d: unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", i, j, b.ToolUseID)
			}
		}
	}
	if r.thinking != "" {
		return r.checkThinkingToolLoop()
	}
	return nil
}

// checkThinkingToolLoop enforces that, with thinking on, an assistant turn
// that used a tool and is being continued with its result starts with its
// thinking block, as the API requires.
func (r *request) checkThinkingToolLoop() error {
	n := len(r.messages)
	if n < 2 || r.messages[n-1].Role != "user" || r.messages[n-2].Role != "assistant" {
		return nil
	}
	hasResult := false
	for _, b := range r.messages[n-1].Blocks {
		hasResult = hasResult || b.Type == "tool_result"
	}
	blocks := r.messages[n-2].Blocks
	if !hasResult || len(blocks) == 0 {
		return nil
	}
	if t := blocks[0].Type; t != "thinking" && t != "redacted_thinking" {
		return invalid("messages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found `%s`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking", n-2, t)
	}
	return nil
}
