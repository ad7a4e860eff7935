package main

import (
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge/internal/syncbuf"
)

func TestLogLinesAreHeldButWarningsAreNot(t *testing.T) {
	var out syncbuf.Buffer
	lw := newLogWriter(&out, time.Hour)
	log := newLogger(lw, nil)
	log.Info("request", "n", 1)
	if out.String() != "" {
		t.Fatalf("an info line was written at once: %q", out.String())
	}
	log.With("part", "x").Warn("upstream slow")
	got := out.String()
	if i, j := strings.Index(got, "msg=request"), strings.Index(got, "msg=\"upstream slow\""); i < 0 || j < i {
		t.Fatalf("after a warning, want both lines in order: %q", got)
	}
	log.Info("request", "n", 2)
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "n=2") {
		t.Fatalf("Close did not write the held line: %q", out.String())
	}
}

func TestHeldLogLinesAreWrittenByTheTicker(t *testing.T) {
	var out syncbuf.Buffer
	lw := newLogWriter(&out, 10*time.Millisecond)
	defer lw.Close()
	newLogger(lw, nil).Info("request")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "msg=request") {
		if time.Now().After(deadline) {
			t.Fatal("the held line was never written")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
