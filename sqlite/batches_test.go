package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

func newBatch(t *testing.T, db *DB, ids ...string) *claudebridge.Batch {
	t.Helper()
	var reqs []claudebridge.BatchRequest
	for _, id := range ids {
		reqs = append(reqs, claudebridge.BatchRequest{CustomID: id, Params: json.RawMessage(`{"model":"m"}`)})
	}
	b := &claudebridge.Batch{Betas: []string{"a-1", "b-2"}}
	if err := db.CreateBatch(context.Background(), b, reqs); err != nil {
		t.Fatal(err)
	}
	return b
}

func line(id, typ string) claudebridge.BatchResult {
	return claudebridge.BatchResult{CustomID: id, Type: typ, Line: json.RawMessage(`{"custom_id":"` + id + `","result":{"type":"` + typ + `"}}`)}
}

func TestABatchIsStoredInProgressWithItsRequestsPendingAndExpiresADayLater(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	b := newBatch(t, db, "a", "b", "c")
	got, err := db.Batch(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.Status, claudebridge.BatchInProgress; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	if got, want := got.Counts.Processing, 3; got != want {
		t.Errorf("processing = %d, want %d", got, want)
	}
	if got, want := got.ExpiresAt.Sub(got.CreatedAt), 24*time.Hour; got != want {
		t.Errorf("expires after %s, want %s", got, want)
	}
	if got, want := strings.Join(got.Betas, ","), "a-1,b-2"; got != want {
		t.Errorf("betas = %q, want %q", got, want)
	}
	if got, want := len(b.ID), len("msgbatch_013Zva2CMHLNnXjNJJKqJ2EF"); !strings.HasPrefix(b.ID, "msgbatch_") || got != want {
		t.Errorf("id = %q, want msgbatch_ and %d characters", b.ID, want)
	}
	pending, err := db.PendingRequests(ctx, b.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(pending), 2; got != want {
		t.Fatalf("pending = %d, want %d", got, want)
	}
	if got, want := pending[0].CustomID+pending[1].CustomID, "ab"; got != want {
		t.Errorf("pending ids = %q, want %q", got, want)
	}
}

func TestARepeatedCustomIDIsRefused(t *testing.T) {
	db, _ := open(t)
	err := db.CreateBatch(context.Background(), &claudebridge.Batch{}, []claudebridge.BatchRequest{
		{CustomID: "x", Params: json.RawMessage(`{}`)}, {CustomID: "x", Params: json.RawMessage(`{}`)}})
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Errorf("code = %q, want %q (%v)", got, want, err)
	}
}

func TestASecondResultForARequestIsNotStoredNorCounted(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	b := newBatch(t, db, "a", "b")
	for _, r := range []claudebridge.BatchResult{line("a", "succeeded"), line("a", "errored")} {
		if err := db.AddBatchResult(ctx, b.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := db.Batch(ctx, b.ID)
	if got, want := got.Counts, (claudebridge.BatchCounts{Processing: 1, Succeeded: 1}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	pending, _ := db.PendingRequests(ctx, b.ID, 10)
	if got, want := len(pending), 1; got != want {
		t.Errorf("pending = %d, want %d", got, want)
	}
}

func TestEndingABatchGivesTheRequestsLeftTheirResultInRequestOrder(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	b := newBatch(t, db, "a", "b", "c")
	if err := db.AddBatchResult(ctx, b.ID, line("b", "succeeded")); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	if err := db.EndBatch(ctx, b.ID, claudebridge.ResultCanceled, at); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Batch(ctx, b.ID)
	if got, want := got.Status, claudebridge.BatchEnded; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	if got, want := got.Counts, (claudebridge.BatchCounts{Succeeded: 1, Canceled: 2}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if got, want := got.EndedAt, at; !got.Equal(want) {
		t.Errorf("ended_at = %s, want %s", got, want)
	}
	var lines []string
	if err := db.BatchResults(ctx, b.ID, func(l []byte) error { lines = append(lines, string(l)); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{`{"custom_id":"a","result":{"type":"canceled"}}`, `{"custom_id":"b","result":{"type":"succeeded"}}`, `{"custom_id":"c","result":{"type":"canceled"}}`}
	if got, want := strings.Join(lines, "\n"), strings.Join(want, "\n"); got != want {
		t.Errorf("results:\n%s\nwant:\n%s", got, want)
	}
}

func TestOnlyAnEndedBatchCanBeDeletedAndItsResultsGoWithIt(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	b := newBatch(t, db, "a")
	if got, want := claudebridge.ErrorCode(db.DeleteBatch(ctx, b.ID)), claudebridge.EINVALID; got != want {
		t.Errorf("deleting in progress: code %q, want %q", got, want)
	}
	if err := db.EndBatch(ctx, b.ID, claudebridge.ResultCanceled, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteBatch(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Batch(ctx, b.ID); claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		t.Errorf("batch after delete: %v, want not found", err)
	}
	var n int
	db.r.QueryRow(`SELECT count(*) FROM batch_requests`).Scan(&n)
	if got, want := n, 0; got != want {
		t.Errorf("requests left = %d, want %d", got, want)
	}
}

func TestCancelingMovesOnlyABatchInProgress(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	b := newBatch(t, db, "a")
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	got, err := db.CancelBatch(ctx, b.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.Status, claudebridge.BatchCanceling; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	again, _ := db.CancelBatch(ctx, b.ID, at.Add(time.Hour))
	if got, want := again.CancelInitiatedAt, at; !got.Equal(want) {
		t.Errorf("cancel_initiated_at after a second cancel = %s, want %s", got, want)
	}
	if _, err := db.CancelBatch(ctx, "msgbatch_nope", at); claudebridge.ErrorCode(err) != claudebridge.ENOTFOUND {
		t.Errorf("cancel of an unknown id: %v, want not found", err)
	}
}

func TestBatchesArePagedNewestFirstAfterAndBeforeACursor(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	var ids []string // oldest first
	for i := range 5 {
		ids = append(ids, newBatch(t, db, fmt.Sprint("r", i)).ID)
	}
	page := func(before, after string, limit int) (string, bool) {
		t.Helper()
		list, more, err := db.Batches(ctx, "", before, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range list {
			got = append(got, fmt.Sprint(indexOf(ids, b.ID)))
		}
		return strings.Join(got, ","), more
	}
	for _, c := range []struct {
		name          string
		before, after string
		limit         int
		want          string
		more          bool
	}{
		{"first page", "", "", 2, "4,3", true},
		{"after the first page", "", ids[3], 2, "2,1", true},
		{"the last page", "", ids[1], 2, "0", false},
		{"before the last page", ids[1], "", 2, "3,2", true},
		{"before the first page's second", ids[3], "", 2, "4", false},
	} {
		got, more := page(c.before, c.after, c.limit)
		if got != c.want {
			t.Errorf("%s: batches %s, want %s", c.name, got, c.want)
		}
		if more != c.more {
			t.Errorf("%s: more = %v, want %v", c.name, more, c.more)
		}
	}
	if _, _, err := db.Batches(ctx, "", "", "msgbatch_nope", 2); claudebridge.ErrorCode(err) != claudebridge.EINVALID {
		t.Errorf("unknown cursor: %v, want invalid", err)
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func TestABatchClaimedByOneOwnerIsTakenByAnotherOnlyOnceTheClaimLapses(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	b := newBatch(t, db, "a")
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		owner string
		now   time.Time
		want  bool
	}{
		{"one", t0, true},
		{"two", t0.Add(30 * time.Second), false},
		{"one", t0.Add(30 * time.Second), true}, // renewed to t0+90s
		{"two", t0.Add(80 * time.Second), false},
		{"two", t0.Add(91 * time.Second), true},
	} {
		got, err := db.ClaimBatch(ctx, b.ID, c.owner, c.now, c.now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s claims at +%s: %v, want %v", c.owner, c.now.Sub(t0), got, c.want)
		}
	}
}

func TestArchivingRemovesTheResultsOfOldEndedBatchesOnly(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	ended, running := newBatch(t, db, "a"), newBatch(t, db, "b")
	if err := db.EndBatch(ctx, ended.ID, claudebridge.ResultCanceled, time.Now()); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	n, err := db.ArchiveBatches(ctx, time.Now().Add(time.Hour), at)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, 1; got != want {
		t.Errorf("archived %d, want %d", got, want)
	}
	got, _ := db.Batch(ctx, ended.ID)
	if got, want := got.ArchivedAt, at; !got.Equal(want) {
		t.Errorf("archived_at %s, want %s", got, want)
	}
	lines := 0
	db.BatchResults(ctx, ended.ID, func([]byte) error { lines++; return nil })
	if got, want := lines, 0; got != want {
		t.Errorf("%d results left, want %d", got, want)
	}
	if pending, _ := db.PendingRequests(ctx, running.ID, 10); len(pending) != 1 {
		t.Errorf("the running batch lost its requests: %d left, want 1", len(pending))
	}
	if n, _ := db.ArchiveBatches(ctx, time.Now().Add(time.Hour), at); n != 0 {
		t.Errorf("archived %d again, want 0", n)
	}
}

func TestABatchKeepsTheKeyThatMadeItAndIsListedOnlyForThatKey(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	mine := &claudebridge.Batch{KeyName: "team-a"}
	if err := db.CreateBatch(ctx, mine, []claudebridge.BatchRequest{{CustomID: "r", Params: json.RawMessage(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	theirs := newBatch(t, db, "r")
	got, err := db.Batch(ctx, mine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.KeyName, "team-a"; got != want {
		t.Errorf("key name %q, want %q", got, want)
	}
	list, _, err := db.Batches(ctx, "team-a", "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 1; got != want {
		t.Fatalf("team-a lists %d batches, want %d", got, want)
	}
	if got, want := list[0].ID, mine.ID; got != want {
		t.Errorf("team-a lists %s, want %s", got, want)
	}
	if _, _, err := db.Batches(ctx, "team-a", "", theirs.ID, 10); claudebridge.ErrorCode(err) != claudebridge.EINVALID {
		t.Errorf("a cursor of another key's batch: %v, want invalid", err)
	}
}
