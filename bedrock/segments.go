package bedrock

import (
	"context"
	"errors"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// segments is a request body as the slices of bytes it consists of, in
// order: the client's bytes by reference, and the few bytes around them
// (keys, commas, anthropic_version, anthropic_beta) in a small buffer of
// its own. Sending it sends the client's bytes as they are, without a copy
// of a body the size of the prompt (370 KB for Claude Code) alive beside
// the client's while the call is sent. Not modified once built.
type segments struct {
	parts [][]byte
	size  int
	own   []byte // the bytes the own parts are slices of
	// ownFrom is where in own the last part starts when it is one of
	// ours; -1 otherwise. Our bytes written one after another make one
	// part.
	ownFrom int
}

func newSegments(parts, own int) segments {
	return segments{parts: make([][]byte, 0, parts), own: make([]byte, 0, own), ownFrom: -1}
}

// add appends b by reference: b must not change while the body is in use.
func (s *segments) add(b []byte) {
	if len(b) == 0 {
		return
	}
	s.parts = append(s.parts, b)
	s.size += len(b)
	s.ownFrom = -1
}

// write appends what fn appends to the body's own buffer (a key, a comma).
func (s *segments) write(fn func([]byte) []byte) {
	from := len(s.own)
	s.own = fn(s.own)
	if len(s.own) == from {
		return
	}
	// A grown own leaves the parts already made pointing into the old
	// array, whose bytes never change: they stay right.
	if s.ownFrom >= 0 {
		s.parts[len(s.parts)-1] = s.own[s.ownFrom:]
	} else {
		s.ownFrom = from
		s.parts = append(s.parts, s.own[from:])
	}
	s.size += len(s.own) - from
}

// writeByte appends c to the body's own buffer.
func (s *segments) writeByte(c byte) {
	s.write(func(b []byte) []byte { return append(b, c) })
}

// bytes returns the body in one slice of its own: for the rare uses that
// need it whole (reading Bedrock's complaint against it, Converse's
// translation, an estimate).
func (s *segments) bytes() []byte {
	out := make([]byte, 0, s.size)
	for _, p := range s.parts {
		out = append(out, p...)
	}
	return out
}

// reader returns a reader of the body from its start.
func (s *segments) reader() *segmentReader {
	return &segmentReader{parts: s.parts, size: int64(s.size)}
}

// segmentReader reads segments. It seeks, as the AWS SDK needs: the SigV4
// signer reads the body to hash it and rewinds, and so does a retry.
type segmentReader struct {
	parts [][]byte
	size  int64
	off   int64 // where the next Read starts
	part  int   // the part off is in
	at    int   // off's offset in that part
}

func (r *segmentReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && r.part < len(r.parts) {
		c := copy(p[n:], r.parts[r.part][r.at:])
		n += c
		r.at += c
		if r.at == len(r.parts[r.part]) {
			r.part, r.at = r.part+1, 0
		}
	}
	r.off += int64(n)
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// WriteTo writes the rest of the body part by part, without a buffer
// between (the signer's hash takes them as they are).
func (r *segmentReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.part < len(r.parts) {
		rest := r.parts[r.part][r.at:]
		n, err := w.Write(rest)
		if err == nil && n < len(rest) {
			err = io.ErrShortWrite
		}
		total += int64(n)
		r.off += int64(n)
		r.at += n
		if r.at == len(r.parts[r.part]) {
			r.part, r.at = r.part+1, 0
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (r *segmentReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return r.off, errors.New("bedrock: seek: invalid whence")
	}
	if offset < 0 {
		return r.off, errors.New("bedrock: seek: negative position")
	}
	r.off, r.part, r.at = offset, 0, 0
	for rest := offset; r.part < len(r.parts); r.part++ {
		if rest < int64(len(r.parts[r.part])) {
			r.at = int(rest)
			break
		}
		rest -= int64(len(r.parts[r.part]))
	}
	return offset, nil
}

// release lets go of the body: reads from then on find its end. Called
// once the call is answered, so that a response kept while its answer
// streams (it keeps the request, whose body is this reader) keeps none of
// the prompt.
func (r *segmentReader) release() {
	r.parts, r.size, r.off, r.part, r.at = nil, 0, 0, 0, 0
}

// segmentSend sends body as the request body of one InvokeModel,
// InvokeModelWithResponseStream or CountTokens call whose input carries a
// placeholder, the way rawExchange sends a Converse body: after the SDK's
// serializer (Serialize step) the request's stream becomes a reader of the
// segments, before the Build and Finalize steps set the length and hash
// and sign the payload (reading the stream and rewinding it), so they
// cover these bytes.
type segmentSend struct {
	body   *segments
	reader *segmentReader
}

func (x *segmentSend) options(o *bedrockruntime.Options) {
	o.APIOptions = append(o.APIOptions, x.middleware)
}

func (x *segmentSend) middleware(s *middleware.Stack) error {
	swap := middleware.SerializeMiddlewareFunc("claudebridge.InvokeBody", func(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
		if req, ok := in.Request.(*smithyhttp.Request); ok && x.body != nil {
			x.reader = x.body.reader()
			req, err := req.SetStream(x.reader)
			if err != nil {
				return middleware.SerializeOutput{}, middleware.Metadata{}, err
			}
			req.ContentLength = int64(x.body.size)
			req.Header.Set("Content-Type", "application/json")
			in.Request = req
		}
		return next.HandleSerialize(ctx, in)
	})
	return s.Serialize.Add(swap, middleware.After)
}

// release lets go of the body once the call has returned (the SDK has
// closed the request body by then: nothing reads it any more).
func (x *segmentSend) release() {
	if x.reader != nil {
		x.reader.release()
	}
	x.body = nil
}
