// Package logs keeps the request log (one row per client request, with the upstream attempts behind it),
// the error log (one row per failed attempt or refused request), and pre-aggregated counters that the
// statistics read instead of the logs: requests per minute and per hour, attempts per key and hour,
// requests and tokens per day, key, model and client token.
//
// The Writer takes finished requests off the hot path through a bounded buffer and writes them in
// batches, one transaction per batch; when the database is slow or down it drops entries and counts
// them rather than ever making a request wait. Keys appear only masked and by id, client tokens only by
// id; every stored text passes through a secret.Scrubber first.
//
// Tables t_request_log and t_error_logs keep Gemini Balance's names and columns (adding gemgate's), so a
// database it left behind is adopted; the gg_* counter tables are gemgate's own. All SQL is written with
// ? placeholders, which the store rebinds, and works on SQLite, MySQL/MariaDB and PostgreSQL.
package logs

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/gemgate/gemgate/internal/store"
)

// Store reads and writes the log and counter tables.
type Store struct {
	st *store.Store
	// trace, when set, sees every read query: tests check their plans use indexes.
	trace func(query string, args []any)
	// evicted is the last trim that removed rows (LOG_MAX_ROWS), for the logs page's warning.
	evicted atomic.Pointer[Eviction]
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s.traced(q, args)
	return s.st.Query(ctx, q, args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	s.traced(q, args)
	return s.st.QueryRow(ctx, q, args...)
}

// all runs a read like query and scans every row; no rows is an empty list, which JSON shows as [].
func all[T any](ctx context.Context, s *Store, scan func(store.Row) (T, error), q string, args ...any) ([]T, error) {
	s.traced(q, args)
	out, err := store.All(ctx, s.st, scan, q, args...)
	if out == nil && err == nil {
		out = []T{}
	}
	return out, err
}

// traced shows the trace the query as the engine gets it.
func (s *Store) traced(q string, args []any) {
	if s.trace != nil {
		s.trace(s.st.Rebind(q), args)
	}
}

// NewStore uses the tables that st's migrations created.
func NewStore(st *store.Store) *Store {
	return &Store{st: st}
}

// Rows per multi-row statement: far below every engine's parameter limit (SQLite 32,766).
const (
	requestRowsPerStmt = 100
	errorRowsPerStmt   = 50
	counterRowsPerStmt = 200
)

var requestColumns = []string{
	"request_time", "model_name", "api_key", "is_success", "status_code", "latency_ms", "request_id", "key_id",
	"token_id", "route", "method", "path", "stream", "attempt_count", "attempts", "error",
	"prompt_tokens", "output_tokens", "thought_tokens", "cached_tokens",
}

var errorColumns = []string{
	"gemini_key", "model_name", "error_type", "error_log", "error_code", "request_msg", "request_time",
	"request_id", "key_id", "token_id", "route", "error_class", "attempt",
}

// batch is what one flush writes, in one transaction.
type batch struct {
	requests []*requestRow
	errors   []errorRow
	counts   *counters
}

func (s *Store) write(ctx context.Context, b *batch) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := s.insertRequests(ctx, tx, b.requests); err != nil {
			return fmt.Errorf("inserting request logs: %w", err)
		}
		if err := s.insertErrors(ctx, tx, b.errors); err != nil {
			return fmt.Errorf("inserting error logs: %w", err)
		}
		if b.counts != nil {
			if err := s.upsertCounters(ctx, tx, b.counts); err != nil {
				return fmt.Errorf("updating statistics: %w", err)
			}
		}
		return nil
	})
}

// chunks runs the multi-row statement of a batch chunk by chunk. Every chunk but the last has the
// full number of rows, so it is prepared once per transaction instead of once per chunk: parsing a
// statement with thousands of placeholders cost about a tenth of the request log's CPU.
type chunks struct {
	tx   *store.Tx
	full *sql.Stmt
	sql  func(rows int) string
	per  int
}

func (c *chunks) exec(ctx context.Context, rows int, args []any) error {
	if rows < c.per {
		_, err := c.tx.Exec(ctx, c.sql(rows), args...)
		return err
	}
	if c.full == nil {
		st, err := c.tx.Prepare(ctx, c.sql(rows))
		if err != nil {
			return err
		}
		c.full = st
	}
	_, err := c.full.ExecContext(ctx, args...)
	return err
}

func (c *chunks) close() {
	if c.full != nil {
		c.full.Close()
	}
}

