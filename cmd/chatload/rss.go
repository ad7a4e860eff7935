package main

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// peakRSS samples the process's resident set size (Linux /proc) and keeps
// the largest.
type peakRSS struct {
	status string // the /proc status file of the process watched; "" for this one
	mu     sync.Mutex
	peak   int64
}

func (p *peakRSS) sample() {
	path := p.status
	if path == "" {
		path = "/proc/self/status"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			p.mu.Lock()
			p.peak = max(p.peak, kb<<10)
			p.mu.Unlock()
		}
	}
}

// watch samples every 50 ms until the returned func is called.
func (p *peakRSS) watch() (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			p.sample()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); p.sample() }
}

func (p *peakRSS) max() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}
