package converse

import (
	"encoding/json"
	"net/url"
	"strings"
)

// Citations: Messages puts them on a text block ("citations") and streams
// them as citations_delta; Converse has a citationsContent block (the
// generated text plus its citations) and streams them as a contentBlockDelta
// "citation". Each location has a counterpart:
//
//	documentChar          char_location              start/end_char_index
//	documentPage          page_location              start/end_page_number
//	documentChunk         content_block_location     start/end_block_index
//	searchResultLocation  search_result_location     start/end_block_index
//	web                   web_search_result_location url
//
// Converse sourceContent[].text is cited_text, title is document_title (or
// title), source is the search result's source.

// converseCitation is Converse's Citation, and its CitationsDelta (whose
// sourceContent holds pieces of text rather than whole texts).
type converseCitation struct {
	Title         *string          `json:"title,omitempty"`
	Source        *string          `json:"source,omitempty"`
	SourceContent []citationText   `json:"sourceContent,omitempty"`
	Location      citationLocation `json:"location"`
}

type citationText struct {
	Text string `json:"text"`
}

// citationLocation is Converse's CitationLocation union.
type citationLocation struct {
	DocumentChar         *documentSpan `json:"documentChar,omitempty"`
	DocumentPage         *documentSpan `json:"documentPage,omitempty"`
	DocumentChunk        *documentSpan `json:"documentChunk,omitempty"`
	SearchResultLocation *searchSpan   `json:"searchResultLocation,omitempty"`
	Web                  *webLocation  `json:"web,omitempty"`
}

type documentSpan struct {
	DocumentIndex int `json:"documentIndex"`
	Start         int `json:"start"`
	End           int `json:"end"`
}

type searchSpan struct {
	SearchResultIndex int `json:"searchResultIndex"`
	Start             int `json:"start"`
	End               int `json:"end"`
}

type webLocation struct {
	URL    string `json:"url,omitempty"`
	Domain string `json:"domain,omitempty"`
}

// messagesCitation is a Messages citation of any type, as read.
type messagesCitation struct {
	Type              string  `json:"type"`
	CitedText         string  `json:"cited_text"`
	DocumentIndex     *int    `json:"document_index,omitempty"`
	DocumentTitle     *string `json:"document_title,omitempty"`
	StartCharIndex    *int    `json:"start_char_index,omitempty"`
	EndCharIndex      *int    `json:"end_char_index,omitempty"`
	StartPageNumber   *int    `json:"start_page_number,omitempty"`
	EndPageNumber     *int    `json:"end_page_number,omitempty"`
	SearchResultIndex *int    `json:"search_result_index,omitempty"`
	Source            *string `json:"source,omitempty"`
	Title             *string `json:"title,omitempty"`
	StartBlockIndex   *int    `json:"start_block_index,omitempty"`
	EndBlockIndex     *int    `json:"end_block_index,omitempty"`
	URL               *string `json:"url,omitempty"`
	EncryptedIndex    *string `json:"encrypted_index,omitempty"`
}

// citationToConverse translates one Messages citation; false for a type
// Converse has no location for.
func citationToConverse(c messagesCitation) (converseCitation, bool) {
	out := converseCitation{SourceContent: []citationText{{Text: c.CitedText}}}
	span := func() *documentSpan {
		return &documentSpan{DocumentIndex: deref(c.DocumentIndex)}
	}
	switch c.Type {
	case "char_location":
		s := span()
		s.Start, s.End = deref(c.StartCharIndex), deref(c.EndCharIndex)
		out.Location.DocumentChar, out.Title = s, c.DocumentTitle
	case "page_location":
		s := span()
		s.Start, s.End = deref(c.StartPageNumber), deref(c.EndPageNumber)
		out.Location.DocumentPage, out.Title = s, c.DocumentTitle
	case "content_block_location":
		s := span()
		s.Start, s.End = deref(c.StartBlockIndex), deref(c.EndBlockIndex)
		out.Location.DocumentChunk, out.Title = s, c.DocumentTitle
	case "search_result_location":
		out.Location.SearchResultLocation = &searchSpan{SearchResultIndex: deref(c.SearchResultIndex),
			Start: deref(c.StartBlockIndex), End: deref(c.EndBlockIndex)}
		out.Title, out.Source = c.Title, c.Source
	case "web_search_result_location":
		w := &webLocation{}
		if c.URL != nil {
			w.URL = *c.URL
			if u, err := url.Parse(*c.URL); err == nil {
				w.Domain = strings.TrimPrefix(u.Hostname(), "www.")
			}
		}
		out.Location.Web, out.Title = w, c.Title
	default:
		return converseCitation{}, false
	}
	return out, true
}

