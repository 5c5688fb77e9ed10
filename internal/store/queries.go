package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// queries holds the statements that differ between dialects, built once per Store.
type queries struct {
	createMigrations string
	countMigration   string
	recordMigration  string

	keyColumn     string // "key" is reserved in MySQL
	loadSettings  string
	upsertSetting string

	loadKeys       string
	upsertKeysFull string // keyBatch rows, prepared once per SaveKeyStates
}

var keyColumns = []string{
	"api_key", "failure_count", "last_error", "last_error_code", "last_error_at", "last_used_at",
	"disabled", "disabled_reason", "cooldowns", "tags", "weight", "project", "created_at", "updated_at",
}

// keyBatch rows per statement: 5,000 parameters stay far below every engine's limit (SQLite 32,766,
// MySQL and PostgreSQL 65,535) and the row data far below MySQL's max_allowed_packet.
const keyBatch = 500

// inBatch bounds the values of one IN (...) list.
const inBatch = 500

func buildQueries(d Dialect) queries {
	q := queries{keyColumn: `"key"`}
	switch d {
	case SQLite:
		q.createMigrations = `CREATE TABLE IF NOT EXISTS gg_schema_migrations (
	version INTEGER NOT NULL PRIMARY KEY,
	name VARCHAR(255) NOT NULL,
	applied_at TIMESTAMP NOT NULL
)`
	case MySQL:
		q.keyColumn = "`key`"
		q.createMigrations = `CREATE TABLE IF NOT EXISTS gg_schema_migrations (
	version INT NOT NULL PRIMARY KEY,
	name VARCHAR(255) NOT NULL,
	applied_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`
	case Postgres:
		q.createMigrations = `CREATE TABLE IF NOT EXISTS gg_schema_migrations (
	version INTEGER NOT NULL PRIMARY KEY,
	name VARCHAR(255) NOT NULL,
	applied_at TIMESTAMPTZ NOT NULL
)`
	}
	q.countMigration = rebind(d, "SELECT COUNT(*) FROM gg_schema_migrations WHERE version = ?")
	q.recordMigration = rebind(d, "INSERT INTO gg_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")

	q.loadSettings = "SELECT " + q.keyColumn + ", value FROM t_settings"
	// An existing row keeps its description and created_at: Gemini Balance wrote its own descriptions.
	q.upsertSetting = rebind(d, d.Upsert("t_settings", []string{q.keyColumn, "value", "description", "created_at", "updated_at"}, 1,
		[]string{q.keyColumn}, []string{"value", "updated_at"}, nil))

	q.loadKeys = "SELECT api_key, failure_count, last_error, last_error_code, last_error_at, last_used_at, " +
		"disabled, disabled_reason, cooldowns, tags, weight, project, updated_at FROM t_api_keys ORDER BY id"
	q.upsertKeysFull = upsertKeys(d, keyBatch)
	return q
}

// keyUpdates are the key columns an upsert overwrites: all but the conflict key and created_at.
var keyUpdates = slices.DeleteFunc(slices.Clone(keyColumns), func(c string) bool { return c == "api_key" || c == "created_at" })

// upsertKeys is a multi-row upsert of n key states; created_at is left alone on update.
func upsertKeys(d Dialect, n int) string {
	return rebind(d, d.Upsert("t_api_keys", keyColumns, n, []string{"api_key"}, keyUpdates, nil))
}

// InsertRows is a multi-row INSERT of rows rows into cols of table, with ? placeholders.
func InsertRows(table string, cols []string, rows int) string {
	row := "(" + Placeholders(len(cols)) + ")"
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// Upsert is InsertRows that, where a row with the same key columns exists, updates it instead: each set
// column takes the new value, each add column adds it to its own; other columns keep theirs.
func (d Dialect) Upsert(table string, cols []string, rows int, key, set, add []string) string {
	var assign []string
	if d == MySQL {
		for _, c := range set {
			assign = append(assign, c+" = VALUES("+c+")")
		}
		for _, c := range add {
			assign = append(assign, c+" = "+c+" + VALUES("+c+")")
		}
		return InsertRows(table, cols, rows) + " ON DUPLICATE KEY UPDATE " + strings.Join(assign, ", ")
	}
	for _, c := range set {
		assign = append(assign, c+" = excluded."+c)
	}
	for _, c := range add {
		assign = append(assign, c+" = "+table+"."+c+" + excluded."+c)
	}
	return InsertRows(table, cols, rows) + " ON CONFLICT (" + strings.Join(key, ", ") + ") DO UPDATE SET " + strings.Join(assign, ", ")
}

// deleteIn deletes the rows whose column is in values, inBatch values per statement, inside tx.
func (s *Store) deleteIn(ctx context.Context, tx *sql.Tx, table, column string, values []string) error {
	args := make([]any, 0, min(len(values), inBatch))
	for start := 0; start < len(values); start += inBatch {
		part := values[start:min(start+inBatch, len(values))]
		args = args[:0]
		for _, v := range part {
			args = append(args, v)
		}
		q := s.Rebind("DELETE FROM " + table + " WHERE " + column + " IN (" + Placeholders(len(part)) + ")")
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// txAttempts bounds the retries of a transaction that lost a deadlock or a lock wait.
const txAttempts = 5

// inTx runs fn in a transaction, again from the start when the engine aborted it for a deadlock or a
// lock timeout: concurrent upserts of overlapping keys can deadlock on MySQL and PostgreSQL, and the
// loser's work is still wanted.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || attempt == txAttempts || !transient(err) {
			return err
		}
		wait := time.Duration(attempt*attempt)*20*time.Millisecond + rand.N(20*time.Millisecond)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// now is the store's clock: UTC at the microsecond, the finest precision MySQL and PostgreSQL keep,
// so a value reads back as it was written on every engine.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// TimeArg is a time as a query argument: UTC at the microsecond, NULL when zero.
func TimeArg(t time.Time) any { return timeArg(t) }

func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Time reads a nullable time column from any of the drivers: time.Time from MySQL (parseTime) and
// PostgreSQL, text or time.Time from SQLite depending on the column's declared type. Rows Gemini Balance
// wrote hold naive times; they read as UTC. Other packages scan their time columns with it.
type Time struct{ T time.Time }

// dbTime is the package's short name for Time.
type dbTime = Time

var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// Scan implements sql.Scanner.
func (d *Time) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.T = time.Time{}
	case time.Time:
		d.T = x.UTC()
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	default:
		return fmt.Errorf("cannot read %T as a time", v)
	}
	return nil
}

func (d *Time) parse(s string) error {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			d.T = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("cannot read %q as a time", s)
}
