package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// batches checks BatchService: Message Batches, their requests, results,
// lists, claims, ends and archives. The times a caller gives (cancel, end,
// archive, claims) are whole seconds, which any engine keeps exactly.
func batches(t *testing.T, open func(t *testing.T) Store) {
	runAll(t, open, []behaviour{
		{"ACreatedBatchIsInProgressAndExpiresADayLater", aCreatedBatchIsInProgressAndExpiresADayLater},
		{"ABatchWithoutRequestsIsInvalid", aBatchWithoutRequestsIsInvalid},
		{"ARepeatedCustomIDIsInvalidAndStoresNothing", aRepeatedCustomIDIsInvalidAndStoresNothing},
		{"AnAbsentBatchIsNotFound", anAbsentBatchIsNotFound},
		{"PendingRequestsAreThoseWithoutAResultAsGivenInOrder", pendingRequestsAreThoseWithoutAResultAsGivenInOrder},
		{"AResultIsCountedByItsType", aResultIsCountedByItsType},
		{"ASecondResultForARequestIsNotStoredNorCounted", aSecondResultForARequestIsNotStoredNorCounted},
		{"ConcurrentResultsForOneRequestAreCountedOnce", concurrentResultsForOneRequestAreCountedOnce},
		{"ConcurrentResultsForManyRequestsAreEachCounted", concurrentResultsForManyRequestsAreEachCounted},
		{"EndingGivesTheRequestsLeftAResultOfTheRestsType", endingGivesTheRequestsLeftAResultOfTheRestsType},
		{"AnExpiredBatchCountsWhatWasLeftAsExpired", anExpiredBatchCountsWhatWasLeftAsExpired},
		{"ResultsComeInRequestOrderAndStopAtTheFirstError", resultsComeInRequestOrderAndStopAtTheFirstError},
		{"CancelingMovesOnlyABatchInProgress", cancelingMovesOnlyABatchInProgress},
		{"OnlyAnEndedBatchIsDeletedAndItsResultsGoWithIt", onlyAnEndedBatchIsDeletedAndItsResultsGoWithIt},
		{"ActiveBatchesAreThoseInProgressOrCancelingOldestFirst", activeBatchesAreThoseInProgressOrCancelingOldestFirst},
		{"AClaimIsTakenByAnotherOwnerOnlyOnceItLapses", aClaimIsTakenByAnotherOwnerOnlyOnceItLapses},
		{"ConcurrentClaimsGiveABatchToExactlyOneOwner", concurrentClaimsGiveABatchToExactlyOneOwner},
		{"BatchesArePagedNewestFirstAfterAndBeforeACursor", batchesArePagedNewestFirstAfterAndBeforeACursor},
		{"PagingWalksEveryBatchOnceInBothDirections", pagingWalksEveryBatchOnceInBothDirections},
		{"ABatchIsListedOnlyForTheKeyThatMadeIt", aBatchIsListedOnlyForTheKeyThatMadeIt},
		{"ACursorOfNoBatchOfTheKeyIsInvalid", aCursorOfNoBatchOfTheKeyIsInvalid},
		{"ArchivingKeepsOldEndedBatchesAndRemovesTheirResults", archivingKeepsOldEndedBatchesAndRemovesTheirResults},
	})
}

// batchAt is a time the batch checks give as now.
var batchAt = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// newBatch creates a batch of keyName with a request per custom_id.
func newBatch(t *testing.T, s Store, keyName string, customIDs ...string) *claudebridge.Batch {
	t.Helper()
	var reqs []claudebridge.BatchRequest
	for _, id := range customIDs {
		reqs = append(reqs, claudebridge.BatchRequest{CustomID: id, Params: params(id)})
	}
	b := &claudebridge.Batch{KeyName: keyName}
	if err := s.CreateBatch(t.Context(), b, reqs); err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	return b
}

// params is a request's body, its keys not in sorted order and spaced: a
// request is kept as it was given.
func params(customID string) json.RawMessage {
	return json.RawMessage(`{"model": "model-a", "max_tokens": 16, "messages": [{"role": "user", "content": "` + customID + `"}]}`)
}

