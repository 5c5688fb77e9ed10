package importer

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/store"
)

// adoptedSource is the gg_imports source of the database gemgate runs on. Migration 0008 writes its
// "settings" item when it finds settings that predate gemgate.
const adoptedSource = "adopted"

// windowRows is how many log rows one pass reads and rewrites, in one transaction: large enough to be
// quick, small enough that a writer waiting on a SQLite database is not held up for long.
const windowRows = 5000

// idsPerStatement keeps IN lists far below every engine's parameter limit.
const idsPerStatement = 500

// logTable is one of Gemini Balance's log tables: keyCol held the full key, textCol may quote it;
// requests are counted into the statistics.
type logTable struct {
	name, keyCol, textCol string
	requests              bool
}

var logTables = []logTable{
	{name: "t_request_log", keyCol: "api_key", requests: true},
	{name: "t_error_logs", keyCol: "gemini_key", textCol: "error_log"},
}

// Adopt finishes taking over a Gemini Balance database that gemgate opened in place; it runs at every
// start, after the migrations. Log rows Gemini Balance wrote get the masked key and the key's id (even
// rows it writes later, when both ran side by side for a while). The first time, it returns what was
// adopted, for a one-line report; afterwards, and on databases that never were Gemini Balance's, nil.
//
// Each row is adopted once, in one transaction: its time is converted from h.Zone (Gemini Balance wrote
// naive local times) and its request counted into the statistics (h.Count), so the charts cover the
// history the logs show.
func Adopt(ctx context.Context, st *store.Store, h History) (*Summary, error) {
	keys, settings, err := storedSecrets(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("reading the configured keys: %w", err)
	}
	ix := newKeyIndex(keys)
	for _, t := range logTables {
		if err := scrub(ctx, st, t, ix, h); err != nil {
			return nil, fmt.Errorf("masking the keys in %s: %w", t.name, err)
		}
	}
	return report(ctx, st, settings)
}

type keyedRow struct {
	id      int64
	key     sql.NullString
	at      store.Time
	model   sql.NullString
	status  sql.NullInt64
	latency sql.NullInt64
}

// scrub resolves the key column of every Gemini Balance row not yet linked to a key id. Each row gets a
// key_id ("" when its key is unknown), so that the next start finds nothing to do.
func scrub(ctx context.Context, st *store.Store, t logTable, ix *keyIndex, h History) error {
	var last int64
	for {
		rows, err := unresolved(ctx, st, t, last)
		if err != nil || len(rows) == 0 {
			return err
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return resolveRows(ctx, st, tx, t, ix, h, rows) }); err != nil {
			return err
		}
		last = rows[len(rows)-1].id
	}
}

