package storetest

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// ledger checks LedgerService: entries appended, totals by group within
// bounds, and what a key or a user spent. Times are whole seconds and
// costs binary fractions, so that any engine keeps them exactly.
func ledger(t *testing.T, open func(t *testing.T) Store) {
	runAll(t, open, []behaviour{
		{"TotalsSumEveryTokenKindAndTheCostOfAGroup", totalsSumEveryTokenKindAndTheCostOfAGroup},
		{"TotalsByKeyPutCallsWithoutAKeyUnderTheEmptyName", totalsByKeyPutCallsWithoutAKeyUnderTheEmptyName},
		{"TotalsByUserNameTheUserAndPutAPICallsUnderTheEmptyName", totalsByUserNameTheUserAndPutAPICallsUnderTheEmptyName},
		{"TotalsByDayAreByTheUTCDayOfTheTime", totalsByDayAreByTheUTCDayOfTheTime},
		{"TotalsKeepFromInclusiveAndToExclusiveAndAZeroBoundOpen", totalsKeepFromInclusiveAndToExclusiveAndAZeroBoundOpen},
		{"AnEmptyLedgerTotalsNothing", anEmptyLedgerTotalsNothing},
		{"AnUnknownGroupingIsInvalid", anUnknownGroupingIsInvalid},
		{"SpentByKeyIsItsKeysCostSinceItsBoundInclusive", spentByKeyIsItsKeysCostSinceItsBoundInclusive},
		{"SpentByUserIsItsUsersCostSinceItsBoundInclusive", spentByUserIsItsUsersCostSinceItsBoundInclusive},
		{"AnAppendIsStoredAllOrNone", anAppendIsStoredAllOrNone},
		{"ConcurrentAppendsTotalExactly", concurrentAppendsTotalExactly},
		{"AUsersLedgerEntriesAreItsUsage", aUsersLedgerEntriesAreItsUsage},
		{"AddedUsageIsSpentByItsUser", addedUsageIsSpentByItsUser},
	})
}

// ledgerDay is a day of the ledger's checks, at noon UTC.
var ledgerDay = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func appendLedger(t *testing.T, s Store, entries ...claudebridge.LedgerEntry) {
	t.Helper()
	if err := s.AppendLedger(t.Context(), entries); err != nil {
		t.Fatalf("AppendLedger: %v", err)
	}
}

func totals(t *testing.T, s Store, by claudebridge.LedgerGroup, from, to time.Time) []claudebridge.LedgerTotal {
	t.Helper()
	list, err := s.LedgerTotals(t.Context(), by, from, to)
	if err != nil {
		t.Fatalf("LedgerTotals by %s: %v", by, err)
	}
	return list
}

// groups returns "group=calls" of each total, comma-separated.
func groups(list []claudebridge.LedgerTotal) string {
	var out []string
	for _, g := range list {
		out = append(out, g.Group+"="+strconv.Itoa(g.Calls))
	}
	return strings.Join(out, ",")
}

func totalsSumEveryTokenKindAndTheCostOfAGroup(t *testing.T, s Store) {
	e := claudebridge.LedgerEntry{Time: ledgerDay, Key: "ci", Model: "model-a", Upstream: "bedrock", Door: "messages",
		InputTokens: 1, OutputTokens: 2, CacheReadTokens: 3, CacheWrite5mTokens: 4, CacheWrite1hTokens: 5,
		CostUSD: 0.5, PriceVersion: "v1", Latency: time.Second, FirstToken: time.Millisecond, Status: 200}
	other := e
	other.Model, other.CostUSD = "model-b", 8
	appendLedger(t, s, e, e, e, other)
	list := totals(t, s, claudebridge.ByModel, time.Time{}, time.Time{})
	if got, want := groups(list), "model-a=3,model-b=1"; got != want {
		t.Fatalf("totals %s, want %s (by model, in order)", got, want)
	}
	a := list[0]
	if got, want := a.InputTokens, 3; got != want {
		t.Errorf("input tokens %d, want %d", got, want)
	}
	if got, want := a.OutputTokens, 6; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
	if got, want := a.CacheReadTokens, 9; got != want {
		t.Errorf("cache read tokens %d, want %d", got, want)
	}
	if got, want := a.CacheWrite5mTokens, 12; got != want {
		t.Errorf("5-minute cache write tokens %d, want %d", got, want)
	}
	if got, want := a.CacheWrite1hTokens, 15; got != want {
		t.Errorf("1-hour cache write tokens %d, want %d", got, want)
	}
	if got, want := a.CostUSD, 1.5; got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
	if got, want := list[1].CostUSD, 8.0; got != want {
		t.Errorf("another model's cost %v, want %v", got, want)
	}
}

