package storetest

import (
	"strings"
	"sync"
	"testing"

	"github.com/claudebridge/claudebridge"
)

// usage checks UsageService: tokens and cost per user, day and model. The
// costs are sums of binary fractions, so that they add up exactly in any
// engine that keeps a float64.
func usage(t *testing.T, open func(t *testing.T) Store) {
	runAll(t, open, []behaviour{
		{"UsageAddsUpPerDayAndModel", usageAddsUpPerDayAndModel},
		{"CountedOutputTokensAddUpBesideTheReportedOnes", countedOutputTokensAddUpBesideTheReportedOnes},
		{"CacheWritesAddUpByTheirLifetime", cacheWritesAddUpByTheirLifetime},
		{"UsageKeepsToItsDaysBothInclusive", usageKeepsToItsDaysBothInclusive},
		{"UsageIsEachUsersOwn", usageIsEachUsersOwn},
		{"ConcurrentAddsSumExactly", concurrentAddsSumExactly},
	})
}

func addUsage(t *testing.T, s Store, userID int64, day, model string, u claudebridge.Usage, cost float64, counted bool) {
	t.Helper()
	if err := s.AddUsage(t.Context(), userID, day, model, u, cost, counted); err != nil {
		t.Fatalf("AddUsage %s %s: %v", day, model, err)
	}
}

func usageRows(t *testing.T, s Store, userID int64, from, to string) []claudebridge.UsageRow {
	t.Helper()
	rows, err := s.Usage(t.Context(), userID, from, to)
	if err != nil {
		t.Fatalf("Usage %q to %q: %v", from, to, err)
	}
	return rows
}

// days returns "day model" of each row, comma-separated.
func days(rows []claudebridge.UsageRow) string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Day+" "+r.Model)
	}
	return strings.Join(out, ",")
}

func usageAddsUpPerDayAndModel(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	u := claudebridge.Usage{InputTokens: 10, OutputTokens: 20, CacheCreationInputTokens: 3, CacheReadInputTokens: 4}
	addUsage(t, s, alice.ID, "2026-01-02", "model-b", u, 0.5, false)
	addUsage(t, s, alice.ID, "2026-01-02", "model-a", u, 1, false)
	addUsage(t, s, alice.ID, "2026-01-02", "model-b", u, 0.25, false)
	addUsage(t, s, alice.ID, "2026-01-01", "model-b", u, 2, false)
	rows := usageRows(t, s, alice.ID, "2026-01-01", "2026-01-31")
	if got, want := days(rows), "2026-01-01 model-b,2026-01-02 model-a,2026-01-02 model-b"; got != want {
		t.Fatalf("rows %s, want %s (by day, then model)", got, want)
	}
	twice := rows[2]
	if got, want := twice.Usage.InputTokens, 20; got != want {
		t.Errorf("input tokens %d, want %d", got, want)
	}
	if got, want := twice.Usage.OutputTokens, 40; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
	if got, want := twice.Usage.CacheCreationInputTokens, 6; got != want {
		t.Errorf("cache creation tokens %d, want %d", got, want)
	}
	if got, want := twice.Usage.CacheReadInputTokens, 8; got != want {
		t.Errorf("cache read tokens %d, want %d", got, want)
	}
	if got, want := twice.CostUSD, 0.75; got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
	if got, want := twice.CountedOutputTokens, 0; got != want {
		t.Errorf("counted output tokens %d, want %d", got, want)
	}
	if got, want := rows[0].CostUSD, 2.0; got != want {
		t.Errorf("cost of another day %v, want %v", got, want)
	}
	if got, want := rows[1].CostUSD, 1.0; got != want {
		t.Errorf("cost of another model %v, want %v", got, want)
	}
}

func countedOutputTokensAddUpBesideTheReportedOnes(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	addUsage(t, s, alice.ID, "2026-03-01", "model-a", claudebridge.Usage{InputTokens: 5, OutputTokens: 30}, 0.125, false)
	addUsage(t, s, alice.ID, "2026-03-01", "model-a", claudebridge.Usage{InputTokens: 5, OutputTokens: 12}, 0.0625, true)
	addUsage(t, s, alice.ID, "2026-03-01", "model-a", claudebridge.Usage{OutputTokens: 3}, 0, true)
	rows := usageRows(t, s, alice.ID, "2026-03-01", "2026-03-01")
	if got, want := len(rows), 1; got != want {
		t.Fatalf("rows %d, want %d", got, want)
	}
	if got, want := rows[0].Usage.OutputTokens, 45; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
	if got, want := rows[0].CountedOutputTokens, 15; got != want {
		t.Errorf("counted output tokens %d, want %d", got, want)
	}
	if got, want := rows[0].Usage.InputTokens, 10; got != want {
		t.Errorf("input tokens %d, want %d", got, want)
	}
	if got, want := rows[0].CostUSD, 0.1875; got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
}

