package converse

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Converse → Messages content. Converse unions are read as objects with one
// member, so that an unknown member is reported by name.

// union decodes a Converse union value and returns its one member.
func union(at string, raw json.RawMessage) (string, json.RawMessage, error) {
	m, err := object(at, raw)
	if err != nil {
		return "", nil, err
	}
	if len(m) != 1 {
		return "", nil, invalid(at, "expected exactly one member, found %d", len(m))
	}
	for k, v := range m {
		return k, v, nil
	}
	panic("unreachable")
}

// messagesBlock is a Messages content block being built; json.Marshal sorts
// its keys, which keeps the output deterministic.
type messagesBlock map[string]any

// blocksToMessages translates Converse content blocks (ContentBlock,
// SystemContentBlock or ToolResultContentBlock) into Messages blocks. A
// cachePoint becomes cache_control on the block before it.
func blocksToMessages(at string, raw json.RawMessage) ([]messagesBlock, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalid(at, "must be an array of content blocks")
	}
	out := make([]messagesBlock, 0, len(list))
	for i, item := range list {
		bat := fmt.Sprintf("%s.%d", at, i)
		member, v, err := union(bat, item)
		if err != nil {
			return nil, err
		}
		if member == "cachePoint" {
			var cp cachePoint
			if err := json.Unmarshal(v, &cp); err != nil || cp.Type != "default" {
				return nil, invalid(bat, "cachePoint type must be \"default\"")
			}
			if len(out) == 0 {
				return nil, invalid(bat, "a cachePoint must follow a content block")
			}
			cc := map[string]string{"type": "ephemeral"}
			if cp.TTL != "" {
				cc["ttl"] = cp.TTL
			}
			out[len(out)-1]["cache_control"] = cc
			continue
		}
		b, err := blockToMessages(bat, member, v)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func blockToMessages(at, member string, v json.RawMessage) (messagesBlock, error) {
	switch member {
	case "text":
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, invalid(at, "text must be a string")
		}
		return messagesBlock{"type": "text", "text": s}, nil
	case "json":
		// Messages tool results have no JSON member; the model reads the
		// JSON as text either way.
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return nil, invalid(at, "json must be a JSON value")
		}
		return messagesBlock{"type": "text", "text": buf.String()}, nil
	case "image":
		var img struct {
			Format string          `json:"format"`
			Source json.RawMessage `json:"source"`
		}
		if err := json.Unmarshal(v, &img); err != nil {
			return nil, invalid(at, "image must be an object")
		}
		data, err := bytesOf(at+".image.source", img.Source)
		if err != nil {
			return nil, err
		}
		media := ""
		for m, f := range imageFormats {
			if f == img.Format {
				media = m
			}
		}
		if media == "" {
			return nil, invalid(at, "image format %q is not supported", img.Format)
		}
		return messagesBlock{"type": "image", "source": map[string]string{"type": "base64", "media_type": media, "data": data}}, nil
	case "document":
		return documentToMessages(at, v)
	case "toolUse":
		var tu struct {
			ToolUseID string          `json:"toolUseId"`
			Name      string          `json:"name"`
			Input     json.RawMessage `json:"input"`
		}
		if err := json.Unmarshal(v, &tu); err != nil {
			return nil, invalid(at, "toolUse must be an object")
		}
		if isNull(tu.Input) {
			tu.Input = json.RawMessage("{}")
		}
		return messagesBlock{"type": "tool_use", "id": tu.ToolUseID, "name": tu.Name, "input": tu.Input}, nil
	case "toolResult":
		var tr struct {
			ToolUseID string          `json:"toolUseId"`
			Content   json.RawMessage `json:"content"`
			Status    string          `json:"status"`
		}
		if err := json.Unmarshal(v, &tr); err != nil {
			return nil, invalid(at, "toolResult must be an object")
		}
		b := messagesBlock{"type": "tool_result", "tool_use_id": tr.ToolUseID}
		if !isNull(tr.Content) {
			content, err := blocksToMessages(at+".toolResult.content", tr.Content)
			if err != nil {
				return nil, err
			}
			b["content"] = content
		}
		switch tr.Status {
		case "":
		case "success":
			b["is_error"] = false
		case "error":
			b["is_error"] = true
		default:
			return nil, invalid(at, "toolResult status %q is not success or error", tr.Status)
		}
		return b, nil
	case "reasoningContent":
		return reasoningToMessages(at, v)
	}
	return nil, invalid(at, "content block member %q has no Messages equivalent", member)
}