func totalsByKeyPutCallsWithoutAKeyUnderTheEmptyName(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	appendLedger(t, s,
		claudebridge.LedgerEntry{Time: ledgerDay, Key: "zeta", Model: "model-a", Door: "messages", CostUSD: 1, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, Key: "ci", Model: "model-a", Door: "messages", CostUSD: 2, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, Key: "ci", Model: "model-b", Door: "bedrock_invoke", CostUSD: 4, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, UserID: alice.ID, Model: "model-a", Door: "chat", CostUSD: 0.25, Status: 200},
	)
	list := totals(t, s, claudebridge.ByKey, time.Time{}, time.Time{})
	if got, want := groups(list), "=1,ci=2,zeta=1"; got != want {
		t.Fatalf("totals %s, want %s (by key, in order)", got, want)
	}
	if got, want := list[0].CostUSD, 0.25; got != want {
		t.Errorf("the chat's cost %v, want %v", got, want)
	}
	if got, want := list[1].CostUSD, 6.0; got != want {
		t.Errorf("ci's cost %v, want %v", got, want)
	}
}

func totalsByUserNameTheUserAndPutAPICallsUnderTheEmptyName(t *testing.T, s Store) {
	// bob's ID is the larger: the groups are ordered by name, not by ID.
	zed, bob := newUser(t, s, "zed"), newUser(t, s, "bob")
	appendLedger(t, s,
		claudebridge.LedgerEntry{Time: ledgerDay, UserID: zed.ID, Model: "model-a", Door: "chat", InputTokens: 1, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, UserID: bob.ID, Model: "model-a", Door: "chat", InputTokens: 2, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, UserID: bob.ID, Model: "model-a", Door: "chat", InputTokens: 4, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, Key: "ci", Model: "model-a", Door: "messages", InputTokens: 8, Status: 200},
	)
	list := totals(t, s, claudebridge.ByUser, time.Time{}, time.Time{})
	if got, want := groups(list), "=1,bob=2,zed=1"; got != want {
		t.Fatalf("totals %s, want %s (by user name, in order)", got, want)
	}
	if got, want := list[1].InputTokens, 6; got != want {
		t.Errorf("bob's input tokens %d, want %d", got, want)
	}
	if got, want := list[0].InputTokens, 8; got != want {
		t.Errorf("the API doors' input tokens %d, want %d", got, want)
	}
}

// `claudebridge usage --by day` shows UTC days, wherever the caller's
// clock is.
func totalsByDayAreByTheUTCDayOfTheTime(t *testing.T, s Store) {
	newYork := time.FixedZone("UTC-5", -5*60*60)
	appendLedger(t, s,
		// 23:30 on the 1st in New York is 04:30 on the 2nd in UTC.
		claudebridge.LedgerEntry{Time: time.Date(2026, 3, 1, 23, 30, 0, 0, newYork), Model: "model-a", Door: "messages", Status: 200},
		claudebridge.LedgerEntry{Time: time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC), Model: "model-a", Door: "messages", Status: 200},
		claudebridge.LedgerEntry{Time: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Model: "model-a", Door: "messages", Status: 200},
		claudebridge.LedgerEntry{Time: time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC), Model: "model-a", Door: "messages", Status: 200},
	)
	if got, want := groups(totals(t, s, claudebridge.ByDay, time.Time{}, time.Time{})), "2026-02-28=1,2026-03-01=1,2026-03-02=2"; got != want {
		t.Errorf("totals %s, want %s", got, want)
	}
}

