package postgres

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/pgtest"
)

// BenchmarkBusDeltaDelay1000TurnsOn3Processes measures issue 13's goal:
// 1,000 turns at once across three processes, each turn a delta every
// 20 ms (50 tokens a second, a fast model), each process publishing its
// turns' deltas every 25 ms as the chat does, each turn followed from the
// next process. It reports the delay from a delta's making to its
// follower, p50 and p99 (the goal: p99 under 100 ms). Run it alone:
// go test ./postgres -run XXX -bench BusDeltaDelay -benchtime 1x
func BenchmarkBusDeltaDelay1000TurnsOn3Processes(b *testing.B) {
	const processes, turns, every, flushEvery, run = 3, 1000, 20 * time.Millisecond, 25 * time.Millisecond, 5 * time.Second
	url := pgtest.URL(b)
	buses := make([]*Bus, processes)
	for i := range buses {
		db, err := Open(b.Context(), url)
		if err != nil {
			b.Fatal(err)
		}
		if buses[i], err = OpenBus(b.Context(), db); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { buses[i].Close(); db.Close() })
	}
	var mu sync.Mutex
	var delays []time.Duration
	for t := range turns {
		follower := buses[(t%processes+1)%processes]
		cancel, _ := follower.Subscribe(b.Context(), fmt.Sprint("turn_", t), func(ev claudebridge.TurnEvent) {
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			for _, d := range ev.Deltas {
				made, _ := strconv.ParseInt(d, 10, 64)
				delays = append(delays, now.Sub(time.Unix(0, made)))
			}
		})
		b.Cleanup(cancel)
	}
	for b.Loop() {
		var wg sync.WaitGroup
		for p := range processes {
			wg.Go(func() {
				// The process's turns, each making a delta every 20 ms, at
				// its own phase; pending holds what the next flush sends.
				var pmu sync.Mutex
				pending := map[int][]string{}
				seq := map[int]int{}
				stop := time.After(run)
				make := time.NewTicker(every / 4)
				flush := time.NewTicker(flushEvery)
				defer make.Stop()
				defer flush.Stop()
				for tick := 0; ; tick++ {
					select {
					case <-stop:
						return
					case <-make.C:
						pmu.Lock()
						for t := p; t < turns; t += processes {
							if t%4 == tick%4 {
								pending[t] = append(pending[t], strconv.FormatInt(time.Now().UnixNano(), 10))
							}
						}
						pmu.Unlock()
					case <-flush.C:
						pmu.Lock()
						var events []claudebridge.TurnEvent
						for t, deltas := range pending {
							events = append(events, claudebridge.TurnEvent{TurnID: fmt.Sprint("turn_", t), After: seq[t], Deltas: deltas})
							seq[t] += len(deltas)
						}
						clear(pending)
						pmu.Unlock()
						if err := buses[p].Publish(b.Context(), events); err != nil {
							b.Error(err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(delays) == 0 {
		b.Fatal("no delta arrived")
	}
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(delays)), "deltas")
}
