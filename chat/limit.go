package chat

import (
	"sync"
	"time"
)

// loginLimit slows password guessing: after Max refused logins of one name
// within Window, that name's logins are refused, right password or not,
// until the oldest refusal leaves the window. Sessions already open are
// not touched.
type loginLimit struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu     sync.Mutex
	byName map[string][]time.Time // refusals in the window, oldest first
}

// maxTracked bounds the names remembered; past it, names whose refusals
// have all left the window are forgotten.
const maxTracked = 10000

func newLoginLimit(max int, window time.Duration) *loginLimit {
	return &loginLimit{max: max, window: window, now: time.Now, byName: map[string][]time.Time{}}
}

// key bounds what one name costs to remember.
func key(name string) string {
	if len(name) > 256 {
		return name[:256]
	}
	return name
}

// wait is how long logins of name are refused; 0 if they are not.
func (l *loginLimit) wait(name string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	refused := l.recent(key(name))
	if len(refused) < l.max {
		return 0
	}
	return refused[len(refused)-l.max].Add(l.window).Sub(l.now())
}

// refused counts a refused login of name.
func (l *loginLimit) refused(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := key(name)
	if _, ok := l.byName[k]; !ok && len(l.byName) >= maxTracked {
		for n := range l.byName {
			if len(l.recent(n)) == 0 {
				delete(l.byName, n)
			}
		}
	}
	l.byName[k] = append(l.recent(k), l.now())
}

// succeeded forgets name's refusals.
func (l *loginLimit) succeeded(name string) {
	l.mu.Lock()
	delete(l.byName, key(name))
	l.mu.Unlock()
}

// recent drops k's refusals older than the window and returns the rest.
func (l *loginLimit) recent(k string) []time.Time {
	list := l.byName[k]
	cut := l.now().Add(-l.window)
	i := 0
	for i < len(list) && !list[i].After(cut) {
		i++
	}
	if i == len(list) {
		delete(l.byName, k)
		return nil
	}
	list = list[i:]
	l.byName[k] = list
	return list
}