// citationToMessages translates one Converse citation into a Messages
// citation, fields as the Messages type has them (document_title and
// title null when Converse has none); false when it has no location
// Messages can say.
func citationToMessages(c converseCitation) (map[string]any, bool) {
	var text strings.Builder
	for _, t := range c.SourceContent {
		text.WriteString(t.Text)
	}
	out := map[string]any{"cited_text": text.String()}
	doc := func(typ, start, end string, s *documentSpan) {
		out["type"], out["document_index"], out["document_title"] = typ, s.DocumentIndex, c.Title
		out[start], out[end] = s.Start, s.End
	}
	switch l := c.Location; {
	case l.DocumentChar != nil:
		doc("char_location", "start_char_index", "end_char_index", l.DocumentChar)
	case l.DocumentPage != nil:
		doc("page_location", "start_page_number", "end_page_number", l.DocumentPage)
	case l.DocumentChunk != nil:
		doc("content_block_location", "start_block_index", "end_block_index", l.DocumentChunk)
	case l.SearchResultLocation != nil:
		s := l.SearchResultLocation
		source := ""
		if c.Source != nil {
			source = *c.Source
		}
		out["type"], out["search_result_index"], out["source"], out["title"] = "search_result_location", s.SearchResultIndex, source, c.Title
		out["start_block_index"], out["end_block_index"] = s.Start, s.End
	case l.Web != nil:
		// encrypted_index has no Converse counterpart; Messages requires
		// the field, so it is sent empty.
		out["type"], out["url"], out["title"], out["encrypted_index"] = "web_search_result_location", l.Web.URL, c.Title, ""
	default:
		return nil, false
	}
	return out, true
}

// citationsToConverse translates the citations value of a Messages text
// block; nil when none has a Converse location.
func citationsToConverse(raw json.RawMessage) []converseCitation {
	var in []messagesCitation
	if isNull(raw) || json.Unmarshal(raw, &in) != nil {
		return nil
	}
	var out []converseCitation
	for _, c := range in {
		if cc, ok := citationToConverse(c); ok {
			out = append(out, cc)
		}
	}
	return out
}

// citationsContentToMessages appends, for the Converse citationsContent
// value raw, a Messages text block (without its closing brace) holding the
// generated text and, in an answer, the citations that have a Messages
// location. In a request (an earlier answer replayed) the text is sent
// alone, as the other way: it is what the model reads.
func citationsContentToMessages(raw json.RawMessage, at string, answer bool, out []byte) ([]byte, error) {
	var in struct {
		Content   []citationText     `json:"content"`
		Citations []converseCitation `json:"citations"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, invalid(at, "citationsContent must be an object of content and citations")
	}
	var text strings.Builder
	for _, c := range in.Content {
		text.WriteString(c.Text)
	}
	out = append(out, `{"type":"text","text":`...)
	out = quote(out, text.String())
	if !answer {
		return out, nil
	}
	cites := []map[string]any{}
	for _, c := range in.Citations {
		if mc, ok := citationToMessages(c); ok {
			cites = append(cites, mc)
		}
	}
	b, _ := json.Marshal(cites)
	out = append(out, `,"citations":`...)
	return append(out, b...), nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