func unresolved(ctx context.Context, st *store.Store, t logTable, after int64) ([]keyedRow, error) {
	cols := "id, " + t.keyCol + ", request_time"
	if t.requests {
		cols += ", model_name, status_code, latency_ms"
	}
	q := fmt.Sprintf("SELECT %s FROM %s WHERE key_id IS NULL AND request_id IS NULL AND id > ? ORDER BY id LIMIT %d",
		cols, t.name, windowRows)
	rows, err := st.Query(ctx, q, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyedRow
	for rows.Next() {
		var r keyedRow
		dest := []any{&r.id, &r.key, &r.at}
		if t.requests {
			dest = append(dest, &r.model, &r.status, &r.latency)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// rowGroup is the rows of one window that take the same update: the same key, the same time shift.
type rowGroup struct {
	key   string
	shift int // seconds to add to the naive time to make it UTC
}

// resolveRows updates rows grouped by key value and time shift, so that a window costs one statement
// per key rather than one per row, and counts the requests among them.
func resolveRows(ctx context.Context, st *store.Store, tx *store.Tx, t logTable, ix *keyIndex, h History, rows []keyedRow) error {
	groups := map[rowGroup][]int64{}
	var order []rowGroup
	var counted []*reqlog.Entry
	for _, r := range rows {
		at := h.utc(r.at.T)
		g := rowGroup{key: r.key.String, shift: int(at.Sub(r.at.T) / time.Second)}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r.id)
		if t.requests && h.Count != nil && !r.at.T.IsZero() {
			ref, _ := ix.resolve(r.key.String)
			counted = append(counted, entry(at, r.model.String, int(r.status.Int64), r.latency.Int64, ref))
		}
	}
	for _, g := range order {
		v := g.key
		ref, full := ix.resolve(v)
		sets, args := []string{"key_id = ?"}, []any{ref.id}
		if g.shift != 0 {
			sets = append(sets, "request_time = "+shiftExpr(st.Dialect()))
			args = append(args, shiftArg(st.Dialect(), g.shift))
		}
		if full {
			sets = append(sets, t.keyCol+" = ?")
			args = append(args, ref.masked)
			if t.textCol != "" {
				// The parameter, not the column, names the key: the statement reads the same on every
				// engine whatever order it assigns columns in.
				sets = append([]string{t.textCol + " = REPLACE(" + t.textCol + ", ?, ?)"}, sets...)
				args = append([]any{v, ref.masked}, args...)
			}
		}
		ids := groups[g]
		for start := 0; start < len(ids); start += idsPerStatement {
			chunk := ids[start:min(start+idsPerStatement, len(ids))]
			q := fmt.Sprintf("UPDATE %s SET %s WHERE key_id IS NULL AND id IN %s", t.name, strings.Join(sets, ", "), "("+store.Placeholders(len(chunk))+")")
			all := append([]any{}, args...)
			for _, id := range chunk {
				all = append(all, id)
			}
			if _, err := tx.Exec(ctx, q, all...); err != nil {
				return err
			}
		}
	}
	if len(counted) > 0 {
		return h.Count(ctx, tx, counted)
	}
	return nil
}

// shiftExpr moves request_time by a number of seconds (shiftArg), in the engine's own date arithmetic.
func shiftExpr(d store.Dialect) string {
	switch d {
	case store.MySQL:
		return "DATE_ADD(request_time, INTERVAL ? SECOND)"
	case store.Postgres:
		return "request_time + make_interval(secs => ?)"
	}
	return "strftime('%Y-%m-%d %H:%M:%f', request_time, ?)"
}

func shiftArg(d store.Dialect, secs int) any {
	switch d {
	case store.MySQL:
		return secs
	case store.Postgres:
		return float64(secs)
	}
	return fmt.Sprintf("%+d seconds", secs)
}

// report returns the adoption summary once: when migration 0008 found settings that predate gemgate and
// no start has reported them yet.
func report(ctx context.Context, st *store.Store, settings map[string]string) (*Summary, error) {
	items, err := importItems(ctx, st, adoptedSource)
	if err != nil {
		return nil, err
	}
	found, pending := items["settings"]
	if _, done := items["reported"]; !pending || done {
		return nil, nil
	}
	s := &Summary{
		Settings: int(found),
		Keys:     len(listSetting(settings, config.APIKeys.Def())),
		Tokens:   len(listSetting(settings, config.AllowedTokens.Def())),
	}
	for _, c := range []struct {
		n     *int
		query string
	}{
		{&s.ErrorLogs, "SELECT COUNT(*) FROM t_error_logs WHERE request_id IS NULL"},
		{&s.RequestLogs, "SELECT COUNT(*) FROM t_request_log WHERE request_id IS NULL"},
		{&s.Files, "SELECT COUNT(*) FROM t_file_records"},
	} {
		if err := st.QueryRow(ctx, c.query).Scan(c.n); err != nil {
			return nil, err
		}
	}
	first, err := markReported(ctx, st)
	if err != nil || !first {
		return nil, err
	}
	return s, nil
}

// markReported records the report; false means another instance starting at the same time got there
// first and reports it instead.
func markReported(ctx context.Context, st *store.Store) (bool, error) {
	q := insertIgnore(st.Dialect(), "INSERT INTO gg_imports (source, item, value) VALUES (?, ?, ?)")
	res, err := st.Exec(ctx, q, adoptedSource, "reported", time.Now().Unix())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// importItems returns the gg_imports items of source.
func importItems(ctx context.Context, st *store.Store, source string) (map[string]int64, error) {
	rows, err := st.Query(ctx, "SELECT item, value FROM gg_imports WHERE source = ?", source)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var item string
		var v int64
		if err := rows.Scan(&item, &v); err != nil {
			return nil, err
		}
		out[item] = v
	}
	return out, rows.Err()
}

// insertIgnore turns "INSERT INTO ..." into the dialect's insert that skips rows whose key exists.
func insertIgnore(d store.Dialect, insert string) string {
	switch d {
	case store.MySQL:
		return strings.Replace(insert, "INSERT INTO", "INSERT IGNORE INTO", 1)
	case store.Postgres:
		return insert + " ON CONFLICT DO NOTHING"
	}
	return strings.Replace(insert, "INSERT INTO", "INSERT OR IGNORE INTO", 1)
}
