package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmts keeps every statement prepared once per pool: SQLite's parser was
// a tenth of a chat turn's CPU when each call prepared its query anew.
type stmts struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt
}

func (s *stmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (s *stmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (s *stmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext may not fail on its own: a preparation error comes back
// through Scan, as database/sql's own QueryRowContext does it.
func (s *stmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.get(ctx, query)
	if err != nil {
		return s.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// begin prepares the statements a transaction will run, then begins it
// on s's pool: prepared inside, they would wait for the connection the
// transaction holds (the writer's pool has one).
func (s *stmts) begin(ctx context.Context, queries ...string) (*sql.Tx, txStmts, error) {
	for _, q := range queries {
		if _, err := s.get(ctx, q); err != nil {
			return nil, txStmts{}, err
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	return tx, txStmts{s, tx}, err
}

// txStmts runs a pool's prepared statements in one of its transactions;
// a query begin was not given is prepared anew each time.
type txStmts struct {
	s  *stmts
	tx *sql.Tx
}

func (t txStmts) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := t.s.m.Load(query); ok {
		return t.tx.StmtContext(ctx, st.(*sql.Stmt)), nil
	}
	return t.tx.PrepareContext(ctx, query)
}

func (t txStmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t txStmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// close releases the prepared statements.
func (s *stmts) close() {
	s.m.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
}
