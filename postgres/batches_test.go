package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/pgtest"
)

// newBatch stores a batch of requests of those custom ids.
func newBatch(t testing.TB, db *DB, customIDs ...string) *claudebridge.Batch {
	t.Helper()
	var reqs []claudebridge.BatchRequest
	for _, id := range customIDs {
		reqs = append(reqs, claudebridge.BatchRequest{CustomID: id, Params: json.RawMessage(`{"model":"m"}`)})
	}
	b := &claudebridge.Batch{}
	if err := db.CreateBatch(context.Background(), b, reqs); err != nil {
		t.Fatal(err)
	}
	return b
}

// numbered returns n custom ids, r0 to r(n-1).
func numbered(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint("r", i)
	}
	return ids
}

func result(id, typ string) claudebridge.BatchResult {
	return claudebridge.BatchResult{CustomID: id, Type: typ,
		Line: json.RawMessage(`{"custom_id":"` + id + `","result":{"type":"` + typ + `"}}`)}
}

// results reads every result line of a batch.
func results(t *testing.T, db *DB, id string) []string {
	t.Helper()
	var lines []string
	if err := db.BatchResults(t.Context(), id, func(l []byte) error { lines = append(lines, string(l)); return nil }); err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestOfEightOwnersClaimingABatchAtOnceExactlyOneGetsIt(t *testing.T) {
	db := open(t)
	b := newBatch(t, db, "a")
	now := time.Now()
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for i := range 8 {
		owner := fmt.Sprint("serve-", i)
		wg.Go(func() {
			<-start
			got, err := db.ClaimBatch(context.Background(), b.ID, owner, now, now.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if got {
				mu.Lock()
				winners = append(winners, owner)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := len(winners), 1; got != want {
		t.Fatalf("owners that got the batch: %v, want %d", winners, want)
	}
	var owner string
	if err := db.pool.QueryRow(t.Context(), `SELECT owner FROM batches WHERE id = $1`, b.ID).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	if got, want := owner, winners[0]; got != want {
		t.Errorf("the batch's owner %q, want the winner %q", got, want)
	}
}

func TestEightAddsOfOneRequestsResultAtOnceCountItOnce(t *testing.T) {
	db := open(t)
	b := newBatch(t, db, "a", "b")
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		typ := claudebridge.ResultSucceeded
		if i%2 == 1 {
			typ = claudebridge.ResultErrored
		}
		wg.Go(func() {
			<-start
			if err := db.AddBatchResult(context.Background(), b.ID, result("a", typ)); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	got, err := db.Batch(t.Context(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.Counts.Succeeded+got.Counts.Errored, 1; got != want {
		t.Errorf("results counted %d, want %d", got, want)
	}
	if got, want := got.Counts.Processing, 1; got != want {
		t.Errorf("processing %d, want %d", got, want)
	}
	if got, want := len(results(t, db, b.ID)), 1; got != want {
		t.Errorf("result lines %d, want %d", got, want)
	}
}

func TestBatchResultsGivesManyPagesOfLinesInRequestOrder(t *testing.T) {
	db := open(t)
	n := 2*resultsPage + resultsPage/2
	ids := numbered(n)
	b := newBatch(t, db, ids...)
	// Results arrive in any order; every other one before the batch ends.
	for i := n - 1; i >= 0; i -= 2 {
		if err := db.AddBatchResult(t.Context(), b.ID, result(ids[i], claudebridge.ResultSucceeded)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.EndBatch(t.Context(), b.ID, claudebridge.ResultExpired, time.Now()); err != nil {
		t.Fatal(err)
	}
	lines := results(t, db, b.ID)
	if got, want := len(lines), n; got != want {
		t.Fatalf("lines %d, want %d", got, want)
	}
	for i, l := range lines {
		var r struct {
			CustomID string `json:"custom_id"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, l)
		}
		if got, want := r.CustomID, ids[i]; got != want {
			t.Fatalf("line %d is %q's, want %q's", i, got, want)
		}
	}
}

func TestBatchResultsStopsAtTheReadersErrorAndReturnsIt(t *testing.T) {
	db := open(t)
	b := newBatch(t, db, numbered(3)...)
	if err := db.EndBatch(t.Context(), b.ID, claudebridge.ResultCanceled, time.Now()); err != nil {
		t.Fatal(err)
	}
	stop := fmt.Errorf("client gone")
	calls := 0
	err := db.BatchResults(t.Context(), b.ID, func([]byte) error { calls++; return stop })
	if got, want := err, stop; got != want {
		t.Errorf("error %v, want %v", got, want)
	}
	if got, want := calls, 1; got != want {
		t.Errorf("lines handed %d, want %d", got, want)
	}
}

func TestBatchResultsHoldsNoConnectionWhileTheReaderHasALine(t *testing.T) {
	db, err := Open(t.Context(), pgtest.URL(t)+"&pool_max_conns=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := newBatch(t, db, numbered(3)...)
	if err := db.EndBatch(t.Context(), b.ID, claudebridge.ResultCanceled, time.Now()); err != nil {
		t.Fatal(err)
	}
	// With one connection in the pool, the reader's own query can run
	// only if BatchResults does not hold it: a slow client then holds
	// none either.
	err = db.BatchResults(t.Context(), b.ID, func([]byte) error {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := db.Batch(ctx, b.ID)
		return err
	})
	if err != nil {
		t.Errorf("a query while reading the results: %v", err)
	}
}

func TestEndingABatchWritesEachLineLeftAsJSONOfItsCustomIDAndType(t *testing.T) {
	db := open(t)
	b := newBatch(t, db, `a"b\c`, "d")
	if err := db.EndBatch(t.Context(), b.ID, claudebridge.ResultExpired, time.Now()); err != nil {
		t.Fatal(err)
	}
	lines := results(t, db, b.ID)
	if got, want := len(lines), 2; got != want {
		t.Fatalf("lines %d, want %d", got, want)
	}
	if got, want := lines[0], `{"custom_id":"a\"b\\c","result":{"type":"expired"}}`; got != want {
		t.Errorf("line %s, want %s", got, want)
	}
	if got, want := lines[1], `{"custom_id":"d","result":{"type":"expired"}}`; got != want {
		t.Errorf("line %s, want %s", got, want)
	}
}

func TestEndingABatchThatDoesNotExistIsNotFound(t *testing.T) {
	db := open(t)
	err := db.EndBatch(t.Context(), "msgbatch_nope", claudebridge.ResultCanceled, time.Now())
	if got, want := claudebridge.ErrorCode(err), claudebridge.ENOTFOUND; got != want {
		t.Errorf("code %q (%v), want %q", got, err, want)
	}
}

func TestARepeatedCustomIDIsRefusedNamingTheRepeatAndNothingIsStored(t *testing.T) {
	db := open(t)
	err := db.CreateBatch(t.Context(), &claudebridge.Batch{}, []claudebridge.BatchRequest{
		{CustomID: "x", Params: json.RawMessage(`{}`)}, {CustomID: "y", Params: json.RawMessage(`{}`)},
		{CustomID: "x", Params: json.RawMessage(`{}`)}})
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Fatalf("code %q (%v), want %q", got, err, want)
	}
	if got, want := claudebridge.ErrorMessage(err), `requests.2.custom_id: "x" is also the custom_id of an earlier request: each must be unique`; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	var n int
	if err := db.pool.QueryRow(t.Context(), `SELECT count(*) FROM batches`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if got, want := n, 0; got != want {
		t.Errorf("batches stored %d, want %d", got, want)
	}
}

func TestArchivingLeavesABatchNotEndedAndOneMadeAfterTheBoundAlone(t *testing.T) {
	db := open(t)
	ended, running := newBatch(t, db, "a"), newBatch(t, db, "b")
	if err := db.EndBatch(t.Context(), ended.ID, claudebridge.ResultCanceled, time.Now()); err != nil {
		t.Fatal(err)
	}
	n, err := db.ArchiveBatches(t.Context(), ended.CreatedAt, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, 0; got != want {
		t.Errorf("archived before its creation: %d, want %d", got, want)
	}
	n, err = db.ArchiveBatches(t.Context(), time.Now().Add(time.Hour), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, 1; got != want {
		t.Errorf("archived %d, want %d", got, want)
	}
	if got, want := len(results(t, db, ended.ID)), 0; got != want {
		t.Errorf("archived batch's lines %d, want %d", got, want)
	}
	pending, err := db.PendingRequests(t.Context(), running.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(pending), 1; got != want {
		t.Errorf("running batch's pending requests %d, want %d", got, want)
	}
	if got, want := string(pending[0].Params), `{"model":"m"}`; got != want {
		t.Errorf("params %s, want %s", got, want)
	}
}
