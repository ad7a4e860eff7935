// Package converse translates between the Anthropic Messages API and the
// Bedrock runtime Converse API, both directions, for requests, complete
// responses and streams. It is pure translation: no HTTP, no AWS client.
//
// The Converse side is the JSON wire of the Converse and ConverseStream
// operations (AWS API reference: Converse, ContentBlock, ToolConfiguration,
// ReasoningContentBlock, CachePointBlock, TokenUsage). The modelId travels in
// the URL path and never appears in a body made here.
//
// A request is translated in one walk of its JSON (jsonReader), both ways:
// the translator descends into what it changes and copies what both APIs
// share (texts, tool inputs and schemas, signatures, base64 data) as the
// bytes the client sent, escapes included, so a request shaped as Claude
// Code sends it comes back byte for byte from Converse. Nothing is decoded
// into Go values and encoded again; only small fields (cache_control,
// tool_choice, output_config, ...) go through encoding/json.
//
// Choices where the two APIs do not say the same thing:
//
//   - cache_control on a block becomes a cachePoint block right after it
//     ({"cachePoint":{"type":"default"}}, plus "ttl" when the client asked for
//     one); the reverse puts cache_control {"type":"ephemeral"} on the block
//     before a cachePoint. A cache_control inside a tool_result's content is
//     hoisted after the toolResult block: Converse has no cache point there.
//   - tool_choice "none" has no Converse member (ToolChoice is auto, any or
//     tool). Without tool blocks in the history the tools are withheld, which
//     is what "none" means to the model. With tool blocks in the history
//     Bedrock requires toolConfig, so the tools stay and {"type":"none"} is
//     sent in additionalModelRequestFields, where Claude models read it. A
//     tool_choice that carries disable_parallel_tool_use is sent the same way,
//     whole, because Converse's ToolChoice cannot say it.
//   - Tools with a "type" other than "custom" (bash, text_editor, computer,
//     server tools) are not toolSpecs; they go, unchanged, in
//     additionalModelRequestFields.tools, as Bedrock documents for computer use.
//   - Every top-level Messages field with no Converse member (top_k, thinking,
//     anthropic_beta, context_management, ...) goes to
//     additionalModelRequestFields; model and stream are dropped because the
//     path and the operation carry them.
//   - stop_sequences also asks for additionalModelResponseFieldPaths
//     ["/stop_sequence"], so that the matched sequence comes back and
//     stop_sequence can be filled in the Messages response.
//   - Converse stop reasons guardrail_intervened and content_filtered become
//     the Messages stop reason "refusal" (the model's output was withheld by
//     policy); malformed_model_output and malformed_tool_use have no Messages
//     equal and become "end_turn"; refusal goes back as content_filtered and
//     pause_turn as end_turn.
//   - redacted_thinking data is an opaque string; Converse redactedContent is
//     a blob, so it carries the string's bytes (base64 on the JSON wire).
//   - Usage: Converse inputTokens, like Messages input_tokens, excludes cached
//     tokens; totalTokens is input + output + cache read + cache write.
package converse
