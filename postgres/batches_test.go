package postgres

import (
	"context"
	"encoding/json"
	"fmt"
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
