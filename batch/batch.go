// Package batch runs batches of Messages calls: records read from a JSONL
// file in Anthropic's Message Batches format or Bedrock's batch inference
// format, each sent as one non-streaming call through an Upstream, a bounded
// number at once, and each result appended to a results file in the same
// format as it comes. The results file is the checkpoint: a run over the
// same file again skips the records it holds.
//
// The runner (Runner) knows records and results only, not files, so that
// the Message Batches API of `serve` can drive it from its own store.
package batch

import (
	"bytes"
	"encoding/json"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// Record is one request of a batch.
type Record struct {
	// ID is the record's custom_id (Anthropic) or recordId (Bedrock),
	// unique within its batch.
	ID string
	// Line is the record's line in its input file, from 1; 0 when it came
	// from elsewhere.
	Line int
	// Request is the Messages call to make; nil when Refused is set.
	Request *claudebridge.Request
	// Refused says why the record fails without a call: its params are not
	// a request a batch takes. It becomes an errored result.
	Refused error
	// Input is the record's input as given (Bedrock's modelInput), which
	// its result repeats.
	Input json.RawMessage
}

// Result is the outcome of one record: a response, or the error that
// stands in its place.
type Result struct {
	Record   *Record
	Response *claudebridge.Response
	Err      error
}

// Format is one of the two file formats: how an input line becomes a
// Record and a Result becomes an output line.
type Format interface {
	// Name is "anthropic" or "bedrock".
	Name() string
	// Record parses the input line numbered n (from 1). An error means the
	// line is not a record of this format at all, which refuses the whole
	// file; a record whose params are wrong is returned with Refused set.
	Record(line []byte, n int) (*Record, error)
	// Line is the output line of r, without its newline.
	Line(r Result) []byte
	// ResultID returns the record id of an output line; an error when the
	// line is not a result of this format.
	ResultID(line []byte) (string, error)
}

// Summary counts the results of a run and what they used.
type Summary struct {
	Succeeded, Errored int
	// Usage adds up the usage of the succeeded calls.
	Usage claudebridge.Usage
	// Cost is what they cost in US dollars, at the prices Add was given
	// (the command's: those the ledger prices with); models without a
	// price count 0.
	Cost float64
}

// Done is the number of results counted.
func (s *Summary) Done() int { return s.Succeeded + s.Errored }

// Add counts r, priced by price; nil: the model table's list prices
// (anthropic.Cost).
func (s *Summary) Add(r Result, price func(model string, u claudebridge.Usage) float64) {
	if r.Err != nil {
		s.Errored++
		return
	}
	s.Succeeded++
	u := r.Response.Usage
	s.Usage.InputTokens += u.InputTokens
	s.Usage.OutputTokens += u.OutputTokens
	s.Usage.CacheReadInputTokens += u.CacheReadInputTokens
	s.Usage.CacheCreationInputTokens += u.CacheCreationInputTokens
	s.Usage.CacheCreation.Ephemeral5mInputTokens += u.CacheCreation.Ephemeral5mInputTokens
	s.Usage.CacheCreation.Ephemeral1hInputTokens += u.CacheCreation.Ephemeral1hInputTokens
	if price == nil {
		price = anthropic.Cost
	}
	s.Cost += price(r.Record.Request.Model, u)
}

// compact returns body as one line of JSON: an upstream may indent its
// answer, and a results file has one result per line.
func compact(body []byte) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		return nil, claudebridge.Errorf(claudebridge.EINTERNAL, "the upstream's answer is not JSON: %v", err)
	}
	return buf.Bytes(), nil
}

// marshalLine encodes v on one line, leaving <, > and & as they are (the
// answer's text stays byte for byte what the model wrote). Its raw values
// are valid JSON (the runner compacts every answer), so it cannot fail.
func marshalLine(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
