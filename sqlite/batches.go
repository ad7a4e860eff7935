package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
)

var _ claudebridge.BatchService = (*DB)(nil)

// batchLifetime is how long a batch may run before what is left expires,
// as in the Message Batches API.
const batchLifetime = 24 * time.Hour

const batchColumns = `id, status, key_name, betas, total, succeeded, errored, canceled, expired,
	created_at, expires_at, ended_at, cancel_initiated_at, archived_at`

func scanBatch(row interface{ Scan(...any) error }) (*claudebridge.Batch, error) {
	var b claudebridge.Batch
	var betas string
	var total int
	var created, expires, ended, canceled, archived int64
	c := &b.Counts
	if err := row.Scan(&b.ID, &b.Status, &b.KeyName, &betas, &total, &c.Succeeded, &c.Errored, &c.Canceled, &c.Expired,
		&created, &expires, &ended, &canceled, &archived); err != nil {
		return nil, err
	}
	c.Processing = total - c.Succeeded - c.Errored - c.Canceled - c.Expired
	if betas != "" {
		b.Betas = strings.Split(betas, ",")
	}
	b.CreatedAt, b.ExpiresAt = fromNanos(created), fromNanos(expires)
	if ended != 0 {
		b.EndedAt = fromNanos(ended)
	}
	if canceled != 0 {
		b.CancelInitiatedAt = fromNanos(canceled)
	}
	if archived != 0 {
		b.ArchivedAt = fromNanos(archived)
	}
	return &b, nil
}

