// Package claudecode makes Messages request bodies shaped like the ones
// Claude Code sends: a system prompt of several cached text blocks, dozens
// of tools with real JSON schemas, and a long history of tool use with
// signed thinking blocks and tool results holding file contents. The bytes
// are deterministic for a given Shape, so benchmarks and load runs compare
// like with like.
//
// What a real request looks like was taken from recorded Claude Code
// traffic: the field order (model, messages, system, tools, metadata,
// max_tokens, thinking, stream), the system blocks with
// cache_control, the tools' draft-07 schemas with additionalProperties
// false, MCP tools named mcp__server__tool, cache_control on the last
// user block, JSON written by JavaScript (no HTML escaping, raw UTF-8).
package claudecode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Shape says what body to make. Zero fields take the defaults.
type Shape struct {
	// Size is the body's length in bytes to reach, at least; 370 KB by
	// default (a Claude Code session some way in). The body ends at the
	// first whole exchange past it; 40 tools and 60 messages take about
	// 60 KB, so smaller sizes give that.
	Size int
	// Tools is the number of tools, 40 by default.
	Tools int
	// Messages is the least number of messages, 60 by default; more are
	// added until Size is reached.
	Messages int
	// Model is the model id, claude-sonnet-4-5-20250929 by default.
	Model string
	// NoStream leaves "stream" false (Claude Code streams).
	NoStream bool
	// NoThinking leaves out extended thinking: the "thinking" field and
	// the assistant turns' thinking blocks.
	NoThinking bool
}

func (s Shape) withDefaults() Shape {
	if s.Size <= 0 {
		s.Size = 370 << 10
	}
	if s.Tools <= 0 {
		s.Tools = 40
	}
	if s.Messages <= 0 {
		s.Messages = 60
	}
	if s.Model == "" {
		s.Model = "claude-sonnet-4-5-20250929"
	}
	return s
}

// Body returns the JSON body of a Messages request of shape s.
func Body(s Shape) []byte {
	s = s.withDefaults()
	g := &gen{rng: rand.New(rand.NewPCG(uint64(s.Size), uint64(s.Tools))), scale: min(float64(s.Size)/(370<<10), 1)}
	req := request{
		Model:     s.Model,
		System:    g.system(s.Size),
		Tools:     g.tools(s.Tools),
		Metadata:  map[string]string{"user_id": "user_" + g.hex(64) + "_account__session_" + g.uuid()},
		MaxTokens: 32000,
		Stream:    !s.NoStream,
	}
	if !s.NoThinking {
		req.Thinking = &thinking{Type: "enabled", BudgetTokens: 10000}
	}
	fixed := len(encode(req))

	// The history: a first user turn, then exchanges of an assistant turn
	// (thinking, text, tool_use) and a user turn (tool_result), sized so
	// that the least number of messages fills the body.
	req.Messages = append(req.Messages, message{Role: "user", Content: []block{
		{Type: "text", Text: "<system-reminder>\nAs you answer the user's questions, you can use the following context:\n# claudeMd\n" + g.prose(1200) + "\n</system-reminder>\n"},
		{Type: "text", Text: "Look at the failing test in internal/store and fix the race, then run the whole suite."},
	}})
	size := fixed + len(encode(req.Messages[0]))
	for size < s.Size || len(req.Messages) < s.Messages {
		left := max((s.Messages-len(req.Messages)+1)/2, 1) // exchanges still owed
		a, u := g.exchange(s, (s.Size-size)/left)
		req.Messages = append(req.Messages, a, u)
		size += len(encode(a)) + len(encode(u)) + 2
	}
	last := req.Messages[len(req.Messages)-1].Content
	last[len(last)-1].CacheControl = ephemeral
	return encode(req)
}

