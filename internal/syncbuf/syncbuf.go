// Package syncbuf is a bytes.Buffer for concurrent writers: tests collect
// with it the log lines that handlers and background goroutines write.
package syncbuf

import (
	"bytes"
	"context"
	"sync"
)

// Buffer is safe for concurrent use. The zero value is empty and ready.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // closed at the next Write
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// WaitFor returns what was written once cond holds for it, woken by each
// write rather than polling; or what was written so far and ctx's error
// when ctx ends first. A handler logs after its client has its answer, so
// a test waits for the line instead of reading too early.
func (b *Buffer) WaitFor(ctx context.Context, cond func(string) bool) (string, error) {
	for {
		b.mu.Lock()
		s := b.b.String()
		if cond(s) {
			b.mu.Unlock()
			return s, nil
		}
		if b.written == nil {
			b.written = make(chan struct{})
		}
		written := b.written
		b.mu.Unlock()
		select {
		case <-written:
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
}