// bytesOf returns the base64 bytes of an ImageSource or DocumentSource.
func bytesOf(at string, raw json.RawMessage) (string, error) {
	member, v, err := union(at, raw)
	if err != nil {
		return "", err
	}
	if member != "bytes" {
		return "", invalid(at, "source %q has no Messages equivalent; send bytes", member)
	}
	var data string
	if err := json.Unmarshal(v, &data); err != nil {
		return "", invalid(at, "bytes must be base64 text")
	}
	return data, nil
}

// textFormats are the Converse document formats Messages can take as plain
// text documents.
var textFormats = map[string]bool{"txt": true, "md": true, "csv": true, "html": true}

func documentToMessages(at string, v json.RawMessage) (messagesBlock, error) {
	var doc struct {
		Format    string           `json:"format"`
		Name      string           `json:"name"`
		Source    json.RawMessage  `json:"source"`
		Context   *string          `json:"context"`
		Citations *citationsConfig `json:"citations"`
	}
	if err := json.Unmarshal(v, &doc); err != nil {
		return nil, invalid(at, "document must be an object")
	}
	b := messagesBlock{"type": "document"}
	if doc.Name != "" {
		b["title"] = doc.Name
	}
	if doc.Context != nil {
		b["context"] = *doc.Context
	}
	if doc.Citations != nil {
		b["citations"] = doc.Citations
	}
	member, sv, err := union(at+".document.source", doc.Source)
	if err != nil {
		return nil, err
	}
	switch {
	case member == "bytes" && doc.Format == "pdf":
		var data string
		if err := json.Unmarshal(sv, &data); err != nil {
			return nil, invalid(at, "bytes must be base64 text")
		}
		b["source"] = map[string]string{"type": "base64", "media_type": "application/pdf", "data": data}
	case member == "bytes" && textFormats[doc.Format]:
		var raw []byte
		if err := json.Unmarshal(sv, &raw); err != nil {
			return nil, invalid(at, "bytes must be base64 text")
		}
		b["source"] = map[string]string{"type": "text", "media_type": "text/plain", "data": string(raw)}
	case member == "text":
		var s string
		if err := json.Unmarshal(sv, &s); err != nil {
			return nil, invalid(at, "text must be a string")
		}
		b["source"] = map[string]string{"type": "text", "media_type": "text/plain", "data": s}
	case member == "content":
		content, err := blocksToMessages(at+".document.source.content", sv)
		if err != nil {
			return nil, err
		}
		b["source"] = map[string]any{"type": "content", "content": content}
	default:
		return nil, invalid(at, "document format %q with source %q has no Messages equivalent", doc.Format, member)
	}
	return b, nil
}

func reasoningToMessages(at string, v json.RawMessage) (messagesBlock, error) {
	member, rv, err := union(at+".reasoningContent", v)
	if err != nil {
		return nil, err
	}
	switch member {
	case "reasoningText":
		var rt reasoningText
		if err := json.Unmarshal(rv, &rt); err != nil {
			return nil, invalid(at, "reasoningText must be an object")
		}
		return messagesBlock{"type": "thinking", "thinking": rt.Text, "signature": rt.Signature}, nil
	case "redactedContent":
		var data []byte
		if err := json.Unmarshal(rv, &data); err != nil {
			return nil, invalid(at, "redactedContent must be base64 text")
		}
		return messagesBlock{"type": "redacted_thinking", "data": string(data)}, nil
	}
	return nil, invalid(at, "reasoningContent member %q has no Messages equivalent", member)
}