// CreateBatch stores b, in progress, with its requests.
func (db *DB) CreateBatch(ctx context.Context, b *claudebridge.Batch, requests []claudebridge.BatchRequest) error {
	if len(requests) == 0 {
		return claudebridge.Errorf(claudebridge.EINVALID, "requests: a batch needs at least one request")
	}
	b.ID = claudebridge.NewBatchID()
	b.Status = claudebridge.BatchInProgress
	b.Counts = claudebridge.BatchCounts{Processing: len(requests)}
	b.CreatedAt = now()
	b.ExpiresAt = b.CreatedAt.Add(batchLifetime)
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("create batch", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO batches (id, status, key_name, betas, total, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.Status, b.KeyName, strings.Join(b.Betas, ","), len(requests), nanos(b.CreatedAt), nanos(b.ExpiresAt))
	if err != nil {
		return internal("create batch", err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return internal("create batch", err)
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO batch_requests (batch_seq, n, custom_id, params) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return internal("create batch", err)
	}
	defer st.Close()
	for i, r := range requests {
		if _, err := st.ExecContext(ctx, seq, i, r.CustomID, []byte(r.Params)); err != nil {
			if isUnique(err) {
				return claudebridge.Errorf(claudebridge.EINVALID, "requests.%d.custom_id: %q is also the custom_id of an earlier request: each must be unique", i, r.CustomID)
			}
			return internal("create batch", err)
		}
	}
	return internal("create batch", tx.Commit())
}

// Batch returns one batch; ENOTFOUND if there is none of that id.
func (db *DB) Batch(ctx context.Context, id string) (*claudebridge.Batch, error) {
	b, err := scanBatch(db.rs.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("message batch " + id)
	}
	return b, internal("batch", err)
}

// Batches lists the batches of keyName newest first, a page at a time.
func (db *DB) Batches(ctx context.Context, keyName, beforeID, afterID string, limit int) ([]claudebridge.Batch, bool, error) {
	query := `SELECT ` + batchColumns + ` FROM batches WHERE key_name = ?`
	args := []any{keyName}
	order := ` ORDER BY seq DESC`
	cursor, name := afterID, "after_id"
	if beforeID != "" {
		cursor, name = beforeID, "before_id"
	}
	if cursor != "" {
		var seq int64
		err := db.rs.QueryRowContext(ctx, `SELECT seq FROM batches WHERE id = ? AND key_name = ?`, cursor, keyName).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, claudebridge.Errorf(claudebridge.EINVALID, "%s: no message batch %s", name, cursor)
		}
		if err != nil {
			return nil, false, internal("batches", err)
		}
		if beforeID != "" {
			// The page just before the cursor in the list's order: the
			// oldest of those made after it, turned back below.
			query += ` AND seq > ?`
			order = ` ORDER BY seq ASC`
		} else {
			query += ` AND seq < ?`
		}
		args = append(args, seq)
	}
	rows, err := db.rs.QueryContext(ctx, query+order+` LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, false, internal("batches", err)
	}
	defer rows.Close()
	list := []claudebridge.Batch{}
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, false, internal("batches", err)
		}
		list = append(list, *b)
	}
	if err := rows.Err(); err != nil {
		return nil, false, internal("batches", err)
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	if beforeID != "" {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	return list, more, nil
}

// CancelBatch moves a batch in progress to canceling.
func (db *DB) CancelBatch(ctx context.Context, id string, at time.Time) (*claudebridge.Batch, error) {
	_, err := db.ws.ExecContext(ctx, `UPDATE batches SET status = ?, cancel_initiated_at = ? WHERE id = ? AND status = ?`,
		claudebridge.BatchCanceling, nanos(at.UTC()), id, claudebridge.BatchInProgress)
	if err != nil {
		return nil, internal("cancel batch", err)
	}
	return db.Batch(ctx, id)
}

// DeleteBatch removes an ended batch with its requests and results.
func (db *DB) DeleteBatch(ctx context.Context, id string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("delete batch", err)
	}
	defer tx.Rollback()
	var status string
	err = tx.QueryRowContext(ctx, `SELECT status FROM batches WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("message batch " + id)
	}
	if err != nil {
		return internal("delete batch", err)
	}
	if status != claudebridge.BatchEnded {
		return claudebridge.Errorf(claudebridge.EINVALID, "Message Batch %s is %s: only a batch that has ended can be deleted (cancel one in progress first)", id, status)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM batches WHERE id = ?`, id); err != nil {
		return internal("delete batch", err)
	}
	return internal("delete batch", tx.Commit())
}

// ActiveBatches returns the batches in progress or canceling, oldest first.
func (db *DB) ActiveBatches(ctx context.Context) ([]claudebridge.Batch, error) {
	rows, err := db.rs.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE status IN (?, ?) ORDER BY seq`,
		claudebridge.BatchInProgress, claudebridge.BatchCanceling)
	if err != nil {
		return nil, internal("active batches", err)
	}
	defer rows.Close()
	var list []claudebridge.Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, internal("active batches", err)
		}
		list = append(list, *b)
	}
	return list, internal("active batches", rows.Err())
}

// ClaimBatch makes owner the one that runs a batch until until, unless
// another's claim lasts past now: a claim until now has lapsed, so that a
// serve giving a batch up (a claim until now) leaves it to the next at once.
func (db *DB) ClaimBatch(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	res, err := db.ws.ExecContext(ctx, `UPDATE batches SET owner = ?, lease_until = ?
		WHERE id = ? AND (owner = ? OR lease_until <= ?)`, owner, nanos(until.UTC()), id, owner, nanos(now.UTC()))
	if err != nil {
		return false, internal("claim batch", err)
	}
	n, err := res.RowsAffected()
	return n == 1, internal("claim batch", err)
}

// PendingRequests returns up to limit requests without a result, in order.
func (db *DB) PendingRequests(ctx context.Context, batchID string, limit int) ([]claudebridge.BatchRequest, error) {
	rows, err := db.rs.QueryContext(ctx, `SELECT r.custom_id, r.params FROM batch_requests r JOIN batches b ON b.seq = r.batch_seq
		WHERE b.id = ? AND r.result_type = '' ORDER BY r.n LIMIT ?`, batchID, limit)
	if err != nil {
		return nil, internal("pending requests", err)
	}
	defer rows.Close()
	var list []claudebridge.BatchRequest
	for rows.Next() {
		var r claudebridge.BatchRequest
		if err := rows.Scan(&r.CustomID, &r.Params); err != nil {
			return nil, internal("pending requests", err)
		}
		list = append(list, r)
	}
	return list, internal("pending requests", rows.Err())
}

