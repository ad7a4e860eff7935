package batch

import (
	"fmt"
	"io"
	"time"
)

// Progress is where a run stands.
type Progress struct {
	// Total is the number of records of the input; Skipped of them had a
	// result from an earlier run and are not run again.
	Total, Skipped int
	// Cut is the number of bytes of a torn last line that the results
	// file lost at the start (OpenResults).
	Cut int64
	// Summary counts the results of this run so far.
	Summary Summary
	// Started is when this run started.
	Started time.Time
}

// Rate is the results per second of this run so far.
func (p Progress) Rate(now time.Time) float64 {
	elapsed := now.Sub(p.Started).Seconds()
	if elapsed <= 0 {
		return 0
	}
	return float64(p.Summary.Done()) / elapsed
}

// ETA is how long the records left should take at this run's rate; 0 when
// there is no rate yet.
func (p Progress) ETA(now time.Time) time.Duration {
	rate := p.Rate(now)
	if rate == 0 {
		return 0
	}
	left := p.Total - p.Skipped - p.Summary.Done()
	return time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second)
}

// Line says where the run stands in one line, for a log or a terminal.
func (p Progress) Line(now time.Time) string {
	done := p.Skipped + p.Summary.Done()
	pct := 100.0
	if p.Total > 0 {
		pct = 100 * float64(done) / float64(p.Total)
	}
	eta := "unknown"
	if p.Rate(now) > 0 || done == p.Total {
		eta = p.ETA(now).String()
	}
	return fmt.Sprintf("%d/%d done (%.0f%%), %d errored, %.1f/s, ETA %s, $%.4f so far",
		done, p.Total, pct, p.Summary.Errored, p.Rate(now), eta, p.Summary.Cost)
}

// Lines writes progress as plain lines, for a stderr that is not a
// terminal: one when Every has passed since the last, or when another of
// Steps equal parts of the records is done (another tenth, by default).
type Lines struct {
	W     io.Writer
	Every time.Duration // default 5 s
	Steps int           // default 10

	last     time.Time
	lastStep int
	current  bool // the last Update wrote its line
}

// Update is called with each new state of the run.
func (l *Lines) Update(p Progress) {
	now := time.Now()
	every, steps := l.Every, l.Steps
	if every <= 0 {
		every = 5 * time.Second
	}
	if steps <= 0 {
		steps = 10
	}
	if l.last.IsZero() {
		l.last = p.Started
	}
	stepNow := 0
	if p.Total > 0 {
		stepNow = (p.Skipped + p.Summary.Done()) * steps / p.Total
	}
	if l.current = now.Sub(l.last) >= every || stepNow != l.lastStep; !l.current {
		return
	}
	l.last, l.lastStep = now, stepNow
	fmt.Fprintln(l.W, "batch:", p.Line(now))
}

// Final writes the line of p, the run's last state, unless the last
// Update wrote it already.
func (l *Lines) Final(p Progress) {
	if !l.current {
		fmt.Fprintln(l.W, "batch:", p.Line(time.Now()))
	}
}
