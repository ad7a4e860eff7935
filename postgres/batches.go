package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.BatchService = (*DB)(nil)

// batchLifetime is how long a batch may run before what is left expires,
// as in the Message Batches API.
const batchLifetime = 24 * time.Hour

const batchColumns = `id, status, key_name, betas, total, succeeded, errored, canceled, expired,
	created_at, expires_at, ended_at, cancel_initiated_at, archived_at`

// scanBatch reads a row of batchColumns.
func scanBatch(row pgx.Row) (*claudebridge.Batch, error) {
	var b claudebridge.Batch
	var betas string
	var total int
	var ended, canceled, archived *time.Time
	c := &b.Counts
	if err := row.Scan(&b.ID, &b.Status, &b.KeyName, &betas, &total, &c.Succeeded, &c.Errored, &c.Canceled, &c.Expired,
		&b.CreatedAt, &b.ExpiresAt, &ended, &canceled, &archived); err != nil {
		return nil, err
	}
	c.Processing = total - c.Succeeded - c.Errored - c.Canceled - c.Expired
	if betas != "" {
		b.Betas = strings.Split(betas, ",")
	}
	b.CreatedAt, b.ExpiresAt = utc(b.CreatedAt), utc(b.ExpiresAt)
	b.EndedAt, b.CancelInitiatedAt, b.ArchivedAt = optional(ended), optional(canceled), optional(archived)
	return &b, nil
}

// optional is a nullable time read back: zero for NULL.
func optional(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return utc(*t)
}

func collectBatches(rows pgx.Rows) ([]claudebridge.Batch, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (claudebridge.Batch, error) {
		b, err := scanBatch(row)
		if err != nil {
			return claudebridge.Batch{}, err
		}
		return *b, nil
	})
}

// CreateBatch stores b, in progress, with its requests: the batch row and
// one COPY of the requests (up to the API's 100,000) in one transaction.
func (db *DB) CreateBatch(ctx context.Context, b *claudebridge.Batch, requests []claudebridge.BatchRequest) error {
	if len(requests) == 0 {
		return claudebridge.Errorf(claudebridge.EINVALID, "requests: a batch needs at least one request")
	}
	// Checked here rather than by the unique index, whose violation in
	// the middle of a COPY would not say which request repeated.
	seen := make(map[string]bool, len(requests))
	for i, r := range requests {
		if seen[r.CustomID] {
			return claudebridge.Errorf(claudebridge.EINVALID, "requests.%d.custom_id: %q is also the custom_id of an earlier request: each must be unique", i, r.CustomID)
		}
		seen[r.CustomID] = true
	}
	id, created := claudebridge.NewBatchID(), now()
	expires := created.Add(batchLifetime)
	err := db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var seq int64
		if err := tx.QueryRow(ctx, `INSERT INTO batches (id, status, key_name, betas, total, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`,
			id, claudebridge.BatchInProgress, b.KeyName, strings.Join(b.Betas, ","), len(requests), created, expires).Scan(&seq); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"batch_requests"}, []string{"batch_seq", "n", "custom_id", "params"},
			pgx.CopyFromSlice(len(requests), func(i int) ([]any, error) {
				return []any{seq, i, requests[i].CustomID, []byte(requests[i].Params)}, nil
			}))
		return err
	})
	if err != nil {
		return internal("create batch", err)
	}
	b.ID, b.Status = id, claudebridge.BatchInProgress
	b.Counts = claudebridge.BatchCounts{Processing: len(requests)}
	b.CreatedAt, b.ExpiresAt = created, expires
	return nil
}

