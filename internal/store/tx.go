package store

import (
	"context"
	"database/sql"
	"strings"
	"unicode/utf8"
)

// conn is what the pool and a transaction have in common.
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// runner runs SQL written with ? placeholders, rebound for the dialect, so that no package that keeps
// its own tables carries a dialect around.
type runner struct {
	c       conn
	dialect Dialect
}

// Exec runs a statement written with ? placeholders.
func (r runner) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.c.ExecContext(ctx, rebind(r.dialect, query), args...)
}

// Query runs a query written with ? placeholders.
func (r runner) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.c.QueryContext(ctx, rebind(r.dialect, query), args...)
}

// QueryRow runs a query written with ? placeholders that returns at most one row.
func (r runner) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return r.c.QueryRowContext(ctx, rebind(r.dialect, query), args...)
}

// Tx is a transaction of InTx: the same Exec, Query and QueryRow as the Store.
type Tx struct {
	runner
	tx *sql.Tx
}

// Prepare prepares a statement written with ? placeholders for repeated use inside the transaction.
func (t *Tx) Prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, rebind(t.dialect, query))
}

// InTx runs fn in a transaction, again from the start (up to a few times) when the engine aborted it
// for a deadlock or a lock timeout, for packages that keep their own tables in the database.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return fn(&Tx{runner: runner{tx, s.dialect}, tx: tx}) })
}

// Placeholders returns "?, ?, ?" for n values.
func Placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// NullString stores "" as NULL.
func NullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// NullInt stores 0 as NULL.
func NullInt(n int) any {
	if n == 0 {
		return nil
	}
	return int64(n)
}

// Clip makes text storable on every engine (valid UTF-8, no NUL, which PostgreSQL refuses) and at most
// max characters long.
func Clip(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if len(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	return s
}

// Row is what scans one row: *sql.Row or *sql.Rows.
type Row interface{ Scan(dest ...any) error }

// All runs a query written with ? placeholders and scans each row it returns with scan.
func All[T any](ctx context.Context, st *Store, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := st.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