// countColumn is the batches column that counts results of type t.
func countColumn(t string) (string, error) {
	switch t {
	case claudebridge.ResultSucceeded, claudebridge.ResultErrored, claudebridge.ResultCanceled, claudebridge.ResultExpired:
		return t, nil
	}
	return "", claudebridge.Errorf(claudebridge.EINTERNAL, "no result type %q", t)
}

// AddBatchResult stores r in its request's row and counts it, unless the
// request has a result already.
func (db *DB) AddBatchResult(ctx context.Context, batchID string, r claudebridge.BatchResult) error {
	col, err := countColumn(r.Type)
	if err != nil {
		return err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("add batch result", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE batch_requests SET result_type = ?, result = ?, params = x''
		WHERE batch_seq = (SELECT seq FROM batches WHERE id = ?) AND custom_id = ? AND result_type = ''`,
		r.Type, []byte(r.Line), batchID, r.CustomID)
	if err != nil {
		return internal("add batch result", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return internal("add batch result", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE batches SET `+col+` = `+col+` + 1 WHERE id = ?`, batchID); err != nil {
		return internal("add batch result", err)
	}
	return internal("add batch result", tx.Commit())
}

// EndBatch gives the requests left a result of type rest and ends the batch.
func (db *DB) EndBatch(ctx context.Context, batchID, rest string, at time.Time) error {
	col, err := countColumn(rest)
	if err != nil {
		return err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return internal("end batch", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE batch_requests
		SET result_type = ?1, result = json_object('custom_id', custom_id, 'result', json_object('type', ?1)), params = x''
		WHERE batch_seq = (SELECT seq FROM batches WHERE id = ?2) AND result_type = ''`, rest, batchID)
	if err != nil {
		return internal("end batch", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return internal("end batch", err)
	}
	res, err = tx.ExecContext(ctx, `UPDATE batches SET `+col+` = `+col+` + ?, status = ?, ended_at = ? WHERE id = ?`,
		n, claudebridge.BatchEnded, nanos(at.UTC()), batchID)
	if err := affected(res, err, "message batch "+batchID); err != nil {
		return err
	}
	return internal("end batch", tx.Commit())
}

// ArchiveBatches removes the requests and results of the ended batches
// made before createdBefore.
func (db *DB) ArchiveBatches(ctx context.Context, createdBefore, at time.Time) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, internal("archive batches", err)
	}
	defer tx.Rollback()
	const old = `SELECT seq FROM batches WHERE status = ? AND archived_at = 0 AND created_at < ?`
	if _, err := tx.ExecContext(ctx, `DELETE FROM batch_requests WHERE batch_seq IN (`+old+`)`,
		claudebridge.BatchEnded, nanos(createdBefore.UTC())); err != nil {
		return 0, internal("archive batches", err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE batches SET archived_at = ? WHERE seq IN (`+old+`)`,
		nanos(at.UTC()), claudebridge.BatchEnded, nanos(createdBefore.UTC()))
	if err != nil {
		return 0, internal("archive batches", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, internal("archive batches", err)
	}
	return int(n), internal("archive batches", tx.Commit())
}

// BatchResults hands each result line of a batch to each, in request order.
func (db *DB) BatchResults(ctx context.Context, batchID string, each func(line []byte) error) error {
	rows, err := db.rs.QueryContext(ctx, `SELECT r.result FROM batch_requests r JOIN batches b ON b.seq = r.batch_seq
		WHERE b.id = ? AND r.result_type != '' ORDER BY r.n`, batchID)
	if err != nil {
		return internal("batch results", err)
	}
	defer rows.Close()
	var line []byte
	for rows.Next() {
		if err := rows.Scan(&line); err != nil {
			return internal("batch results", err)
		}
		if err := each(line); err != nil {
			return err
		}
	}
	return internal("batch results", rows.Err())
}