// Batch returns one batch; ENOTFOUND if there is none of that id.
func (db *DB) Batch(ctx context.Context, id string) (*claudebridge.Batch, error) {
	b, err := scanBatch(db.pool.QueryRow(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("message batch " + id)
	}
	return b, internal("batch", err)
}

// Batches lists the batches of keyName newest first, a page at a time.
func (db *DB) Batches(ctx context.Context, keyName, beforeID, afterID string, limit int) ([]claudebridge.Batch, bool, error) {
	cursor, name := afterID, "after_id"
	if beforeID != "" {
		cursor, name = beforeID, "before_id"
	}
	var rows pgx.Rows
	var err error
	switch {
	case cursor == "":
		rows, err = db.pool.Query(ctx, `SELECT `+batchColumns+` FROM batches WHERE key_name = $1
			ORDER BY seq DESC LIMIT $2`, keyName, limit+1)
	default:
		var seq int64
		err = db.pool.QueryRow(ctx, `SELECT seq FROM batches WHERE id = $1 AND key_name = $2`, cursor, keyName).Scan(&seq)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, false, claudebridge.Errorf(claudebridge.EINVALID, "%s: no message batch %s", name, cursor)
		}
		if err != nil {
			return nil, false, internal("batches", err)
		}
		if beforeID != "" {
			// The page just before the cursor in the list's order: the
			// oldest of those made after it, turned back below.
			rows, err = db.pool.Query(ctx, `SELECT `+batchColumns+` FROM batches WHERE key_name = $1 AND seq > $2
				ORDER BY seq ASC LIMIT $3`, keyName, seq, limit+1)
		} else {
			rows, err = db.pool.Query(ctx, `SELECT `+batchColumns+` FROM batches WHERE key_name = $1 AND seq < $2
				ORDER BY seq DESC LIMIT $3`, keyName, seq, limit+1)
		}
	}
	if err != nil {
		return nil, false, internal("batches", err)
	}
	list, err := collectBatches(rows)
	if err != nil {
		return nil, false, internal("batches", err)
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	if beforeID != "" {
		slices.Reverse(list)
	}
	return list, more, nil
}

// CancelBatch moves a batch in progress to canceling.
func (db *DB) CancelBatch(ctx context.Context, id string, at time.Time) (*claudebridge.Batch, error) {
	_, err := db.pool.Exec(ctx, `UPDATE batches SET status = $1, cancel_initiated_at = $2 WHERE id = $3 AND status = $4`,
		claudebridge.BatchCanceling, at, id, claudebridge.BatchInProgress)
	if err != nil {
		return nil, internal("cancel batch", err)
	}
	return db.Batch(ctx, id)
}

// DeleteBatch removes an ended batch with its requests and results. The
// batch's row is locked while its status is checked, so that no other
// process changes it between the check and the removal.
func (db *DB) DeleteBatch(ctx context.Context, id string) error {
	err := db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM batches WHERE id = $1 FOR UPDATE`, id).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("message batch " + id)
		}
		if err != nil {
			return err
		}
		if status != claudebridge.BatchEnded {
			return claudebridge.Errorf(claudebridge.EINVALID, "Message Batch %s is %s: only a batch that has ended can be deleted (cancel one in progress first)", id, status)
		}
		_, err = tx.Exec(ctx, `DELETE FROM batches WHERE id = $1`, id)
		return err
	})
	return internal("delete batch", err)
}

// ActiveBatches returns the batches in progress or canceling, oldest first.
func (db *DB) ActiveBatches(ctx context.Context) ([]claudebridge.Batch, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+batchColumns+` FROM batches WHERE status IN ($1, $2) ORDER BY seq`,
		claudebridge.BatchInProgress, claudebridge.BatchCanceling)
	if err != nil {
		return nil, internal("active batches", err)
	}
	list, err := collectBatches(rows)
	return list, internal("active batches", err)
}

// ClaimBatch makes owner the one that runs a batch until until, unless
// another's claim lasts past now: a claim until now has lapsed, so that a
// serve giving a batch up (a claim until now) leaves it to the next at
// once. One UPDATE decides: of processes
// claiming at once, the first to lock the row takes it, and the others'
// conditions, evaluated again on the row it wrote, no longer hold.
func (db *DB) ClaimBatch(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE batches SET owner = $1, lease_until = $2
		WHERE id = $3 AND (owner = $1 OR lease_until IS NULL OR lease_until <= $4)`, owner, until, id, now)
	if err != nil {
		return false, internal("claim batch", err)
	}
	return tag.RowsAffected() == 1, nil
}

// PendingRequests returns up to limit requests without a result, in order.
func (db *DB) PendingRequests(ctx context.Context, batchID string, limit int) ([]claudebridge.BatchRequest, error) {
	rows, err := db.pool.Query(ctx, `SELECT r.custom_id, r.params FROM batch_requests r JOIN batches b ON b.seq = r.batch_seq
		WHERE b.id = $1 AND r.result_type = '' ORDER BY r.n LIMIT $2`, batchID, limit)
	if err != nil {
		return nil, internal("pending requests", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claudebridge.BatchRequest, error) {
		var r claudebridge.BatchRequest
		err := row.Scan(&r.CustomID, &r.Params)
		return r, err
	})
	return list, internal("pending requests", err)
}