func (s *Store) insertRequests(ctx context.Context, tx *store.Tx, rows []*requestRow) error {
	stmt := &chunks{tx: tx, per: requestRowsPerStmt, sql: func(n int) string { return store.InsertRows("t_request_log", requestColumns, n) }}
	defer stmt.close()
	// Rows go in by key: the (key_id, request_time) index takes a batch's rows at random places (a batch
	// spans hundreds or thousands of keys), and in key order they reach its pages one after the other
	// instead of each page many times (16% of the writer's CPU per entry at 1,000 keys). Row ids then
	// follow keys within a batch; only "a later batch has higher ids" holds, which is what trimming the
	// oldest rows (LOG_MAX_ROWS) needs.
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b *requestRow) int { return strings.Compare(a.KeyID, b.KeyID) })
	args := make([]any, 0, requestRowsPerStmt*len(requestColumns))
	var buf []byte
	for start := 0; start < len(rows); start += requestRowsPerStmt {
		part := rows[start:min(start+requestRowsPerStmt, len(rows))]
		args = args[:0]
		for _, r := range part {
			buf = attemptsJSON(buf[:0], r.Attempts)
			attempts := string(buf)
			args = append(args, store.TimeArg(r.Time), store.NullString(r.Model), store.NullString(r.KeyMasked), r.Success, r.Status, r.LatencyMS,
				r.RequestID, store.NullString(r.KeyID), store.NullString(r.TokenID), r.Route, r.Method, r.Path, r.Stream, len(r.Attempts),
				attempts, store.NullString(r.Error), r.Usage.Prompt, r.Usage.Output, r.Usage.Thoughts, r.Usage.Cached)
		}
		if err := stmt.exec(ctx, len(part), args); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) insertErrors(ctx context.Context, tx *store.Tx, rows []errorRow) error {
	stmt := &chunks{tx: tx, per: errorRowsPerStmt, sql: func(n int) string { return store.InsertRows("t_error_logs", errorColumns, n) }}
	defer stmt.close()
	args := make([]any, 0, errorRowsPerStmt*len(errorColumns))
	for start := 0; start < len(rows); start += errorRowsPerStmt {
		part := rows[start:min(start+errorRowsPerStmt, len(rows))]
		args = args[:0]
		for _, r := range part {
			args = append(args, store.NullString(r.KeyMasked), store.NullString(r.Model), r.Type, r.Log, store.NullInt(r.Code), store.NullString(r.RequestMsg),
				store.TimeArg(r.Time), r.RequestID, store.NullString(r.KeyID), store.NullString(r.TokenID), r.Route, r.Class, store.NullInt(r.Attempt))
		}
		if err := stmt.exec(ctx, len(part), args); err != nil {
			return err
		}
	}
	return nil
}

// upsertSQL adds to existing counters: sums for the add columns, the latest value for the set columns.
func (s *Store) upsertSQL(table string, keys, add, set []string, rows int) string {
	cols := append(append(append([]string{}, keys...), set...), add...)
	return s.st.Dialect().Upsert(table, cols, rows, keys, set, add)
}

var (
	reqKeyCols   = []string{"bucket", "route", "model", "status_code"}
	reqAddCols   = []string{"requests", "attempts", "latency_ms", "refused"}
	keyKeyCols   = []string{"bucket", "key_id", "model", "status_code"}
	keyAddCols   = []string{"attempts", "latency_ms"}
	tokenKeyCols = []string{"day", "key_id", "model", "token_id"}
	tokenAddCols = []string{"requests", "prompt_tokens", "output_tokens", "thought_tokens", "cached_tokens"}
	maskedCol    = []string{"key_masked"}
)

func (s *Store) upsertCounters(ctx context.Context, tx *store.Tx, c *counters) error {
	for _, t := range []struct {
		table string
		m     map[reqKey]reqCount
	}{{"gg_stats_minute", c.minute}, {"gg_stats_hour", c.hour}} {
		keys := sortedKeys(t.m, cmpReq)
		err := s.upsertChunks(ctx, tx, len(keys), func(n int) string {
			return s.upsertSQL(t.table, reqKeyCols, reqAddCols, nil, n)
		}, func(i int, args []any) []any {
			k, v := keys[i], t.m[keys[i]]
			return append(args, k.Bucket, k.Route, k.Model, k.Status, v.Requests, v.Attempts, v.LatencyMS, v.Refused)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", t.table, err)
		}
	}
	kk := sortedKeys(c.keys, cmpKey)
	err := s.upsertChunks(ctx, tx, len(kk), func(n int) string {
		return s.upsertSQL("gg_key_stats_hour", keyKeyCols, keyAddCols, maskedCol, n)
	}, func(i int, args []any) []any {
		k, v := kk[i], c.keys[kk[i]]
		return append(args, k.Bucket, k.KeyID, k.Model, k.Status, v.Masked, v.Attempts, v.LatencyMS)
	})
	if err != nil {
		return fmt.Errorf("gg_key_stats_hour: %w", err)
	}
	tk := sortedKeys(c.tokens, cmpToken)
	err = s.upsertChunks(ctx, tx, len(tk), func(n int) string {
		return s.upsertSQL("gg_token_daily", tokenKeyCols, tokenAddCols, maskedCol, n)
	}, func(i int, args []any) []any {
		k, v := tk[i], c.tokens[tk[i]]
		return append(args, k.Day, k.KeyID, k.Model, k.TokenID, v.Masked, v.Requests, v.Prompt, v.Output, v.Thought, v.Cached)
	})
	if err != nil {
		return fmt.Errorf("gg_token_daily: %w", err)
	}
	return nil
}

// upsertChunks runs the statement for n rows in chunks of counterRowsPerStmt.
func (s *Store) upsertChunks(ctx context.Context, tx *store.Tx, n int, stmt func(rows int) string, row func(i int, args []any) []any) error {
	c := &chunks{tx: tx, per: counterRowsPerStmt, sql: stmt}
	defer c.close()
	var args []any
	for start := 0; start < n; start += counterRowsPerStmt {
		end := min(start+counterRowsPerStmt, n)
		args = args[:0]
		for i := start; i < end; i++ {
			args = row(i, args)
		}
		if err := c.exec(ctx, end-start, args); err != nil {
			return err
		}
	}
	return nil
}
