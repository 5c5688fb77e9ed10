package importer

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // registers the "sqlite" driver for source files

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
)

// copyRows is how many rows one insert statement (and one transaction) copies.
const copyRows = 200

// Source is a Gemini Balance database to import from. It is only ever read.
type Source struct {
	db      *sql.DB
	dialect store.Dialect
	// Name identifies the database in messages and in gg_imports, without its password.
	Name string
}

// OpenSource opens spec read-only: a SQLite file (a bare name is also looked up under data/, as Gemini
// Balance placed it), a go-sql-driver DSN such as user:pass@tcp(host:3306)/db, or mysql://user:pass@host/db.
func OpenSource(ctx context.Context, spec string) (*Source, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("no source database given")
	}
	var (
		src *Source
		err error
	)
	switch path, isFile := sqliteFile(spec); {
	case isFile:
		src, err = openSQLiteSource(path)
	case strings.HasPrefix(spec, "mysql://") || strings.Contains(spec, "@"):
		src, err = openMySQLSource(spec)
	default:
		return nil, fmt.Errorf("%s: no such SQLite file, and not a MySQL DSN (user:pass@tcp(host:3306)/db)", spec)
	}
	if err != nil {
		return nil, err
	}
	if err := src.check(ctx); err != nil {
		src.Close()
		return nil, err
	}
	return src, nil
}

// Close closes the source.
func (s *Source) Close() error { return s.db.Close() }