// countColumn is the batches column that counts results of type t: fixed
// text, never the caller's.
func countColumn(t string) (string, error) {
	switch t {
	case claudebridge.ResultSucceeded, claudebridge.ResultErrored, claudebridge.ResultCanceled, claudebridge.ResultExpired:
		return t, nil
	}
	return "", claudebridge.Errorf(claudebridge.EINTERNAL, "no result type %q", t)
}

// AddBatchResult stores r in its request's row and counts it, unless the
// request has a result already, in one statement: the count moves only
// for the row the first UPDATE took. Of processes adding the same result
// at once, the one that locks the request's row first stores it; the
// others find it has a result and count nothing.
func (db *DB) AddBatchResult(ctx context.Context, batchID string, r claudebridge.BatchResult) error {
	col, err := countColumn(r.Type)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `WITH stored AS (
			UPDATE batch_requests SET result_type = $1, result = $2, params = ''
			WHERE batch_seq = (SELECT seq FROM batches WHERE id = $3) AND custom_id = $4 AND result_type = ''
			RETURNING batch_seq)
		UPDATE batches b SET `+col+` = b.`+col+` + 1 FROM stored WHERE b.seq = stored.batch_seq`,
		r.Type, []byte(r.Line), batchID, r.CustomID)
	return internal("add batch result", err)
}

// EndBatch gives the requests left a result of type rest and ends the
// batch, in one transaction. Their lines are made in SQL, each as the API
// writes it: {"custom_id":...,"result":{"type":rest}}.
func (db *DB) EndBatch(ctx context.Context, batchID, rest string, at time.Time) error {
	col, err := countColumn(rest)
	if err != nil {
		return err
	}
	err = db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE batch_requests
			SET result_type = $1, params = '',
				result = convert_to('{"custom_id":' || to_json(custom_id)::text || ',"result":{"type":' || to_json($1::text)::text || '}}', 'UTF8')
			WHERE batch_seq = (SELECT seq FROM batches WHERE id = $2) AND result_type = ''`, rest, batchID)
		if err != nil {
			return err
		}
		tag, err = tx.Exec(ctx, `UPDATE batches SET `+col+` = `+col+` + $1, status = $2, ended_at = $3 WHERE id = $4`,
			tag.RowsAffected(), claudebridge.BatchEnded, at, batchID)
		if err == nil && tag.RowsAffected() == 0 {
			return notFound("message batch " + batchID)
		}
		return err
	})
	return internal("end batch", err)
}

// ArchiveBatches removes the requests and results of the ended batches
// made before createdBefore, in one statement (so one transaction).
func (db *DB) ArchiveBatches(ctx context.Context, createdBefore, at time.Time) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `WITH archived AS (
			UPDATE batches SET archived_at = $1
			WHERE status = $2 AND archived_at IS NULL AND created_at < $3
			RETURNING seq),
		removed AS (DELETE FROM batch_requests WHERE batch_seq IN (SELECT seq FROM archived))
		SELECT count(*) FROM archived`, at, claudebridge.BatchEnded, createdBefore).Scan(&n)
	return n, internal("archive batches", err)
}

// resultsPage is how many result lines BatchResults reads at a time.
const resultsPage = 100

// BatchResults hands each result line of a batch to each, in request
// order, a page at a time: each page is read whole and its query ended
// before each sees a line, so a slow reader (a client downloading the
// results) holds no connection and no statement open, whatever the
// statement timeout, and memory holds one page, whatever the batch's size.
func (db *DB) BatchResults(ctx context.Context, batchID string, each func(line []byte) error) error {
	var seq int64
	err := db.pool.QueryRow(ctx, `SELECT seq FROM batches WHERE id = $1`, batchID).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return internal("batch results", err)
	}
	type result struct {
		n    int
		line []byte
	}
	for after := -1; ; {
		rows, err := db.pool.Query(ctx, `SELECT n, result FROM batch_requests
			WHERE batch_seq = $1 AND n > $2 AND result_type <> '' ORDER BY n LIMIT $3`, seq, after, resultsPage)
		if err != nil {
			return internal("batch results", err)
		}
		page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (result, error) {
			var r result
			err := row.Scan(&r.n, &r.line)
			return r, err
		})
		if err != nil {
			return internal("batch results", err)
		}
		for _, r := range page {
			if err := each(r.line); err != nil {
				return err
			}
		}
		if len(page) < resultsPage {
			return nil
		}
		after = page[len(page)-1].n
	}
}
