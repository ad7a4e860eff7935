package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logWriter holds log lines for up to a tenth of a second and writes them
// together. At one request every few hundred microseconds, a write(2) per
// access-log line was a measurable part of the latency a request sees.
// Records at Warn and above are written at once (newLogger), after the
// lines held before them.
type logWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newLogWriter(w io.Writer, every time.Duration) *logWriter {
	l := &logWriter{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				l.Flush()
			}
		}
	}()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Flush writes the lines held.
func (l *logWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Buffered() == 0 {
		return nil
	}
	return l.w.Flush()
}

// Close stops the ticker and writes what is held.
func (l *logWriter) Close() error {
	close(l.stop)
	<-l.done
	return l.Flush()
}

// newLogger logs text to lw at level, flushing after each record at Warn
// or above.
func newLogger(lw *logWriter, level slog.Leveler) *slog.Logger {
	return slog.New(urgentFlush{slog.NewTextHandler(lw, &slog.HandlerOptions{Level: level}), lw})
}

type urgentFlush struct {
	slog.Handler
	lw *logWriter
}

func (h urgentFlush) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.lw.Flush()
	}
	return err
}

func (h urgentFlush) WithAttrs(attrs []slog.Attr) slog.Handler {
	return urgentFlush{h.Handler.WithAttrs(attrs), h.lw}
}

func (h urgentFlush) WithGroup(name string) slog.Handler {
	return urgentFlush{h.Handler.WithGroup(name), h.lw}
}