func result(customID, typ string) claudebridge.BatchResult {
	return claudebridge.BatchResult{CustomID: customID, Type: typ,
		Line: json.RawMessage(`{"custom_id":"` + customID + `","result":{"type":"` + typ + `"}}`)}
}

func addResult(t *testing.T, s Store, batchID string, r claudebridge.BatchResult) {
	t.Helper()
	if err := s.AddBatchResult(t.Context(), batchID, r); err != nil {
		t.Fatalf("AddBatchResult %s: %v", r.CustomID, err)
	}
}

func batch(t *testing.T, s Store, id string) *claudebridge.Batch {
	t.Helper()
	b, err := s.Batch(t.Context(), id)
	if err != nil {
		t.Fatalf("Batch %s: %v", id, err)
	}
	return b
}

func endBatch(t *testing.T, s Store, id, rest string) {
	t.Helper()
	if err := s.EndBatch(t.Context(), id, rest, batchAt); err != nil {
		t.Fatalf("EndBatch %s: %v", id, err)
	}
}

func pendingIDs(t *testing.T, s Store, batchID string, limit int) string {
	t.Helper()
	list, err := s.PendingRequests(t.Context(), batchID, limit)
	if err != nil {
		t.Fatalf("PendingRequests: %v", err)
	}
	var out []string
	for _, r := range list {
		out = append(out, r.CustomID)
	}
	return strings.Join(out, ",")
}

// resultLines returns every result line of a batch, in the order given.
func resultLines(t *testing.T, s Store, batchID string) []string {
	t.Helper()
	var lines []string
	if err := s.BatchResults(t.Context(), batchID, func(l []byte) error { lines = append(lines, string(l)); return nil }); err != nil {
		t.Fatalf("BatchResults: %v", err)
	}
	return lines
}

