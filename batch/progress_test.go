package batch

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestPlainProgressSaysEachTenthAndEveryFiveSeconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out strings.Builder
		l := &Lines{W: &out}
		p := Progress{Total: 100, Started: time.Now()}
		lines := func() int { return strings.Count(out.String(), "\n") }
		for i := 1; i <= 9; i++ {
			p.Summary.Succeeded = i
			l.Update(p)
		}
		if got, want := lines(), 0; got != want {
			t.Errorf("%d lines before a tenth was done, want %d:\n%s", got, want, out.String())
		}
		p.Summary.Succeeded = 10
		l.Update(p)
		if got, want := lines(), 1; got != want {
			t.Errorf("%d lines once a tenth was done, want %d", got, want)
		}
		time.Sleep(5 * time.Second) // the fake clock of the bubble
		p.Summary.Succeeded = 11
		l.Update(p)
		if got, want := lines(), 2; got != want {
			t.Errorf("%d lines after five seconds, want %d", got, want)
		}
		if got, want := strings.TrimSpace(out.String()[strings.LastIndex(strings.TrimSpace(out.String()), "\n")+1:]), "batch: 11/100 done (11%), 0 errored, 2.2/s, ETA 40s, $0.0000 so far"; got != want {
			t.Errorf("line %q, want %q", got, want)
		}
	})
}

func TestTheLastProgressLineIsNotWrittenTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out strings.Builder
		lines := func() int { return strings.Count(out.String(), "\n") }
		l := &Lines{W: &out}
		p := Progress{Total: 100, Started: time.Now()}
		p.Summary.Succeeded = 10
		l.Update(p) // a tenth: a line
		l.Final(p)
		if got, want := lines(), 1; got != want {
			t.Errorf("%d lines, want %d: the last Update wrote the final state already", got, want)
		}
		p.Summary.Succeeded = 11
		l.Update(p) // no new tenth, no five seconds: no line
		if got, want := lines(), 1; got != want {
			t.Fatalf("%d lines, want %d", got, want)
		}
		l.Final(p)
		if got, want := lines(), 2; got != want {
			t.Errorf("%d lines, want %d: Final writes the state no line gave", got, want)
		}
	})
}

func TestTheTimeLeftIsUnknownBeforeTheFirstResultOfARun(t *testing.T) {
	now := time.Now()
	p := Progress{Total: 100, Skipped: 40, Started: now}
	if got, want := p.Line(now.Add(time.Second)), "40/100 done (40%), 0 errored, 0.0/s, ETA unknown, $0.0000 so far"; got != want {
		t.Errorf("line %q, want %q", got, want)
	}
}
