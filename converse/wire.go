package converse

import "encoding/json"

// The Converse JSON shapes this package writes. Unions (ContentBlock, Tool,
// ToolChoice, ...) are structs whose members are all omitempty pointers: a
// value sets exactly one. Converse input is read through decodeUnion instead,
// so that a member this package does not know is reported, not ignored.

type converseRequest struct {
	Messages                          []converseMessage          `json:"messages"`
	System                            []converseBlock            `json:"system,omitempty"`
	InferenceConfig                   *inferenceConfig           `json:"inferenceConfig,omitempty"`
	ToolConfig                        *toolConfig                `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields      map[string]json.RawMessage `json:"additionalModelRequestFields,omitempty"`
	AdditionalModelResponseFieldPaths []string                   `json:"additionalModelResponseFieldPaths,omitempty"`
	RequestMetadata                   map[string]string          `json:"requestMetadata,omitempty"`
	OutputConfig                      *outputConfig              `json:"outputConfig,omitempty"`
	ServiceTier                       *serviceTier               `json:"serviceTier,omitempty"`
}

type converseMessage struct {
	Role    string          `json:"role"`
	Content []converseBlock `json:"content"`
}

// converseBlock is a ContentBlock, a SystemContentBlock or a
// ToolResultContentBlock: the members they share have the same shapes.
type converseBlock struct {
	Text             *string           `json:"text,omitempty"`
	Image            *imageBlock       `json:"image,omitempty"`
	Document         *documentBlock    `json:"document,omitempty"`
	ToolUse          *toolUseBlock     `json:"toolUse,omitempty"`
	ToolResult       *toolResultBlock  `json:"toolResult,omitempty"`
	ReasoningContent *reasoningContent `json:"reasoningContent,omitempty"`
	CachePoint       *cachePoint       `json:"cachePoint,omitempty"`
	JSON             json.RawMessage   `json:"json,omitempty"`
}

type imageBlock struct {
	Format string      `json:"format"`
	Source bytesSource `json:"source"`
}

// bytesSource is an ImageSource or DocumentSource; Bytes is base64 on the
// wire, kept as the client's base64 text so images are not decoded.
type bytesSource struct {
	Bytes   *string         `json:"bytes,omitempty"`
	Text    *string         `json:"text,omitempty"`
	Content []converseBlock `json:"content,omitempty"`
}

type documentBlock struct {
	Format    string           `json:"format,omitempty"`
	Name      string           `json:"name"`
	Source    bytesSource      `json:"source"`
	Context   *string          `json:"context,omitempty"`
	Citations *citationsConfig `json:"citations,omitempty"`
}

type citationsConfig struct {
	Enabled bool `json:"enabled"`
}

type toolUseBlock struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type toolResultBlock struct {
	ToolUseID string          `json:"toolUseId"`
	Content   []converseBlock `json:"content"`
	Status    string          `json:"status,omitempty"`
}

type reasoningContent struct {
	ReasoningText   *reasoningText `json:"reasoningText,omitempty"`
	RedactedContent []byte         `json:"redactedContent,omitempty"`
}

type reasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

type cachePoint struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

type inferenceConfig struct {
	MaxTokens     *int64          `json:"maxTokens,omitempty"`
	Temperature   json.RawMessage `json:"temperature,omitempty"`
	TopP          json.RawMessage `json:"topP,omitempty"`
	StopSequences []string        `json:"stopSequences,omitempty"`
}

type toolConfig struct {
	Tools      []converseTool `json:"tools"`
	ToolChoice *toolChoice    `json:"toolChoice,omitempty"`
}

type converseTool struct {
	ToolSpec   *toolSpec   `json:"toolSpec,omitempty"`
	CachePoint *cachePoint `json:"cachePoint,omitempty"`
}

type toolSpec struct {
	Name        string      `json:"name"`
	Description *string     `json:"description,omitempty"`
	InputSchema inputSchema `json:"inputSchema"`
	Strict      *bool       `json:"strict,omitempty"`
}

type inputSchema struct {
	JSON json.RawMessage `json:"json"`
}

type toolChoice struct {
	Auto *struct{}     `json:"auto,omitempty"`
	Any  *struct{}     `json:"any,omitempty"`
	Tool *specificTool `json:"tool,omitempty"`
}

type specificTool struct {
	Name string `json:"name"`
}

type outputConfig struct {
	Effort     *string       `json:"effort,omitempty"`
	TextFormat *outputFormat `json:"textFormat,omitempty"`
}

type outputFormat struct {
	Type      string          `json:"type"`
	Structure formatStructure `json:"structure"`
}

type formatStructure struct {
	JSONSchema jsonSchemaDefinition `json:"jsonSchema"`
}

type jsonSchemaDefinition struct {
	// Schema is the JSON schema as a string, as Converse wants it.
	Schema      string  `json:"schema"`
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
}

type serviceTier struct {
	Type string `json:"type"`
}

// tokenUsage is Converse's TokenUsage.
type tokenUsage struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	TotalTokens           int `json:"totalTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens"`
}