// resultLine is what a results file's line says: its custom_id and its
// result's type.
func resultLine(t *testing.T, line string) string {
	t.Helper()
	var l struct {
		CustomID string `json:"custom_id"`
		Result   struct {
			Type string `json:"type"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		t.Fatalf("result line %q: %v", line, err)
	}
	if strings.Contains(line, "\n") {
		t.Errorf("result line %q is more than one line", line)
	}
	return l.CustomID + " " + l.Result.Type
}

func checkCounts(t *testing.T, what string, got, want claudebridge.BatchCounts) {
	t.Helper()
	if got, want := got.Processing, want.Processing; got != want {
		t.Errorf("%s: processing %d, want %d", what, got, want)
	}
	if got, want := got.Succeeded, want.Succeeded; got != want {
		t.Errorf("%s: succeeded %d, want %d", what, got, want)
	}
	if got, want := got.Errored, want.Errored; got != want {
		t.Errorf("%s: errored %d, want %d", what, got, want)
	}
	if got, want := got.Canceled, want.Canceled; got != want {
		t.Errorf("%s: canceled %d, want %d", what, got, want)
	}
	if got, want := got.Expired, want.Expired; got != want {
		t.Errorf("%s: expired %d, want %d", what, got, want)
	}
}

// batchIDs returns the position in made (oldest first) of each batch.
func batchIDs(list []claudebridge.Batch, made []string) string {
	var out []string
	for _, b := range list {
		out = append(out, fmt.Sprint(slices.Index(made, b.ID)))
	}
	return strings.Join(out, ",")
}

func aCreatedBatchIsInProgressAndExpiresADayLater(t *testing.T, s Store) {
	b := &claudebridge.Batch{KeyName: "team-a", Betas: []string{"b-2", "a-1"}}
	reqs := []claudebridge.BatchRequest{{CustomID: "r1", Params: params("r1")}, {CustomID: "r2", Params: params("r2")}}
	if err := s.CreateBatch(t.Context(), b, reqs); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.ID, "msgbatch_") || len(b.ID) == len("msgbatch_") {
		t.Errorf("ID %q, want msgbatch_ and more", b.ID)
	}
	if got, want := b.Status, claudebridge.BatchInProgress; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	checkCounts(t, "CreateBatch", b.Counts, claudebridge.BatchCounts{Processing: 2})
	if b.CreatedAt.IsZero() {
		t.Errorf("CreatedAt is zero")
	}
	if got, want := b.ExpiresAt.Sub(b.CreatedAt), 24*time.Hour; got != want {
		t.Errorf("expires %s after it was made, want %s", got, want)
	}
	if other := newBatch(t, s, "team-a", "r1"); other.ID == b.ID {
		t.Errorf("two batches share the ID %s", b.ID)
	}

	got := batch(t, s, b.ID)
	if got, want := got.Status, claudebridge.BatchInProgress; got != want {
		t.Errorf("status read back %q, want %q", got, want)
	}
	if got, want := got.KeyName, "team-a"; got != want {
		t.Errorf("key name %q, want %q", got, want)
	}
	if got, want := strings.Join(got.Betas, ","), "b-2,a-1"; got != want {
		t.Errorf("betas %q, want %q (in the order given)", got, want)
	}
	checkCounts(t, "read back", got.Counts, claudebridge.BatchCounts{Processing: 2})
	if got, want := got.CreatedAt, b.CreatedAt; !got.Equal(want) {
		t.Errorf("CreatedAt read back %v, want the one CreateBatch gave %v", got, want)
	}
	if got, want := got.ExpiresAt, b.ExpiresAt; !got.Equal(want) {
		t.Errorf("ExpiresAt read back %v, want the one CreateBatch gave %v", got, want)
	}
	if !got.EndedAt.IsZero() || !got.CancelInitiatedAt.IsZero() || !got.ArchivedAt.IsZero() {
		t.Errorf("a new batch has ended %v, cancel initiated %v, archived %v; want all zero", got.EndedAt, got.CancelInitiatedAt, got.ArchivedAt)
	}
	if got, want := len(resultLines(t, s, b.ID)), 0; got != want {
		t.Errorf("a new batch has %d results, want %d", got, want)
	}
}

func aBatchWithoutRequestsIsInvalid(t *testing.T, s Store) {
	wantCode(t, "CreateBatch of no requests", s.CreateBatch(t.Context(), &claudebridge.Batch{}, nil), claudebridge.EINVALID)
	active, err := s.ActiveBatches(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(active), 0; got != want {
		t.Errorf("active batches %d, want %d", got, want)
	}
}

func aRepeatedCustomIDIsInvalidAndStoresNothing(t *testing.T, s Store) {
	err := s.CreateBatch(t.Context(), &claudebridge.Batch{}, []claudebridge.BatchRequest{
		{CustomID: "x", Params: params("x")}, {CustomID: "y", Params: params("y")}, {CustomID: "x", Params: params("x")}})
	wantCode(t, "CreateBatch with a repeated custom_id", err, claudebridge.EINVALID)
	active, err := s.ActiveBatches(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(active), 0; got != want {
		t.Errorf("active batches %d, want %d", got, want)
	}
	list, _, err := s.Batches(t.Context(), "", "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 0; got != want {
		t.Errorf("batches listed %d, want %d", got, want)
	}
}

func anAbsentBatchIsNotFound(t *testing.T, s Store) {
	newBatch(t, s, "", "r")
	_, err := s.Batch(t.Context(), "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF")
	wantCode(t, "Batch of an absent id", err, claudebridge.ENOTFOUND)
}

func pendingRequestsAreThoseWithoutAResultAsGivenInOrder(t *testing.T, s Store) {
	b := newBatch(t, s, "", "d", "b", "a", "c")
	list, err := s.PendingRequests(t.Context(), b.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 4; got != want {
		t.Fatalf("pending %d, want %d", got, want)
	}
	if got, want := string(list[0].Params), string(params("d")); got != want {
		t.Errorf("params %s, want them as given %s", got, want)
	}
	if got, want := pendingIDs(t, s, b.ID, 2), "d,b"; got != want {
		t.Errorf("pending up to 2: %s, want %s", got, want)
	}
	addResult(t, s, b.ID, result("b", claudebridge.ResultSucceeded))
	addResult(t, s, b.ID, result("d", claudebridge.ResultErrored))
	if got, want := pendingIDs(t, s, b.ID, 10), "a,c"; got != want {
		t.Errorf("pending after two results: %s, want %s", got, want)
	}
	other := newBatch(t, s, "", "d")
	if got, want := pendingIDs(t, s, other.ID, 10), "d"; got != want {
		t.Errorf("another batch's pending: %s, want %s", got, want)
	}
}

func aResultIsCountedByItsType(t *testing.T, s Store) {
	b := newBatch(t, s, "", "s1", "s2", "e", "c", "x", "left")
	for _, r := range []claudebridge.BatchResult{
		result("s1", claudebridge.ResultSucceeded), result("s2", claudebridge.ResultSucceeded),
		result("e", claudebridge.ResultErrored), result("c", claudebridge.ResultCanceled), result("x", claudebridge.ResultExpired),
	} {
		addResult(t, s, b.ID, r)
	}
	got := batch(t, s, b.ID)
	checkCounts(t, "after five results", got.Counts, claudebridge.BatchCounts{Processing: 1, Succeeded: 2, Errored: 1, Canceled: 1, Expired: 1})
	if got, want := got.Status, claudebridge.BatchInProgress; got != want {
		t.Errorf("status %q, want %q (only EndBatch ends a batch)", got, want)
	}
	lines := resultLines(t, s, b.ID)
	if got, want := strings.Join(lines, "\n"), strings.Join([]string{
		string(result("s1", claudebridge.ResultSucceeded).Line), string(result("s2", claudebridge.ResultSucceeded).Line),
		string(result("e", claudebridge.ResultErrored).Line), string(result("c", claudebridge.ResultCanceled).Line),
		string(result("x", claudebridge.ResultExpired).Line),
	}, "\n"); got != want {
		t.Errorf("results:\n%s\nwant them as given:\n%s", got, want)
	}
}

func aSecondResultForARequestIsNotStoredNorCounted(t *testing.T, s Store) {
	b := newBatch(t, s, "", "a", "b")
	addResult(t, s, b.ID, result("a", claudebridge.ResultSucceeded))
	addResult(t, s, b.ID, result("a", claudebridge.ResultErrored))
	checkCounts(t, "after a result twice", batch(t, s, b.ID).Counts, claudebridge.BatchCounts{Processing: 1, Succeeded: 1})
	if got, want := pendingIDs(t, s, b.ID, 10), "b"; got != want {
		t.Errorf("pending %s, want %s", got, want)
	}
	if got, want := strings.Join(resultLines(t, s, b.ID), "\n"), string(result("a", claudebridge.ResultSucceeded).Line); got != want {
		t.Errorf("results %s, want the first only %s", got, want)
	}
}

// A batch whose claim lapsed mid-call is run by another serve: both may
// store a result for the same request at once.
func concurrentResultsForOneRequestAreCountedOnce(t *testing.T, s Store) {
	b := newBatch(t, s, "", "a", "b")
	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		typ := claudebridge.ResultSucceeded
		if w%2 == 1 {
			typ = claudebridge.ResultErrored
		}
		wg.Go(func() { errs[w] = s.AddBatchResult(t.Context(), b.ID, result("a", typ)) })
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	c := batch(t, s, b.ID).Counts
	if got, want := c.Succeeded+c.Errored, 1; got != want {
		t.Errorf("results counted %d (succeeded %d, errored %d), want %d", got, c.Succeeded, c.Errored, want)
	}
	if got, want := c.Processing, 1; got != want {
		t.Errorf("processing %d, want %d", got, want)
	}
	lines := resultLines(t, s, b.ID)
	if got, want := len(lines), 1; got != want {
		t.Fatalf("results %d, want %d", got, want)
	}
	// The line stored is the one counted.
	want := "a " + claudebridge.ResultErrored
	if c.Succeeded == 1 {
		want = "a " + claudebridge.ResultSucceeded
	}
	if got := resultLine(t, lines[0]); got != want {
		t.Errorf("result %q, want %q", got, want)
	}
}

func concurrentResultsForManyRequestsAreEachCounted(t *testing.T, s Store) {
	const writers, each = 8, 5
	var ids []string
	for w := range writers {
		for i := range each {
			ids = append(ids, fmt.Sprintf("w%d-%d", w, i))
		}
	}
	b := newBatch(t, s, "", ids...)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.AddBatchResult(t.Context(), b.ID, result(fmt.Sprintf("w%d-%d", w, i), claudebridge.ResultSucceeded)); err != nil {
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
	checkCounts(t, "after every result", batch(t, s, b.ID).Counts, claudebridge.BatchCounts{Succeeded: writers * each})
	if got, want := len(resultLines(t, s, b.ID)), writers*each; got != want {
		t.Errorf("results %d, want %d", got, want)
	}
}

func endingGivesTheRequestsLeftAResultOfTheRestsType(t *testing.T, s Store) {
	b := newBatch(t, s, "", "a", "b", "c")
	addResult(t, s, b.ID, result("b", claudebridge.ResultSucceeded))
	endBatch(t, s, b.ID, claudebridge.ResultCanceled)
	got := batch(t, s, b.ID)
	if got, want := got.Status, claudebridge.BatchEnded; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	checkCounts(t, "ended", got.Counts, claudebridge.BatchCounts{Succeeded: 1, Canceled: 2})
	if got, want := got.EndedAt, batchAt; !got.Equal(want) {
		t.Errorf("EndedAt %v, want %v", got, want)
	}
	if got, want := pendingIDs(t, s, b.ID, 10), ""; got != want {
		t.Errorf("pending after the end %s, want none", got)
	}
	// The lines EndBatch makes are the store's to format: read for what
	// they say.
	var said []string
	for _, l := range resultLines(t, s, b.ID) {
		said = append(said, resultLine(t, l))
	}
	if got, want := strings.Join(said, ","), "a canceled,b succeeded,c canceled"; got != want {
		t.Errorf("results %s, want %s", got, want)
	}
}

func anExpiredBatchCountsWhatWasLeftAsExpired(t *testing.T, s Store) {
	b := newBatch(t, s, "", "a", "b", "c")
	addResult(t, s, b.ID, result("a", claudebridge.ResultErrored))
	endBatch(t, s, b.ID, claudebridge.ResultExpired)
	checkCounts(t, "expired", batch(t, s, b.ID).Counts, claudebridge.BatchCounts{Errored: 1, Expired: 2})
	lines := resultLines(t, s, b.ID)
	if got, want := len(lines), 3; got != want {
		t.Fatalf("results %d, want %d", got, want)
	}
	if got, want := resultLine(t, lines[2]), "c expired"; got != want {
		t.Errorf("last result %q, want %q", got, want)
	}
}

func resultsComeInRequestOrderAndStopAtTheFirstError(t *testing.T, s Store) {
	b := newBatch(t, s, "", "a", "b", "c")
	for _, id := range []string{"c", "a", "b"} {
		addResult(t, s, b.ID, result(id, claudebridge.ResultSucceeded))
	}
	var said []string
	for _, l := range resultLines(t, s, b.ID) {
		said = append(said, resultLine(t, l))
	}
	if got, want := strings.Join(said, ","), "a succeeded,b succeeded,c succeeded"; got != want {
		t.Errorf("results %s, want %s (in request order)", got, want)
	}
	stop := errors.New("client gone")
	calls := 0
	err := s.BatchResults(t.Context(), b.ID, func([]byte) error { calls++; return stop })
	if !errors.Is(err, stop) {
		t.Errorf("BatchResults returned %v, want each's error %v", err, stop)
	}
	if got, want := calls, 1; got != want {
		t.Errorf("lines handed on after an error %d, want %d", got, want)
	}
}

func cancelingMovesOnlyABatchInProgress(t *testing.T, s Store) {
	b := newBatch(t, s, "", "a")
	got, err := s.CancelBatch(t.Context(), b.ID, batchAt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.Status, claudebridge.BatchCanceling; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	if got, want := got.CancelInitiatedAt, batchAt; !got.Equal(want) {
		t.Errorf("CancelInitiatedAt %v, want %v", got, want)
	}
	again, err := s.CancelBatch(t.Context(), b.ID, batchAt.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again.Status, claudebridge.BatchCanceling; got != want {
		t.Errorf("status after a second cancel %q, want %q", got, want)
	}
	if got, want := again.CancelInitiatedAt, batchAt; !got.Equal(want) {
		t.Errorf("CancelInitiatedAt after a second cancel %v, want the first's %v", got, want)
	}
	if got, want := batch(t, s, b.ID).Status, claudebridge.BatchCanceling; got != want {
		t.Errorf("status read back %q, want %q", got, want)
	}

	ended := newBatch(t, s, "", "a")
	endBatch(t, s, ended.ID, claudebridge.ResultExpired)
	got, err = s.CancelBatch(t.Context(), ended.ID, batchAt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.Status, claudebridge.BatchEnded; got != want {
		t.Errorf("an ended batch canceled: status %q, want %q", got, want)
	}
	if !got.CancelInitiatedAt.IsZero() {
		t.Errorf("an ended batch canceled: CancelInitiatedAt %v, want zero", got.CancelInitiatedAt)
	}
	_, err = s.CancelBatch(t.Context(), "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF", batchAt)
	wantCode(t, "CancelBatch of an absent id", err, claudebridge.ENOTFOUND)
}

func onlyAnEndedBatchIsDeletedAndItsResultsGoWithIt(t *testing.T, s Store) {
	b := newBatch(t, s, "", "a", "b")
	addResult(t, s, b.ID, result("a", claudebridge.ResultSucceeded))
	wantCode(t, "DeleteBatch in progress", s.DeleteBatch(t.Context(), b.ID), claudebridge.EINVALID)
	if _, err := s.CancelBatch(t.Context(), b.ID, batchAt); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "DeleteBatch canceling", s.DeleteBatch(t.Context(), b.ID), claudebridge.EINVALID)
	if got, want := len(resultLines(t, s, b.ID)), 1; got != want {
		t.Errorf("results after refused deletes %d, want %d", got, want)
	}
	endBatch(t, s, b.ID, claudebridge.ResultCanceled)
	kept := newBatch(t, s, "", "a")
	endBatch(t, s, kept.ID, claudebridge.ResultCanceled)
	if err := s.DeleteBatch(t.Context(), b.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Batch(t.Context(), b.ID)
	wantCode(t, "Batch after DeleteBatch", err, claudebridge.ENOTFOUND)
	if got, want := len(resultLines(t, s, b.ID)), 0; got != want {
		t.Errorf("results after delete %d, want %d", got, want)
	}
	list, _, err := s.Batches(t.Context(), "", "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := batchIDs(list, []string{b.ID, kept.ID}), "1"; got != want {
		t.Errorf("batches listed %s, want only the other (%s)", got, want)
	}
	if got, want := len(resultLines(t, s, kept.ID)), 1; got != want {
		t.Errorf("the other batch's results %d, want %d", got, want)
	}
	wantCode(t, "DeleteBatch again", s.DeleteBatch(t.Context(), b.ID), claudebridge.ENOTFOUND)
}

// A serve starting runs what ActiveBatches gives: every batch not ended.
func activeBatchesAreThoseInProgressOrCancelingOldestFirst(t *testing.T, s Store) {
	var made []string
	for range 4 {
		made = append(made, newBatch(t, s, "", "a").ID)
	}
	endBatch(t, s, made[1], claudebridge.ResultExpired)
	if _, err := s.CancelBatch(t.Context(), made[2], batchAt); err != nil {
		t.Fatal(err)
	}
	made = append(made, newBatch(t, s, "team-a", "a").ID) // another key's batch is work too
	active, err := s.ActiveBatches(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := batchIDs(active, made), "0,2,3,4"; got != want {
		t.Errorf("active batches %s, want %s (oldest first)", got, want)
	}
}

func aClaimIsTakenByAnotherOwnerOnlyOnceItLapses(t *testing.T, s Store) {
	b := newBatch(t, s, "", "a")
	for _, step := range []struct {
		owner string
		after time.Duration // since batchAt
		want  bool
	}{
		{"one", 0, true},                   // until +60s
		{"two", 30 * time.Second, false},   // one's claim lasts past now
		{"one", 30 * time.Second, true},    // renewed until +90s
		{"two", 89 * time.Second, false},   // still one's
		{"two", 90 * time.Second, true},    // one's claim lasts until now, not past it
		{"one", 100 * time.Second, false},  // now two's until +150s
		{"two", 100 * time.Second, true},   // two renews
		{"three", 200 * time.Second, true}, // long lapsed
		{"three", 200 * time.Second, true}, // a claim held is held again
		{"two", 259 * time.Second, false},  // three's until +260s
	} {
		now := batchAt.Add(step.after)
		got, err := s.ClaimBatch(t.Context(), b.ID, step.owner, now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got != step.want {
			t.Errorf("%s claims at +%s: %v, want %v", step.owner, step.after, got, step.want)
		}
	}
}

// Several serves on one store find the same batch active at once.
func concurrentClaimsGiveABatchToExactlyOneOwner(t *testing.T, s Store) {
	b := newBatch(t, s, "", "a")
	const owners = 8
	took := make([]bool, owners)
	errs := make([]error, owners)
	var wg sync.WaitGroup
	for o := range owners {
		wg.Go(func() {
			took[o], errs[o] = s.ClaimBatch(t.Context(), b.ID, fmt.Sprint("serve-", o), batchAt, batchAt.Add(time.Minute))
		})
	}
	wg.Wait()
	for o, err := range errs {
		if err != nil {
			t.Fatalf("owner %d: %v", o, err)
		}
	}
	winners := 0
	for _, ok := range took {
		if ok {
			winners++
		}
	}
	if got, want := winners, 1; got != want {
		t.Errorf("owners holding the batch %d, want %d", got, want)
	}
}

func batchesArePagedNewestFirstAfterAndBeforeACursor(t *testing.T, s Store) {
	var made []string // oldest first
	for i := range 5 {
		made = append(made, newBatch(t, s, "", fmt.Sprint("r", i)).ID)
	}
	for _, tc := range []struct {
		name          string
		before, after string
		limit         int
		want          string
		more          bool
	}{
		{"every batch", "", "", 10, "4,3,2,1,0", false},
		{"exactly every batch", "", "", 5, "4,3,2,1,0", false},
		{"the first page", "", "", 2, "4,3", true},
		{"after the first page", "", made[3], 2, "2,1", true},
		{"the last page", "", made[1], 2, "0", false},
		{"after the oldest", "", made[0], 2, "", false},
		{"before the last page", made[1], "", 2, "3,2", true},
		{"before the first page's second", made[3], "", 2, "4", false},
		{"before the newest", made[4], "", 2, "", false},
		{"before the oldest, all", made[0], "", 4, "4,3,2,1", false},
	} {
		list, more, err := s.Batches(t.Context(), "", tc.before, tc.after, tc.limit)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got, want := batchIDs(list, made), tc.want; got != want {
			t.Errorf("%s: batches %s, want %s", tc.name, got, want)
		}
		if got, want := more, tc.more; got != want {
			t.Errorf("%s: more %v, want %v", tc.name, got, want)
		}
	}
}

// A client pages with the last ID of a page as after_id, and back with
// the first as before_id, as the Message Batches API's list does.
func pagingWalksEveryBatchOnceInBothDirections(t *testing.T, s Store) {
	var made []string
	for i := range 7 {
		made = append(made, newBatch(t, s, "", fmt.Sprint("r", i)).ID)
	}
	var forward []claudebridge.Batch
	var pages [][]claudebridge.Batch
	after := ""
	for range len(made) + 1 {
		list, more, err := s.Batches(t.Context(), "", "", after, 3)
		if err != nil {
			t.Fatal(err)
		}
		forward = append(forward, list...)
		pages = append(pages, list)
		if !more {
			break
		}
		after = list[len(list)-1].ID
	}
	if got, want := batchIDs(forward, made), "6,5,4,3,2,1,0"; got != want {
		t.Fatalf("forward: %s, want %s", got, want)
	}
	if got, want := len(pages), 3; got != want {
		t.Errorf("forward pages %d, want %d", got, want)
	}
	var back []claudebridge.Batch
	before := pages[len(pages)-1][0].ID
	for range len(made) + 1 {
		list, more, err := s.Batches(t.Context(), "", before, "", 3)
		if err != nil {
			t.Fatal(err)
		}
		back = append(list, back...)
		if !more {
			break
		}
		before = list[0].ID
	}
	if got, want := batchIDs(back, made), "6,5,4,3,2,1"; got != want {
		t.Errorf("back from the last page: %s, want %s", got, want)
	}
}

func aBatchIsListedOnlyForTheKeyThatMadeIt(t *testing.T, s Store) {
	mine := newBatch(t, s, "team-a", "r")
	newBatch(t, s, "", "r")
	newBatch(t, s, "team-b", "r")
	list, more, err := s.Batches(t.Context(), "team-a", "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := batchIDs(list, []string{mine.ID}), "0"; got != want {
		t.Errorf("team-a's batches %s, want only its own", got)
	}
	if got, want := more, false; got != want {
		t.Errorf("more %v, want %v", got, want)
	}
	list, _, err = s.Batches(t.Context(), "team-c", "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 0; got != want {
		t.Errorf("a key without batches lists %d, want %d", got, want)
	}
}

// A cursor is an ID the list gave the same key: another key's batch is
// none of its business, and says nothing of where to start.
func aCursorOfNoBatchOfTheKeyIsInvalid(t *testing.T, s Store) {
	newBatch(t, s, "team-a", "r")
	theirs := newBatch(t, s, "team-b", "r")
	for _, tc := range []struct{ name, before, after string }{
		{"an absent after_id", "", "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF"},
		{"an absent before_id", "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF", ""},
		{"another key's batch as after_id", "", theirs.ID},
		{"another key's batch as before_id", theirs.ID, ""},
	} {
		_, _, err := s.Batches(t.Context(), "team-a", tc.before, tc.after, 10)
		wantCode(t, tc.name, err, claudebridge.EINVALID)
	}
}

// Results are kept 29 days; the batch stays listed, with its counts.
func archivingKeepsOldEndedBatchesAndRemovesTheirResults(t *testing.T, s Store) {
	old := newBatch(t, s, "", "a", "b")
	addResult(t, s, old.ID, result("a", claudebridge.ResultSucceeded))
	endBatch(t, s, old.ID, claudebridge.ResultCanceled)
	running := newBatch(t, s, "", "a")
	canceling := newBatch(t, s, "", "a")
	if _, err := s.CancelBatch(t.Context(), canceling.ID, batchAt); err != nil {
		t.Fatal(err)
	}
	at := batchAt.Add(29 * 24 * time.Hour)
	archive := func(createdBefore time.Time) int {
		t.Helper()
		n, err := s.ArchiveBatches(t.Context(), createdBefore, at)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Made before the bound, not at it.
	if got, want := archive(old.CreatedAt), 0; got != want {
		t.Errorf("archived at old's own CreatedAt %d, want %d", got, want)
	}
	if got, want := len(resultLines(t, s, old.ID)), 2; got != want {
		t.Fatalf("results before archiving %d, want %d", got, want)
	}
	if got, want := archive(old.CreatedAt.Add(time.Millisecond)), 1; got != want {
		t.Errorf("archived %d, want %d", got, want)
	}
	got := batch(t, s, old.ID)
	if got, want := got.ArchivedAt, at; !got.Equal(want) {
		t.Errorf("ArchivedAt %v, want %v", got, want)
	}
	if got, want := got.Status, claudebridge.BatchEnded; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	checkCounts(t, "archived", got.Counts, claudebridge.BatchCounts{Succeeded: 1, Canceled: 1})
	if got, want := len(resultLines(t, s, old.ID)), 0; got != want {
		t.Errorf("results after archiving %d, want %d", got, want)
	}
	list, _, err := s.Batches(t.Context(), "", "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := batchIDs(list, []string{old.ID, running.ID, canceling.ID}), "2,1,0"; got != want {
		t.Errorf("batches listed %s, want %s (the archived one too)", got, want)
	}

	// Those not ended keep their requests, whenever they were made.
	if got, want := archive(canceling.CreatedAt.Add(time.Hour)), 0; got != want {
		t.Errorf("archived again %d, want %d", got, want)
	}
	if got, want := batch(t, s, old.ID).ArchivedAt, at; !got.Equal(want) {
		t.Errorf("ArchivedAt after archiving again %v, want the first's %v", got, want)
	}
	for name, b := range map[string]*claudebridge.Batch{"running": running, "canceling": canceling} {
		if got, want := pendingIDs(t, s, b.ID, 10), "a"; got != want {
			t.Errorf("the %s batch's pending %s, want %s", name, got, want)
		}
		if got := batch(t, s, b.ID).ArchivedAt; !got.IsZero() {
			t.Errorf("the %s batch archived at %v", name, got)
		}
	}
}