// The usage page prices and shows 1-hour cache writes apart from
// 5-minute ones.
func cacheWritesAddUpByTheirLifetime(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	u := claudebridge.Usage{CacheCreationInputTokens: 7,
		CacheCreation: claudebridge.CacheCreation{Ephemeral5mInputTokens: 4, Ephemeral1hInputTokens: 3}}
	addUsage(t, s, alice.ID, "2026-03-01", "model-a", u, 0.5, false)
	addUsage(t, s, alice.ID, "2026-03-01", "model-a", u, 0.5, false)
	rows := usageRows(t, s, alice.ID, "2026-03-01", "2026-03-01")
	if got, want := len(rows), 1; got != want {
		t.Fatalf("rows %d, want %d", got, want)
	}
	r := rows[0]
	if got, want := r.Usage.CacheCreationInputTokens, 14; got != want {
		t.Errorf("cache creation tokens %d, want %d", got, want)
	}
	if got, want := r.Usage.CacheCreation.Ephemeral1hInputTokens, 6; got != want {
		t.Errorf("1-hour cache creation tokens %d, want %d", got, want)
	}
	if got, want := r.Usage.CacheCreation.Ephemeral5mInputTokens, 8; got != want {
		t.Errorf("5-minute cache creation tokens %d, want %d", got, want)
	}
}

// The chat passes the page's from and to as they come, either one empty
// for no bound.
func usageKeepsToItsDaysBothInclusive(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	for _, day := range []string{"2025-12-31", "2026-01-01", "2026-01-15", "2026-01-31", "2026-02-01"} {
		addUsage(t, s, alice.ID, day, "model-a", claudebridge.Usage{InputTokens: 1}, 0.5, false)
	}
	for _, tc := range []struct{ from, to, want string }{
		{"2026-01-01", "2026-01-31", "2026-01-01 model-a,2026-01-15 model-a,2026-01-31 model-a"},
		{"2026-01-15", "2026-01-15", "2026-01-15 model-a"},
		{"2026-01-16", "2026-01-30", ""},
		{"", "2026-01-01", "2025-12-31 model-a,2026-01-01 model-a"},
		{"2026-01-31", "", "2026-01-31 model-a,2026-02-01 model-a"},
		{"", "", "2025-12-31 model-a,2026-01-01 model-a,2026-01-15 model-a,2026-01-31 model-a,2026-02-01 model-a"},
	} {
		if got, want := days(usageRows(t, s, alice.ID, tc.from, tc.to)), tc.want; got != want {
			t.Errorf("usage %q to %q: %s, want %s", tc.from, tc.to, got, want)
		}
	}
}

func usageIsEachUsersOwn(t *testing.T, s Store) {
	alice, bob, carol := newUser(t, s, "alice"), newUser(t, s, "bob"), newUser(t, s, "carol")
	addUsage(t, s, alice.ID, "2026-01-02", "model-a", claudebridge.Usage{InputTokens: 1}, 0.5, false)
	addUsage(t, s, bob.ID, "2026-01-02", "model-a", claudebridge.Usage{InputTokens: 100}, 8, false)
	rows := usageRows(t, s, alice.ID, "", "")
	if got, want := len(rows), 1; got != want {
		t.Fatalf("alice's rows %d, want %d", got, want)
	}
	if got, want := rows[0].Usage.InputTokens, 1; got != want {
		t.Errorf("alice's input tokens %d, want %d", got, want)
	}
	if got, want := rows[0].CostUSD, 0.5; got != want {
		t.Errorf("alice's cost %v, want %v", got, want)
	}
	if got, want := len(usageRows(t, s, carol.ID, "", "")), 0; got != want {
		t.Errorf("rows of a user with no usage %d, want %d", got, want)
	}
}

// Every turn of every user adds its usage as it ends: many at once, none
// lost.
func concurrentAddsSumExactly(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	const writers, each = 8, 10
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				u := claudebridge.Usage{InputTokens: 1, OutputTokens: 2, CacheCreationInputTokens: 3, CacheReadInputTokens: 4}
				if err := s.AddUsage(t.Context(), alice.ID, "2026-04-01", "model-a", u, 0.125, i%2 == 0); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	rows := usageRows(t, s, alice.ID, "2026-04-01", "2026-04-01")
	if got, want := len(rows), 1; got != want {
		t.Fatalf("rows %d, want %d", got, want)
	}
	n := writers * each
	r := rows[0]
	if got, want := r.Usage.InputTokens, n; got != want {
		t.Errorf("input tokens %d, want %d", got, want)
	}
	if got, want := r.Usage.OutputTokens, 2*n; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
	if got, want := r.Usage.CacheCreationInputTokens, 3*n; got != want {
		t.Errorf("cache creation tokens %d, want %d", got, want)
	}
	if got, want := r.Usage.CacheReadInputTokens, 4*n; got != want {
		t.Errorf("cache read tokens %d, want %d", got, want)
	}
	if got, want := r.CountedOutputTokens, 2*n/2; got != want {
		t.Errorf("counted output tokens %d, want %d", got, want)
	}
	if got, want := r.CostUSD, 0.125*float64(n); got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
}