type request struct {
	Model     string            `json:"model"`
	Messages  []message         `json:"messages"`
	System    []block           `json:"system"`
	Tools     []tool            `json:"tools"`
	Metadata  map[string]string `json:"metadata"`
	MaxTokens int               `json:"max_tokens"`
	Thinking  *thinking         `json:"thinking,omitempty"`
	Stream    bool              `json:"stream"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

type cacheControl struct {
	Type string `json:"type"`
}

var ephemeral = &cacheControl{Type: "ephemeral"}

// block is any content block; unset fields are left out.
type block struct {
	Type         string          `json:"type"`
	Text         string          `json:"text,omitempty"`
	Thinking     string          `json:"thinking,omitempty"`
	Signature    string          `json:"signature,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      any             `json:"content,omitempty"`
	IsError      bool            `json:"is_error,omitempty"`
	CacheControl *cacheControl   `json:"cache_control,omitempty"`
}

type tool struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	InputSchema map[string]any `json:"input_schema"`
}

// encode writes v as JavaScript's JSON.stringify would: no HTML escaping.
func encode(v any) []byte {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		panic(err) // the types above always encode
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

type gen struct {
	rng *rand.Rand
	ids int
	// scale shrinks the texts of small bodies, so that 50 KB still holds
	// the tools and messages asked for: 1 at 370 KB and above.
	scale float64
}

// n scales a text length.
func (g *gen) n(length int) int { return max(int(float64(length)*g.scale), 16) }

const hexDigits = "0123456789abcdef"

func (g *gen) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *gen) uuid() string {
	h := g.hex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

const base64Digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// signature is an opaque thinking signature, as long as real ones.
func (g *gen) signature() string {
	b := make([]byte, g.n(400+g.rng.IntN(800)))
	for i := range b {
		b[i] = base64Digits[g.rng.IntN(64)]
	}
	return "Eq" + string(b) + "=="
}

var words = strings.Fields(`the a test store race lock mutex goroutine channel request response
	handler body stream event client server model token cache field value error context deadline
	file line function package import return struct interface method pointer slice map buffer
	writer reader timeout retry upstream gateway bedrock converse schema tool result thinking
	should must when then because which while after before every each other same first last
	fails passes runs reads writes checks keeps drops adds moves calls sends waits closes
	opens, fixed, found, — naïve café ✓ "quoted" <tag> & it's`)

// prose is about n bytes of English-like text with the punctuation,
// quotes and non-ASCII that real text has.
func (g *gen) prose(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[g.rng.IntN(len(words))])
		switch g.rng.IntN(14) {
		case 0:
			b.WriteString(".\n")
		case 1:
			b.WriteString(", ")
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// code is about n bytes of Go source as the Read tool returns it: numbered
// lines with tabs, quotes and backslashes.
func (g *gen) code(n int) string {
	var b strings.Builder
	for line := 1; b.Len() < n; line++ {
		fmt.Fprintf(&b, "%6d\t", line)
		switch g.rng.IntN(6) {
		case 0:
			fmt.Fprintf(&b, "func (s *%s) %s(ctx context.Context) error {\n", words[g.rng.IntN(20)], "Handle"+fmt.Sprint(line))
		case 1:
			fmt.Fprintf(&b, "\tif err := s.%s(); err != nil {\n\t\treturn fmt.Errorf(\"%s: %%w\\n\", err)\n\t}\n", "check", words[g.rng.IntN(len(words))])
		case 2:
			fmt.Fprintf(&b, "\t// %s\n", g.prose(60))
		case 3:
			b.WriteString("\tpath := `C:\\Users\\dev\\go` + \"\\\\\" + name\n")
		default:
			fmt.Fprintf(&b, "\t%s := %s[%d] // %s\n", words[g.rng.IntN(20)], words[g.rng.IntN(20)], g.rng.IntN(100), words[g.rng.IntN(len(words))])
		}
	}
	return b.String()
}

// system is Claude Code's system prompt: a first short block, then the long
// instructions, both cached; about a twelfth of the body, 2 to 24 KB.
func (g *gen) system(size int) []block {
	return []block{
		{Type: "text", Text: "You are Claude Code, Anthropic's official CLI for Claude.", CacheControl: ephemeral},
		{Type: "text", Text: "\nYou are an interactive CLI tool that helps users with software engineering tasks.\n\n# Tone and style\n" + g.prose(min(max(size/12, 2000), 24000)), CacheControl: ephemeral},
	}
}

// builtinTools are Claude Code's own tools; MCP tools follow them.
var builtinTools = []string{"Task", "Bash", "Glob", "Grep", "ExitPlanMode", "Read", "Edit", "MultiEdit",
	"Write", "NotebookEdit", "WebFetch", "TodoWrite", "WebSearch", "BashOutput", "KillShell", "SlashCommand"}

func (g *gen) tools(n int) []tool {
	out := make([]tool, n)
	for i := range out {
		name := fmt.Sprintf("mcp__server%d__%s_%d", i%5, words[i%len(words)], i)
		if i < len(builtinTools) {
			name = builtinTools[i]
		}
		out[i] = tool{Name: name, Description: g.prose(g.n(300 + g.rng.IntN(1500))), InputSchema: g.schema()}
	}
	return out
}

// schema is a tool's input schema as zod-to-json-schema writes it.
func (g *gen) schema() map[string]any {
	props := map[string]any{}
	var required []string
	for i := range 2 + g.rng.IntN(5) {
		name := fmt.Sprintf("%s_%d", words[g.rng.IntN(30)], i)
		var p map[string]any
		switch g.rng.IntN(5) {
		case 0:
			p = map[string]any{"type": "number", "description": g.prose(g.n(60))}
		case 1:
			p = map[string]any{"type": "boolean", "description": g.prose(g.n(40))}
		case 2:
			p = map[string]any{"type": "string", "enum": []string{"content", "files_with_matches", "count"}, "description": g.prose(g.n(80))}
		case 3:
			p = map[string]any{"type": "array", "items": map[string]any{
				"type": "object", "additionalProperties": false, "required": []string{"content", "status"},
				"properties": map[string]any{
					"content": map[string]any{"type": "string", "minLength": 1},
					"status":  map[string]any{"type": "string", "enum": []string{"pending", "in_progress", "completed"}},
				}}, "description": g.prose(g.n(50))}
		default:
			p = map[string]any{"type": "string", "description": g.prose(g.n(120))}
		}
		props[name] = p
		if g.rng.IntN(2) == 0 {
			required = append(required, name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false,
		"$schema": "http://json-schema.org/draft-07/schema#"}
	if required != nil {
		s["required"] = required
	}
	return s
}

// exchange is an assistant turn that calls a tool and the user turn with
// its result, about size bytes together (the result is at least 64).
func (g *gen) exchange(s Shape, size int) (message, message) {
	g.ids++
	id := fmt.Sprintf("toolu_01%s%04d", g.hex(18), g.ids)
	name := builtinTools[g.rng.IntN(min(s.Tools, len(builtinTools)))]
	input := encode(map[string]any{"file_path": "/home/dev/src/internal/store/store.go", "description": g.prose(g.n(40))})
	var a []block
	if !s.NoThinking {
		a = append(a, block{Type: "thinking", Thinking: g.prose(g.n(200 + g.rng.IntN(400))), Signature: g.signature()})
	}
	a = append(a, block{Type: "text", Text: g.prose(g.n(80 + g.rng.IntN(200)))},
		block{Type: "tool_use", ID: id, Name: name, Input: input})
	result := block{Type: "tool_result", ToolUseID: id}
	assistant, user := message{Role: "assistant", Content: a}, message{Role: "user", Content: []block{result}}
	// The result's text, less what escaping it will add, fills the rest.
	text := g.code(max((size-len(encode(assistant))-len(encode(user)))*9/10, 64))
	if g.ids%4 == 0 { // some results are block lists
		user.Content[0].Content = []block{{Type: "text", Text: text}}
	} else {
		user.Content[0].Content = text
	}
	return assistant, user
}
