// Package httpbody reads HTTP message bodies whole.
package httpbody

import (
	"errors"
	"io"
)

// ErrTooLarge is returned for a body longer than the limit.
var ErrTooLarge = errors.New("body too large")

// Read reads r to its end, refusing more than limit bytes. size is the
// length the message declared, or -1. A declared size is allocated at once:
// io.ReadAll starts at 512 bytes and grows, which copies a 1 KB body twice
// and a 1 MB one a dozen times, and touches memory a hop does not need.
func Read(r io.Reader, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, ErrTooLarge
	}
	capacity := int64(512)
	if size >= 0 {
		capacity = size + 1 // room to see the end without growing
	}
	b := make([]byte, 0, capacity)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, ErrTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
