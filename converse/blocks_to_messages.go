package converse

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
)

// Converse → Messages content, written as it is read. Converse unions are
// objects with one member, read so that an unknown member is reported by
// name.

// mediaTypes maps Converse image formats to Messages media types.
var mediaTypes = map[string]string{"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}

// union reads a Converse union at r, calling member with the name and the
// reader at the value, which member must read.
func union(r *jsonReader, at string, member func(name string) error) error {
	if r.next() != '{' {
		return invalid(at, "expected an object")
	}
	n := 0
	err := r.object(func(key []byte) error {
		n++
		if n > 1 {
			return invalid(at, "expected exactly one member, found more")
		}
		return member(string(key))
	})
	if err == nil && n == 0 {
		return invalid(at, "expected exactly one member, found 0")
	}
	return err
}

// strMember reads a string member, null as "", naming it on a wrong type.
func strMember(r *jsonReader, at, name string) ([]byte, error) {
	s, err := r.text()
	if err == errType {
		return nil, invalid(at, "%s must be a string", name)
	}
	return s, err
}

// blocksToMessages translates Converse content blocks (ContentBlock,
// SystemContentBlock or ToolResultContentBlock) at r into a Messages array
// of blocks appended to out. A cachePoint becomes cache_control on the
// block before it.
func blocksToMessages(r *jsonReader, at string, out []byte) ([]byte, error) {
	return blocksOf(r, at, out, false)
}

// answerBlocksToMessages is blocksToMessages for the content of a model's
// answer, where a block Messages has no answer block for (a server tool's
// toolResult, an image the model made, members added later) is left out, as
// in streams, rather than failing the call.
func answerBlocksToMessages(r *jsonReader, at string, out []byte) ([]byte, error) {
	return blocksOf(r, at, out, true)
}

// answerMembers are the ContentBlock members a Messages answer can hold.
var answerMembers = map[string]bool{"text": true, "toolUse": true, "reasoningContent": true, "citationsContent": true, "cachePoint": true}

func blocksOf(r *jsonReader, at string, out []byte, answer bool) ([]byte, error) {
	if r.next() != '[' {
		return nil, invalid(at, "must be an array of content blocks")
	}
	out = append(out, '[')
	// The last block is left open (no closing brace) until the next one
	// comes, so that a cachePoint can still add cache_control to it.
	open, cached := false, false
	err := r.array(func(i int) error {
		bat := at + "." + strconv.Itoa(i)
		return union(r, bat, func(member string) error {
			if answer && !answerMembers[member] {
				_, err := r.value()
				return err
			}
			if member == "cachePoint" {
				cp, err := r.value()
				if err != nil {
					return err
				}
				var c cachePoint
				if err := json.Unmarshal(cp, &c); err != nil || c.Type != "default" {
					return invalid(bat, "cachePoint type must be \"default\"")
				}
				if !open {
					return invalid(bat, "a cachePoint must follow a content block")
				}
				if !cached {
					out = append(out, `,"cache_control":{"type":"ephemeral"`...)
					if c.TTL != "" {
						out = append(out, `,"ttl":`...)
						out = quote(out, c.TTL)
					}
					out = append(out, '}')
					cached = true
				}
				return nil
			}
			if open {
				out = append(out, `},`...)
			}
			var err error
			if out, err = blockToMessages(r, bat, member, answer, out); err != nil {
				return err
			}
			open, cached = true, false
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if open {
		out = append(out, '}')
	}
	return append(out, ']'), nil
}

// blockToMessages appends one Messages block, without its closing brace,
// for the union member at r; answer says whether it is a model's answer.
func blockToMessages(r *jsonReader, at, member string, answer bool, out []byte) ([]byte, error) {
	switch member {
	case "text":
		if r.next() != '"' {
			return nil, invalid(at, "text must be a string")
		}
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		out = append(out, `{"type":"text","text":`...)
		return append(out, s...), nil
	case "json":
		// Messages tool results have no JSON member; the model reads the
		// JSON as text either way.
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return nil, invalid(at, "json must be a JSON value")
		}
		out = append(out, `{"type":"text","text":`...)
		return quote(out, buf.String()), nil
	case "image":
		var format string
		var data []byte
		if r.next() != '{' {
			return nil, invalid(at, "image must be an object")
		}
		err := r.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "format":
				var s []byte
				if s, err = strMember(r, at, "format"); err == nil {
					format = unquote(s)
				}
			case "source":
				data, err = bytesOf(r, at+".image.source")
			default:
				_, err = r.value()
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if data == nil {
			return nil, invalid(at+".image.source", "expected an object")
		}
		media, ok := mediaTypes[format]
		if !ok {
			return nil, invalid(at, "image format %q is not supported", format)
		}
		out = append(out, `{"type":"image","source":{"type":"base64","media_type":"`...)
		out = append(out, media...)
		out = append(out, `","data":`...)
		out = append(out, data...)
		return append(out, '}'), nil
	case "document":
		return documentToMessages(r, at, out)
	case "toolUse":
		id, name, input := []byte(`""`), []byte(`""`), []byte(`{}`)
		if r.next() != '{' {
			return nil, invalid(at, "toolUse must be an object")
		}
		err := r.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "toolUseId":
				id, err = strMember(r, at, "toolUseId")
			case "name":
				name, err = strMember(r, at, "name")
			case "input":
				if r.null() {
					return nil
				}
				input, err = r.value()
			default:
				_, err = r.value()
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, `{"type":"tool_use","id":`...)
		out = append(out, id...)
		out = append(out, `,"name":`...)
		out = append(out, name...)
		out = append(out, `,"input":`...)
		return append(out, input...), nil
	case "toolResult":
		return toolResultToMessages(r, at, out)
	case "reasoningContent":
		return reasoningToMessages(r, at, out)
	case "citationsContent":
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		return citationsContentToMessages(v, at, answer, out)
	}
	return nil, invalid(at, "content block member %q has no Messages equivalent", member)
}

// bytesOf reads an ImageSource or DocumentSource that must be bytes and
// returns the base64 text, quoted.
func bytesOf(r *jsonReader, at string) ([]byte, error) {
	var data []byte
	err := union(r, at, func(member string) error {
		if member != "bytes" {
			return invalid(at, "source %q has no Messages equivalent; send bytes", member)
		}
		if r.next() != '"' {
			return invalid(at, "bytes must be base64 text")
		}
		var err error
		data, err = r.str()
		return err
	})
	return data, err
}

// textFormats are the Converse document formats Messages can take as plain
// text documents.
var textFormats = map[string]bool{"txt": true, "md": true, "csv": true, "html": true}

func documentToMessages(r *jsonReader, at string, out []byte) ([]byte, error) {
	var format string
	var name, context, citations, source []byte
	if r.next() != '{' {
		return nil, invalid(at, "document must be an object")
	}
	err := r.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "format":
			var s []byte
			if s, err = strMember(r, at, "format"); err == nil {
				format = unquote(s)
			}
		case "name":
			name, err = strMember(r, at, "name")
		case "context":
			if !r.null() {
				context, err = strMember(r, at, "context")
			}
		case "citations":
			citations, err = r.value()
		case "source":
			source, err = r.value()
		default:
			_, err = r.value()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out = append(out, `{"type":"document"`...)
	if name != nil && string(name) != `""` {
		out = append(out, `,"title":`...)
		out = append(out, name...)
	}
	if context != nil {
		out = append(out, `,"context":`...)
		out = append(out, context...)
	}
	if !isNull(citations) {
		var c citationsConfig
		if err := json.Unmarshal(citations, &c); err != nil {
			return nil, invalid(at, "document must be an object")
		}
		out = append(out, `,"citations":{"enabled":`...)
		out = strconv.AppendBool(out, c.Enabled)
		out = append(out, '}')
	}
	if source == nil {
		source = []byte("null")
	}
	sr := jsonReader{b: source}
	err = union(&sr, at+".document.source", func(member string) error {
		switch {
		case member == "bytes" && format == "pdf":
			if sr.next() != '"' {
				return invalid(at, "bytes must be base64 text")
			}
			data, err := sr.str()
			if err != nil {
				return err
			}
			out = append(out, `,"source":{"type":"base64","media_type":"application/pdf","data":`...)
			out = append(out, data...)
		case member == "bytes" && textFormats[format]:
			data, err := sr.str()
			if err != nil {
				return invalid(at, "bytes must be base64 text")
			}
			text, err := base64.StdEncoding.DecodeString(unquote(data))
			if err != nil {
				return invalid(at, "bytes must be base64 text")
			}
			out = append(out, `,"source":{"type":"text","media_type":"text/plain","data":`...)
			out = quote(out, string(text))
		case member == "text":
			s, err := sr.str()
			if err != nil {
				return invalid(at, "text must be a string")
			}
			out = append(out, `,"source":{"type":"text","media_type":"text/plain","data":`...)
			out = append(out, s...)
		case member == "content":
			out = append(out, `,"source":{"type":"content","content":`...)
			var err error
			if out, err = blocksToMessages(&sr, at+".document.source.content", out); err != nil {
				return err
			}
		default:
			return invalid(at, "document format %q with source %q has no Messages equivalent", format, member)
		}
		out = append(out, '}')
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func toolResultToMessages(r *jsonReader, at string, out []byte) ([]byte, error) {
	if r.next() != '{' {
		return nil, invalid(at, "toolResult must be an object")
	}
	out = append(out, `{"type":"tool_result"`...)
	id := []byte(`""`)
	status := ""
	err := r.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "toolUseId":
			id, err = strMember(r, at, "toolUseId")
		case "status":
			var s []byte
			if s, err = strMember(r, at, "status"); err == nil {
				status = unquote(s)
			}
		case "content":
			if r.null() {
				return nil
			}
			out = append(out, `,"content":`...)
			out, err = blocksToMessages(r, at+".toolResult.content", out)
		default:
			_, err = r.value()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out = append(out, `,"tool_use_id":`...)
	out = append(out, id...)
	switch status {
	case "":
	case "success":
		out = append(out, `,"is_error":false`...)
	case "error":
		out = append(out, `,"is_error":true`...)
	default:
		return nil, invalid(at, "toolResult status %q is not success or error", status)
	}
	return out, nil
}

func reasoningToMessages(r *jsonReader, at string, out []byte) ([]byte, error) {
	err := union(r, at+".reasoningContent", func(member string) error {
		switch member {
		case "reasoningText":
			text, sig := []byte(`""`), []byte(`""`)
			if r.next() != '{' {
				return invalid(at, "reasoningText must be an object")
			}
			err := r.object(func(key []byte) error {
				var err error
				switch string(key) {
				case "text":
					text, err = strMember(r, at, "reasoningText.text")
				case "signature":
					sig, err = strMember(r, at, "reasoningText.signature")
				default:
					_, err = r.value()
				}
				return err
			})
			if err != nil {
				return err
			}
			out = append(out, `{"type":"thinking","thinking":`...)
			out = append(out, text...)
			out = append(out, `,"signature":`...)
			out = append(out, sig...)
			return nil
		case "redactedContent":
			s, err := r.text()
			if err != nil {
				return invalid(at, "redactedContent must be base64 text")
			}
			data, err := base64.StdEncoding.DecodeString(unquote(s))
			if err != nil {
				return invalid(at, "redactedContent must be base64 text")
			}
			out = append(out, `{"type":"redacted_thinking","data":`...)
			out = quote(out, string(data))
			return nil
		}
		return invalid(at, "reasoningContent member %q has no Messages equivalent", member)
	})
	return out, err
}