func sqliteFile(spec string) (string, bool) {
	for _, p := range []string{spec, filepath.Join("data", spec)} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			abs, err := filepath.Abs(p)
			if err != nil {
				return p, true
			}
			return abs, true
		}
		if strings.ContainsAny(spec, `/\`) {
			break // a path with folders is taken as given
		}
	}
	return "", false
}

func openSQLiteSource(path string) (*Source, error) {
	// mode=ro: the import must not change Gemini Balance's file, which may still be in use.
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	escaped := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(filepath.ToSlash(path))
	db, err := sql.Open("sqlite", "file:"+escaped+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return &Source{db: db, dialect: store.SQLite, Name: "sqlite:" + path}, nil
}

func openMySQLSource(spec string) (*Source, error) {
	mc, err := parseMySQL(spec)
	if err != nil {
		return nil, err
	}
	if mc.DBName == "" {
		return nil, errors.New("the MySQL DSN names no database (…/dbname)")
	}
	mc.ParseTime = true
	mc.Loc = time.UTC // Gemini Balance's DATETIMEs are naive; they are kept as they read
	mc.Timeout = 10 * time.Second
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("MySQL DSN: %w", err)
	}
	name := fmt.Sprintf("mysql:%s@%s(%s)/%s", mc.User, mc.Net, mc.Addr, mc.DBName)
	return &Source{db: sql.OpenDB(conn), dialect: store.MySQL, Name: name}, nil
}

// parseMySQL reads a go-sql-driver DSN or a mysql:// URL. Its errors never quote the password.
func parseMySQL(spec string) (*mysql.Config, error) {
	if !strings.HasPrefix(spec, "mysql://") {
		mc, err := mysql.ParseDSN(spec)
		if err != nil {
			return nil, errors.New("not a valid MySQL DSN; expected user:pass@tcp(host:3306)/dbname")
		}
		return mc, nil
	}
	u, err := url.Parse(spec)
	if err != nil || u.Host == "" {
		return nil, errors.New("not a valid mysql:// URL; expected mysql://user:pass@host:3306/dbname")
	}
	mc := mysql.NewConfig()
	mc.User = u.User.Username()
	mc.Passwd, _ = u.User.Password()
	mc.Net, mc.Addr = "tcp", u.Host
	if u.Port() == "" {
		mc.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	mc.DBName = strings.TrimPrefix(u.Path, "/")
	return mc, nil
}

// check makes sure the source answers and has Gemini Balance's settings table.
func (s *Source) check(ctx context.Context) error {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t_settings").Scan(&n); err != nil {
		return fmt.Errorf("%s is not a Gemini Balance database (reading t_settings: %v)", s.Name, err)
	}
	return nil
}

func (s *Source) hasTable(ctx context.Context, table string) bool {
	rows, err := s.db.QueryContext(ctx, "SELECT * FROM "+table+" WHERE 1 = 0")
	if err != nil {
		return false
	}
	rows.Close()
	return true
}

// Import copies a Gemini Balance database into gemgate's: its settings (stored values overwrite gemgate's,
// the rule that the database wins), then the log rows and file records not copied by an earlier run.
// Keys in the copied logs are masked and linked to key ids, as on adoption.
func Import(ctx context.Context, src *Source, st *store.Store, mgr *config.Manager, h History) (*Summary, error) {
	if err := notSameDatabase(ctx, src, st); err != nil {
		return nil, err
	}
	sum := &Summary{Source: src.Name}
	if err := importSettings(ctx, src, mgr, sum); err != nil {
		return nil, err
	}
	keys, _, err := storedSecrets(ctx, st)
	if err != nil {
		return nil, err
	}
	c := &copier{src: src, st: st, ix: newKeyIndex(keys), scrub: secret.NewScrubber(keys), history: h}
	for _, t := range []struct {
		n    *int
		copy func(context.Context) (int, error)
	}{
		{&sum.ErrorLogs, c.errorLogs},
		{&sum.RequestLogs, c.requestLogs},
		{&sum.Files, c.files},
	} {
		if *t.n, err = t.copy(ctx); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// notSameDatabase refuses to import a database into itself (which adoption handles, and which would copy
// every log row again): a row written to gemgate's database must not be visible in the source.
func notSameDatabase(ctx context.Context, src *Source, st *store.Store) error {
	if !src.hasTable(ctx, "gg_imports") {
		return nil
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	probe := "probe:" + hex.EncodeToString(b)
	if _, err := st.Exec(ctx, "INSERT INTO gg_imports (source, item, value) VALUES (?, 'probe', 0)", probe); err != nil {
		return err
	}
	defer st.Exec(context.WithoutCancel(ctx), "DELETE FROM gg_imports WHERE source = ?", probe)
	var n int
	if err := src.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM gg_imports WHERE source = ?", probe).Scan(&n); err == nil && n > 0 {
		return fmt.Errorf("%s is the database gemgate itself uses; it is adopted in place at start, there is nothing to import", src.Name)
	}
	return nil
}

// importSettings stores every setting gemgate knows; env-only ones (the old database's connection) and
// unknown or unreadable ones are skipped and listed.
func importSettings(ctx context.Context, src *Source, mgr *config.Manager, sum *Summary) error {
	keyCol := `"key"`
	if src.dialect == store.MySQL {
		keyCol = "`key`"
	}
	rows, err := src.db.QueryContext(ctx, "SELECT "+keyCol+", value FROM t_settings")
	if err != nil {
		return fmt.Errorf("reading t_settings: %w", err)
	}
	stored := map[string]string{}
	for rows.Next() {
		var name string
		var value sql.NullString
		if err := rows.Scan(&name, &value); err != nil {
			rows.Close()
			return fmt.Errorf("reading t_settings: %w", err)
		}
		stored[name] = value.String
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading t_settings: %w", err)
	}
	changes := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(stored)) {
		if why := settingProblem(name, stored[name]); why != "" {
			sum.Skipped = append(sum.Skipped, name+" ("+why+")")
			continue
		}
		changes[name] = stored[name]
	}
	authTokenFallback(stored, changes)
	if len(changes) > 0 {
		if err := mgr.Update(ctx, changes); err != nil {
			return fmt.Errorf("storing the imported settings: %w", err)
		}
	}
	sum.Settings = len(changes)
	sum.Keys = len(listSetting(changes, config.APIKeys.Def()))
	sum.Tokens = len(listSetting(changes, config.AllowedTokens.Def()))
	return nil
}

func settingProblem(name, value string) string {
	d, ok := config.Lookup(name)
	switch {
	case !ok:
		return "unknown to gemgate"
	case d.Bootstrap:
		return "env only"
	case name == config.AuthToken.Name() && value == "":
		return "empty"
	}
	if _, err := d.Parse(value); err != nil {
		return "invalid: " + err.Error()
	}
	return ""
}

// authTokenFallback applies Gemini Balance's rule that an empty AUTH_TOKEN is the first allowed token,
// so that the admin logs in to gemgate as they did before.
func authTokenFallback(stored, changes map[string]string) {
	if _, ok := changes[config.AuthToken.Name()]; ok {
		return
	}
	if v, ok := stored[config.AuthToken.Name()]; ok && v != "" {
		return
	}
	if tokens := listSetting(changes, config.AllowedTokens.Def()); len(tokens) > 0 {
		changes[config.AuthToken.Name()] = tokens[0]
	}
}

// copier copies log and file rows from the source, in windows of ids.
type copier struct {
	src     *Source
	st      *store.Store
	ix      *keyIndex
	scrub   *secret.Scrubber
	history History
	counted []*reqlog.Entry // the requests of the window being copied, counted with it
}

// window reads up to copyRows rows of cols from table with id > after; the first column must be id.
func (c *copier) window(ctx context.Context, table string, cols []string, after int64) ([][]any, error) {
	q := fmt.Sprintf("SELECT %s FROM %s WHERE id > ? ORDER BY id LIMIT %d", strings.Join(cols, ", "), table, copyRows)
	rows, err := c.src.db.QueryContext(ctx, q, after)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", table, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("reading %s: %w", table, err)
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// copyTable copies table in windows; conv turns a source row into the target's values (nil skips it).
// Each window is inserted together with the id it reached, so an interrupted import resumes there.
func (c *copier) copyTable(ctx context.Context, table string, cols, outCols []string, ignoreDup bool, conv func([]any) []any) (int, error) {
	if !c.src.hasTable(ctx, table) {
		return 0, nil // an older Gemini Balance, or one that never used the feature
	}
	items, err := importItems(ctx, c.st, c.src.Name)
	if err != nil {
		return 0, err
	}
	last, copied := items[table], 0
	for {
		rows, err := c.window(ctx, table, cols, last)
		if err != nil || len(rows) == 0 {
			return copied, err
		}
		var values [][]any
		for _, r := range rows {
			if v := conv(r); v != nil {
				values = append(values, v)
			}
		}
		last = asInt(rows[len(rows)-1][0])
		err = c.st.InTx(ctx, func(tx *store.Tx) error {
			n, err := c.insert(ctx, tx, table, outCols, values, ignoreDup)
			copied += n
			if err != nil {
				return err
			}
			if len(c.counted) > 0 && c.history.Count != nil {
				if err := c.history.Count(ctx, tx, c.counted); err != nil {
					return err
				}
			}
			return c.saveProgress(ctx, tx, table, last)
		})
		c.counted = c.counted[:0]
		if err != nil {
			return copied, fmt.Errorf("copying %s: %w", table, err)
		}
	}
}

func (c *copier) insert(ctx context.Context, tx *store.Tx, table string, cols []string, values [][]any, ignoreDup bool) (int, error) {
	if len(values) == 0 {
		return 0, nil
	}
	q := store.InsertRows(table, cols, len(values))
	args := make([]any, 0, len(values)*len(cols))
	for _, v := range values {
		args = append(args, v...)
	}
	if ignoreDup {
		q = insertIgnore(c.st.Dialect(), q)
	}
	res, err := tx.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (c *copier) saveProgress(ctx context.Context, tx *store.Tx, table string, last int64) error {
	q := c.st.Dialect().Upsert("gg_imports", []string{"source", "item", "value"}, 1, []string{"source", "item"}, []string{"value"}, nil)
	_, err := tx.Exec(ctx, q, c.src.Name, table, last)
	return err
}

// key resolves a log row's key column; a full key is also masked wherever text quotes it.
func (c *copier) key(v any) (keyRef, bool) {
	s, _ := asString(v)
	return c.ix.resolve(s)
}

func (c *copier) errorLogs(ctx context.Context) (int, error) {
	cols := []string{"id", "gemini_key", "model_name", "error_type", "error_log", "error_code", "request_msg", "request_time"}
	out := []string{"gemini_key", "key_id", "model_name", "error_type", "error_log", "error_code", "request_msg", "request_time"}
	return c.copyTable(ctx, "t_error_logs", cols, out, false, func(r []any) []any {
		ref, _ := c.key(r[1])
		text, ok := asString(r[4])
		var errLog any
		if ok {
			errLog = c.scrub.String(text)
		}
		return []any{nullIfEmpty(ref.masked), ref.id, str(r[2]), str(r[3]), errLog, num(r[5]), jsonText(r[6]), c.time(r[7])}
	})
}

func (c *copier) requestLogs(ctx context.Context) (int, error) {
	cols := []string{"id", "request_time", "model_name", "api_key", "is_success", "status_code", "latency_ms"}
	out := []string{"request_time", "model_name", "api_key", "key_id", "is_success", "status_code", "latency_ms"}
	return c.copyTable(ctx, "t_request_log", cols, out, false, func(r []any) []any {
		ref, _ := c.key(r[3])
		at := c.time(r[1])
		if t, ok := at.(time.Time); ok {
			model, _ := asString(r[2])
			c.counted = append(c.counted, entry(t, model, int(asInt(r[5])), asInt(r[6]), ref))
		}
		return []any{at, str(r[2]), nullIfEmpty(ref.masked), ref.id, asBool(r[4]), num(r[5]), num(r[6])}
	})
}

// files copies file records in the form gemgate writes them: the uploading key as its mask and id (the
// key pool finds the key by id) and the uploading client token as its id, so that the copy holds
// neither in full. Gemini Balance never filled upload_url.
func (c *copier) files(ctx context.Context) (int, error) {
	cols := []string{"id", "name", "display_name", "mime_type", "size_bytes", "sha256_hash", "state", "create_time",
		"update_time", "expiration_time", "uri", "api_key", "user_token", "upload_completed"}
	out := []string{"name", "display_name", "mime_type", "size_bytes", "sha256_hash", "state", "create_time",
		"update_time", "expiration_time", "uri", "api_key", "upload_completed", "key_id", "owner_id"}
	return c.copyTable(ctx, "t_file_records", cols, out, true, func(r []any) []any {
		ref, _ := c.key(r[11])
		var owner any
		if tok, _ := asString(r[12]); tok != "" {
			owner = secret.ID(tok)
		}
		return []any{str(r[1]), str(r[2]), str(r[3]), num(r[4]), str(r[5]), str(r[6]), asTime(r[7]), asTime(r[8]), asTime(r[9]),
			str(r[10]), ref.masked, asTime(r[13]), ref.id, owner}
	})
}

// Values read into any come as []byte from MySQL and as string, int64 or time.Time from SQLite.

func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	case nil:
		return "", false
	}
	return fmt.Sprint(v), true
}

// str keeps NULL as NULL and turns bytes into text, which PostgreSQL needs for VARCHAR columns.
func str(v any) any {
	if s, ok := asString(v); ok {
		return s
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// jsonText keeps a JSON column's text; an empty one becomes NULL, which every engine's JSON type accepts.
func jsonText(v any) any {
	s, ok := asString(v)
	if !ok || strings.TrimSpace(s) == "" {
		return nil
	}
	return s
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case []byte:
		n, _ := strconv.ParseInt(string(x), 10, 64)
		return n
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// num keeps NULL as NULL; MySQL may hand numbers over as text.
func num(v any) any {
	if v == nil {
		return nil
	}
	return asInt(v)
}

func asBool(v any) any {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	}
	s, _ := asString(v)
	return s == "1" || strings.EqualFold(s, "true")
}

var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02",
}

// time reads a Gemini Balance log time, converted from the zone it was written in (History.Zone).
func (c *copier) time(v any) any {
	if t, ok := asTime(v).(time.Time); ok {
		return c.history.utc(t)
	}
	return nil
}

// asTime reads a Gemini Balance time. Its times are naive (local to its server): they are read as UTC,
// and log times are then converted from GEMINI_BALANCE_TIMEZONE (copier.time).
func asTime(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC()
	}
	s, ok := asString(v)
	if !ok || s == "" {
		return nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return nil
}