func totalsKeepFromInclusiveAndToExclusiveAndAZeroBoundOpen(t *testing.T, s Store) {
	at := func(h int) time.Time { return ledgerDay.Add(time.Duration(h) * time.Hour) }
	for h, model := range []string{"h0", "h1", "h2", "h3"} {
		appendLedger(t, s, claudebridge.LedgerEntry{Time: at(h), Model: model, Door: "messages", Status: 200})
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     string
	}{
		{"both open", time.Time{}, time.Time{}, "h0=1,h1=1,h2=1,h3=1"},
		{"from an entry's time", at(1), time.Time{}, "h1=1,h2=1,h3=1"},
		{"to an entry's time", time.Time{}, at(2), "h0=1,h1=1"},
		{"from and to entries' times", at(1), at(3), "h1=1,h2=1"},
		{"between entries", at(1).Add(time.Second), at(2).Add(-time.Second), ""},
		{"from equal to to", at(1), at(1), ""},
		{"after every entry", at(4), time.Time{}, ""},
	} {
		if got, want := groups(totals(t, s, claudebridge.ByModel, tc.from, tc.to)), tc.want; got != want {
			t.Errorf("%s: totals %s, want %s", tc.name, got, want)
		}
	}
}

func anEmptyLedgerTotalsNothing(t *testing.T, s Store) {
	for _, by := range []claudebridge.LedgerGroup{claudebridge.ByKey, claudebridge.ByUser, claudebridge.ByModel, claudebridge.ByDay} {
		if got, want := len(totals(t, s, by, time.Time{}, time.Time{})), 0; got != want {
			t.Errorf("totals by %s: %d, want %d", by, got, want)
		}
	}
}

func anUnknownGroupingIsInvalid(t *testing.T, s Store) {
	_, err := s.LedgerTotals(t.Context(), "colour", time.Time{}, time.Time{})
	wantCode(t, "LedgerTotals by colour", err, claudebridge.EINVALID)
}

// A key's budget is checked against what it spent since its period began.
func spentByKeyIsItsKeysCostSinceItsBoundInclusive(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	appendLedger(t, s,
		claudebridge.LedgerEntry{Time: ledgerDay.Add(-time.Second), Key: "ci", Model: "model-a", Door: "messages", CostUSD: 1, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, Key: "ci", Model: "model-a", Door: "messages", CostUSD: 2, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay.Add(time.Hour), Key: "ci", Model: "model-b", Door: "bedrock_converse", CostUSD: 4, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, Key: "other", Model: "model-a", Door: "messages", CostUSD: 8, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, UserID: alice.ID, Model: "model-a", Door: "chat", CostUSD: 16, Status: 200},
	)
	for _, tc := range []struct {
		key   string
		since time.Time
		want  float64
	}{
		{"ci", ledgerDay.Add(-time.Hour), 7},
		{"ci", time.Time{}, 7}, // the zero time: since ever
		{"ci", ledgerDay, 6},
		{"ci", ledgerDay.Add(time.Second), 4},
		{"ci", ledgerDay.Add(2 * time.Hour), 0},
		{"other", ledgerDay, 8},
		{"nobody", ledgerDay.Add(-time.Hour), 0},
	} {
		spent, err := s.SpentByKey(t.Context(), tc.key, tc.since)
		if err != nil {
			t.Fatalf("SpentByKey %s: %v", tc.key, err)
		}
		if got, want := spent, tc.want; got != want {
			t.Errorf("%s spent since %v: %v, want %v", tc.key, tc.since, got, want)
		}
	}
}

