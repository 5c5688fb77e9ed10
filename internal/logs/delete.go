package logs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gemgate/gemgate/internal/store"
)

// deleteBatch rows go per DELETE: short transactions, so that the writer (and, on SQLite, every other
// writer of the file) waits milliseconds, not minutes, while millions of old rows go.
const deleteBatch = 5000

// deletePause lets other writers in between two batches.
const deletePause = 5 * time.Millisecond

// The log tables.
const (
	RequestTable = "t_request_log"
	ErrorTable   = "t_error_logs"
)

// DeleteIDs deletes the rows of table (RequestTable or ErrorTable) with the given ids and returns how
// many there were.
func (s *Store) DeleteIDs(ctx context.Context, table string, ids []int64) (int64, error) {
	if err := checkTable(table); err != nil {
		return 0, err
	}
	var total int64
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(start+500, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		res, err := s.st.Exec(ctx, "DELETE FROM "+table+" WHERE id IN ("+store.Placeholders(len(part))+")", args...)
		if err != nil {
			return total, fmt.Errorf("deleting from %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// DeleteBefore deletes the rows of table older than cutoff, in batches.
func (s *Store) DeleteBefore(ctx context.Context, table string, cutoff time.Time) (int64, error) {
	if err := checkTable(table); err != nil {
		return 0, err
	}
	return s.deleteBatched(ctx, table, "request_time < ?", store.TimeArg(cutoff))
}

// DeleteAll empties table, in batches.
func (s *Store) DeleteAll(ctx context.Context, table string) (int64, error) {
	if err := checkTable(table); err != nil {
		return 0, err
	}
	return s.deleteBatched(ctx, table, "1 = 1")
}

func checkTable(table string) error {
	if table != RequestTable && table != ErrorTable {
		return fmt.Errorf("logs: %q is not a log table", table)
	}
	return nil
}

func (s *Store) deleteBatched(ctx context.Context, table, cond string, args ...any) (int64, error) {
	var q string
	if s.st.Dialect() == store.MySQL {
		// MySQL cannot take LIMIT in an IN (subquery), but DELETE itself takes one.
		q = fmt.Sprintf("DELETE FROM %s WHERE %s LIMIT %d", table, cond, deleteBatch)
	} else {
		q = fmt.Sprintf("DELETE FROM %s WHERE id IN (SELECT id FROM %s WHERE %s LIMIT %d)", table, table, cond, deleteBatch)
	}
	var total int64
	for {
		res, err := s.st.Exec(ctx, q, args...)
		if err != nil {
			return total, fmt.Errorf("deleting from %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < deleteBatch {
			return total, nil
		}
		select {
		case <-ctx.Done():
			return total, fmt.Errorf("deleting from %s: %w", table, ctx.Err())
		case <-time.After(deletePause):
		}
	}
}

// Retention of the counters: per-minute rows feed the last 24 hours, per-key hourly rows the last week.
const (
	minuteRetention = 48 * time.Hour
	keyRetention    = 8 * 24 * time.Hour
)

// PruneStats deletes counters that no statistic reads any more: per-minute rows after two days, per-key
// hourly rows after eight, hourly and daily rows after keep (STATS_RETENTION_DAYS).
func (s *Store) PruneStats(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	var total int64
	for _, t := range []struct {
		table, col string
		keep       time.Duration
	}{
		{"gg_stats_minute", "bucket", minuteRetention},
		{"gg_key_stats_hour", "bucket", keyRetention},
		{"gg_stats_hour", "bucket", keep},
		{"gg_token_daily", "day", keep},
	} {
		n, err := s.pruneCounter(ctx, t.table, t.col, now.Add(-t.keep).Unix())
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// pruneCounter deletes a counter table's rows before cutoff one day of buckets at a time: the counter
// tables have no single-column id to batch on, and a day of buckets is a bounded number of rows.
func (s *Store) pruneCounter(ctx context.Context, table, col string, cutoff int64) (int64, error) {
	var oldest *int64
	if err := s.queryRow(ctx, "SELECT MIN("+col+") FROM "+table).Scan(&oldest); err != nil {
		return 0, fmt.Errorf("pruning %s: %w", table, err)
	}
	var total int64
	q := "DELETE FROM " + table + " WHERE " + col + " < ?"
	for from := ptrOr(oldest, cutoff); from < cutoff; {
		from = min(from+daySecs, cutoff)
		res, err := s.st.Exec(ctx, q, from)
		if err != nil {
			return total, fmt.Errorf("pruning %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

func ptrOr(p *int64, def int64) int64 {
	if p == nil {
		return def
	}
	return *p
}

// Eviction is the last time a log table was brought back within LOG_MAX_ROWS.
type Eviction struct {
	Table string    `json:"table"`
	Rows  int64     `json:"rows"`
	At    time.Time `json:"at"`
}

// TrimTo deletes the oldest rows of table past the newest max, and reports how many went.
func (s *Store) TrimTo(ctx context.Context, table string, max int) (int64, error) {
	if err := checkTable(table); err != nil {
		return 0, err
	}
	var cutoff int64
	err := s.st.QueryRow(ctx, fmt.Sprintf("SELECT id FROM %s ORDER BY id DESC LIMIT 1 OFFSET ?", table), max).Scan(&cutoff)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("measuring %s: %w", table, err)
	}
	n, err := s.deleteBatched(ctx, table, "id <= ?", cutoff)
	if n > 0 {
		s.evicted.Store(&Eviction{Table: table, Rows: n, At: time.Now().UTC()})
	}
	return n, err
}

// LastEviction is the last trim that removed rows since start, or nil.
func (s *Store) LastEviction() *Eviction { return s.evicted.Load() }
