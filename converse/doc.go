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
//   - stop_sequences also asks for additionalModelResponseFieldPaths, a JSON
//     pointer into the model's answer: ["/stop_sequence"] for Converse,
//     ["/delta/stop_sequence"] for ConverseStream (whose answer is the
//     message_delta event). The matched sequence is read from
//     additionalModelResponseFields at either place. The other way (the
//     front door, the emulator) returns additionalModelResponseFields only
//     when the request asked, with the value found at each path asked for,
//     nested under the same keys; paths that lead nowhere are left out.
//   - Converse stop reasons guardrail_intervened and content_filtered become
//     the Messages stop reason "refusal" (the model's output was withheld by
//     policy); model_context_window_exceeded is the same in both.
//     malformed_model_output and malformed_tool_use have no Messages twin
//     and leave an answer that cannot be used as it is: they become an
//     api_error (502), which Anthropic clients retry, on a stream an error
//     event after what was already sent. A reason added later becomes
//     "end_turn". The other way, refusal goes back as content_filtered and
//     pause_turn as end_turn.
//   - Citations. A Converse citationsContent block becomes a text block with
//     "citations" (its content texts joined), a contentBlockDelta
//     "citation" a citations_delta; and back, in answers and streams.
//     Locations: documentChar ⇄ char_location, documentPage ⇄ page_location,
//     documentChunk ⇄ content_block_location, searchResultLocation ⇄
//     search_result_location, web ⇄ web_search_result_location;
//     sourceContent texts ⇄ cited_text, title ⇄ document_title (title for
//     search and web results), source ⇄ source. web_search_result_location's
//     encrypted_index has no Converse field: it is dropped, and comes back
//     as "" (Messages requires it); web's domain is made from the url. A
//     citation of a type or location with no counterpart is dropped and the
//     text kept. In a request, an assistant turn's cited text (a text block
//     with citations, or a citationsContent block) is sent as plain text,
//     both ways: the text is what the model reads.
//   - Fields the Anthropic API adds to blocks (tool_use's caller, ...) have
//     no Converse member. In an answer, and in the blocks of a replayed
//     assistant turn (one whose role comes before its content), such fields
//     are dropped; in a user turn they still fail the request, so that
//     nothing a client asks of the model is dropped without a word.
//   - A ConverseStream contentBlockStart that is not toolUse (toolResult of
//     a server tool, image of a model that makes images, members added
//     later) has no Messages block in an answer: the block and its deltas
//     are left out, and the Messages indices stay dense. A complete
//     Converse answer leaves out the same blocks. A toolUse start of type
//     server_tool_use becomes a server_tool_use block, and back.
//   - redacted_thinking data is an opaque string; Converse redactedContent is
//     a blob, so it carries the string's bytes (base64 on the JSON wire).
//   - Usage: Converse inputTokens, like Messages input_tokens, excludes cached
//     tokens; totalTokens is input + output + cache read + cache write.
//     cacheDetails ({"ttl":"5m"|"1h","inputTokens":n}, 1h first) ⇄
//     usage.cache_creation (ephemeral_5m_input_tokens,
//     ephemeral_1h_input_tokens). Without cacheDetails no cache_creation is
//     made up; cache writes a cache_creation does not account for are
//     reported as 5-minute ones.
//   - Tool-use ids pass unchanged both ways (the Bedrock emulator gives its
//     Converse answers "tooluse_" ids, as Bedrock does).
package converse