func spentByUserIsItsUsersCostSinceItsBoundInclusive(t *testing.T, s Store) {
	alice, bob, carol := newUser(t, s, "alice"), newUser(t, s, "bob"), newUser(t, s, "carol")
	appendLedger(t, s,
		claudebridge.LedgerEntry{Time: ledgerDay.Add(-time.Second), UserID: alice.ID, Model: "model-a", Door: "chat", CostUSD: 1, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, UserID: alice.ID, Model: "model-a", Door: "chat", CostUSD: 2, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay.Add(time.Hour), UserID: alice.ID, Model: "model-b", Door: "chat", CostUSD: 4, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, UserID: bob.ID, Model: "model-a", Door: "chat", CostUSD: 8, Status: 200},
		claudebridge.LedgerEntry{Time: ledgerDay, Key: "ci", Model: "model-a", Door: "messages", CostUSD: 16, Status: 200},
	)
	for _, tc := range []struct {
		user  *claudebridge.User
		since time.Time
		want  float64
	}{
		{alice, ledgerDay.Add(-time.Hour), 7},
		{alice, time.Time{}, 7},
		{alice, ledgerDay, 6},
		{alice, ledgerDay.Add(time.Second), 4},
		{alice, ledgerDay.Add(2 * time.Hour), 0},
		{bob, ledgerDay, 8},
		{carol, ledgerDay.Add(-time.Hour), 0},
	} {
		spent, err := s.SpentByUser(t.Context(), tc.user.ID, tc.since)
		if err != nil {
			t.Fatalf("SpentByUser %s: %v", tc.user.Name, err)
		}
		if got, want := spent, tc.want; got != want {
			t.Errorf("%s spent since %v: %v, want %v", tc.user.Name, tc.since, got, want)
		}
	}
}

// An entry of a user that does not exist is one an engine may refuse (a
// foreign key) or keep; either way the append is whole: what the writer
// retries must not be half stored already.
func anAppendIsStoredAllOrNone(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	err := s.AppendLedger(t.Context(), []claudebridge.LedgerEntry{
		{Time: ledgerDay, UserID: alice.ID, Model: "model-a", Door: "chat", Status: 200},
		{Time: ledgerDay, UserID: alice.ID + 1000, Model: "model-a", Door: "chat", Status: 200},
		{Time: ledgerDay, Key: "ci", Model: "model-a", Door: "messages", Status: 200},
	})
	calls := 0
	for _, g := range totals(t, s, claudebridge.ByModel, time.Time{}, time.Time{}) {
		calls += g.Calls
	}
	want := 3
	if err != nil {
		want = 0
	}
	if got := calls; got != want {
		t.Errorf("entries stored %d, want %d (the append returned %v)", got, want, err)
	}
}

