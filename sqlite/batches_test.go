package sqlite

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// The store suite checks batches through BatchService; these check what
// is SQLite's own: the rows it leaves.

func TestDeletingAndArchivingBatchesLeaveNoRequestRowsBehind(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	reqs := []claudebridge.BatchRequest{{CustomID: "a", Params: json.RawMessage(`{}`)}, {CustomID: "b", Params: json.RawMessage(`{}`)}}
	deleted, archived, running := &claudebridge.Batch{}, &claudebridge.Batch{}, &claudebridge.Batch{}
	for _, b := range []*claudebridge.Batch{deleted, archived, running} {
		if err := db.CreateBatch(ctx, b, reqs); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, b := range []*claudebridge.Batch{deleted, archived} {
		if err := db.EndBatch(ctx, b.ID, claudebridge.ResultCanceled, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteBatch(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ArchiveBatches(ctx, running.CreatedAt.Add(time.Hour), at); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.r.QueryRow(`SELECT count(*) FROM batch_requests`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if got, want := n, len(reqs); got != want {
		t.Errorf("request rows left %d, want %d (the running batch's)", got, want)
	}
}