// The ledger writer of every door and the chat's turns append at once.
func concurrentAppendsTotalExactly(t *testing.T, s Store) {
	const writers, each = 8, 10
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range each {
				e := claudebridge.LedgerEntry{Time: ledgerDay, Key: "ci", Model: "model-a", Door: "messages",
					InputTokens: 1, OutputTokens: 2, CacheReadTokens: 3, CacheWrite5mTokens: 4, CacheWrite1hTokens: 5,
					CostUSD: 0.125, Status: 200}
				if err := s.AppendLedger(t.Context(), []claudebridge.LedgerEntry{e, e}); err != nil {
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
	list := totals(t, s, claudebridge.ByKey, time.Time{}, time.Time{})
	if got, want := len(list), 1; got != want {
		t.Fatalf("groups %d, want %d", got, want)
	}
	n := writers * each * 2
	g := list[0]
	if got, want := g.Calls, n; got != want {
		t.Errorf("calls %d, want %d", got, want)
	}
	if got, want := g.InputTokens, n; got != want {
		t.Errorf("input tokens %d, want %d", got, want)
	}
	if got, want := g.OutputTokens, 2*n; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
	if got, want := g.CacheReadTokens, 3*n; got != want {
		t.Errorf("cache read tokens %d, want %d", got, want)
	}
	if got, want := g.CacheWrite5mTokens, 4*n; got != want {
		t.Errorf("5-minute cache write tokens %d, want %d", got, want)
	}
	if got, want := g.CacheWrite1hTokens, 5*n; got != want {
		t.Errorf("1-hour cache write tokens %d, want %d", got, want)
	}
	if got, want := g.CostUSD, 0.125*float64(n); got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
	spent, err := s.SpentByKey(t.Context(), "ci", ledgerDay)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spent, 0.125*float64(n); got != want {
		t.Errorf("spent %v, want %v", got, want)
	}
}

// The chat appends its turns to the ledger when the store keeps one, and
// its usage page reads Usage: a user's entries are that user's usage, by
// UTC day and model, and calls of the API doors are nobody's.
func aUsersLedgerEntriesAreItsUsage(t *testing.T, s Store) {
	alice := newUser(t, s, "alice")
	chat := claudebridge.LedgerEntry{Time: ledgerDay, UserID: alice.ID, Model: "model-a", Door: "chat", Status: 200}
	chat.SetUsage(claudebridge.Usage{InputTokens: 1, OutputTokens: 2, CacheReadInputTokens: 4, CacheCreationInputTokens: 7,
		CacheCreation: claudebridge.CacheCreation{Ephemeral5mInputTokens: 4, Ephemeral1hInputTokens: 3}})
	chat.CostUSD = 0.5
	cut := chat
	cut.CountedOutputTokens = cut.OutputTokens
	api := chat
	api.UserID, api.Key, api.Door = 0, "ci", "messages"
	appendLedger(t, s, chat, cut, api)
	rows := usageRows(t, s, alice.ID, "2026-03-01", "2026-03-01")
	if got, want := days(rows), "2026-03-01 model-a"; got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
	r := rows[0]
	if got, want := r.Usage.InputTokens, 2; got != want {
		t.Errorf("input tokens %d, want %d", got, want)
	}
	if got, want := r.Usage.OutputTokens, 4; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
	if got, want := r.Usage.CacheReadInputTokens, 8; got != want {
		t.Errorf("cache read tokens %d, want %d", got, want)
	}
	if got, want := r.Usage.CacheCreationInputTokens, 14; got != want {
		t.Errorf("cache creation tokens %d, want %d", got, want)
	}
	if got, want := r.Usage.CacheCreation.Ephemeral1hInputTokens, 6; got != want {
		t.Errorf("1-hour cache creation tokens %d, want %d", got, want)
	}
	if got, want := r.Usage.CacheCreation.Ephemeral5mInputTokens, 8; got != want {
		t.Errorf("5-minute cache creation tokens %d, want %d", got, want)
	}
	if got, want := r.CountedOutputTokens, 2; got != want {
		t.Errorf("counted output tokens %d, want %d", got, want)
	}
	if got, want := r.CostUSD, 1.0; got != want {
		t.Errorf("cost %v, want %v", got, want)
	}
}

// A cut answer's usage, counted at the next start, goes through AddUsage:
// it counts against its user's budget as a turn's entry does.
func addedUsageIsSpentByItsUser(t *testing.T, s Store) {
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	addUsage(t, s, alice.ID, "2026-01-02", "model-a", claudebridge.Usage{OutputTokens: 9}, 0.75, true)
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	spent, err := s.SpentByUser(t.Context(), alice.ID, since)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spent, 0.75; got != want {
		t.Errorf("alice spent %v, want %v", got, want)
	}
	spent, err = s.SpentByUser(t.Context(), bob.ID, since)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spent, 0.0; got != want {
		t.Errorf("bob spent %v, want %v", got, want)
	}
}
