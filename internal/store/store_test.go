package store

// The suite runs against every database it can reach. SQLite always runs, in t.TempDir(). A server
// runs when its variable is set, and its tests are skipped otherwise:
//
//	GEMGATE_TEST_MYSQL     a go-sql-driver/mysql DSN, user[:password]@tcp(host:port)/dbname or
//	                       user[:password]@unix(/path/to/socket)/dbname, for example
//	                       root@tcp(127.0.0.1:3306)/test. The user must be allowed to CREATE and DROP
//	                       DATABASE: every test works in its own database gg_test_<random>, dropped
//	                       afterwards, so parallel packages and repeated runs never meet.
//	GEMGATE_TEST_POSTGRES  a pgx DSN, URL or key=value form, for example
//	                       postgres://root@127.0.0.1:5432/test?sslmode=disable. The user must be
//	                       allowed to CREATE SCHEMA: every test works in its own schema
//	                       gg_test_<random> (search_path points there), dropped afterwards.

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the admin connection
)

const (
	envMySQL    = "GEMGATE_TEST_MYSQL"
	envPostgres = "GEMGATE_TEST_POSTGRES"
)

type backend struct {
	name  string
	fresh func(t *testing.T) Config // an empty database of the test's own
}

var backends = []backend{
	{"sqlite", freshSQLite},
	{"mysql", freshMySQL},
	{"postgres", freshPostgres},
}

func forEachBackend(t *testing.T, fn func(t *testing.T, cfg Config)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel() // each backend works in a database of its own
			fn(t, b.fresh(t))
		})
	}
}

func randomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "gg_test_" + hex.EncodeToString(b)
}

func freshSQLite(t *testing.T) Config {
	return Config{Type: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "gemgate.db")}
}

func mysqlAdmin(t *testing.T) (*mysql.Config, *sql.DB) {
	t.Helper()
	dsn := os.Getenv(envMySQL)
	if dsn == "" {
		t.Skip(envMySQL + " is not set")
	}
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", envMySQL, err)
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		t.Fatalf("%s: %v", envMySQL, err)
	}
	return mc, sql.OpenDB(conn)
}

func mysqlConfigFrom(mc *mysql.Config, database string) Config {
	cfg := Config{Type: "mysql", MySQLUser: mc.User, MySQLPassword: mc.Passwd, MySQLDatabase: database}
	if mc.Net == "unix" {
		cfg.MySQLSocket = mc.Addr
	} else {
		host, port, _ := net.SplitHostPort(mc.Addr)
		cfg.MySQLHost = host
		cfg.MySQLPort, _ = strconv.Atoi(port)
	}
	return cfg
}

func freshMySQL(t *testing.T) Config {
	mc, admin := mysqlAdmin(t)
	name := randomName()
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		admin.Close()
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	return mysqlConfigFrom(mc, name)
}

func withSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

func freshPostgres(t *testing.T) Config {
	dsn := os.Getenv(envPostgres)
	if dsn == "" {
		t.Skip(envPostgres + " is not set")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("%s: %v", envPostgres, err)
	}
	name := randomName()
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		admin.Close()
		t.Fatalf("creating test schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA IF EXISTS " + name + " CASCADE"); err != nil {
			t.Errorf("dropping test schema %s: %v", name, err)
		}
	})
	return Config{Type: "postgres", PostgresDSN: withSearchPath(dsn, name)}
}

func openT(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

func migrationCount(t *testing.T, d Dialect) int {
	t.Helper()
	ms, err := loadMigrations(d)
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

func TestMigrationsIdempotent(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, cfg Config) {
		s := openT(t, cfg)
		if got, want := string(s.Dialect()), cfg.Type; got != want {
			t.Errorf("Dialect() = %q, want %q", got, want)
		}
		want := migrationCount(t, s.Dialect())
		if got := countRows(t, s, "gg_schema_migrations"); got != want {
			t.Fatalf("gg_schema_migrations has %d rows, want %d", got, want)
		}
		if err := s.SaveSettings(t.Context(), map[string]string{"KEEP": "me"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s2 := openT(t, cfg)
		if got := countRows(t, s2, "gg_schema_migrations"); got != want {
			t.Fatalf("after reopening gg_schema_migrations has %d rows, want %d", got, want)
		}
		got, err := s2.LoadSettings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got["KEEP"] != "me" {
			t.Fatalf("setting lost across reopen: %v", got)
		}
		if err := s2.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// Two instances starting at once must both come up with the schema migrated exactly once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, cfg Config) {
		const n = 4
		stores := make([]*Store, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { stores[i], errs[i] = Open(t.Context(), cfg) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Errorf("Open %d: %v", i, errs[i])
				continue
			}
			defer stores[i].Close()
		}
		if t.Failed() {
			return
		}
		if got, want := countRows(t, stores[0], "gg_schema_migrations"), migrationCount(t, stores[0].Dialect()); got != want {
			t.Fatalf("gg_schema_migrations has %d rows, want %d", got, want)
		}
	})
}

// geminiBalanceDDL is the t_settings table as Gemini Balance's SQLAlchemy model creates it.
var geminiBalanceDDL = map[Dialect]string{
	SQLite: `CREATE TABLE t_settings (
	id INTEGER NOT NULL, 
	"key" VARCHAR(100) NOT NULL, 
	value TEXT, 
	description VARCHAR(255), 
	created_at DATETIME, 
	updated_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE ("key")
)`,
	MySQL: "CREATE TABLE t_settings (\n" +
		"\tid INTEGER NOT NULL AUTO_INCREMENT, \n" +
		"\t`key` VARCHAR(100) NOT NULL COMMENT '配置项键名', \n" +
		"\tvalue TEXT COMMENT '配置项值', \n" +
		"\tdescription VARCHAR(255) COMMENT '配置项描述', \n" +
		"\tcreated_at DATETIME COMMENT '创建时间', \n" +
		"\tupdated_at DATETIME COMMENT '更新时间', \n" +
		"\tPRIMARY KEY (id), \n" +
		"\tUNIQUE (`key`)\n)",
	// Gemini Balance never ran on PostgreSQL; this is what the same model would create there.
	Postgres: `CREATE TABLE t_settings (
	id SERIAL NOT NULL, 
	key VARCHAR(100) NOT NULL, 
	value TEXT, 
	description VARCHAR(255), 
	created_at TIMESTAMP WITHOUT TIME ZONE, 
	updated_at TIMESTAMP WITHOUT TIME ZONE, 
	PRIMARY KEY (id), 
	UNIQUE (key)
)`,
}

func TestAdoptGeminiBalanceSettings(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, cfg Config) {
		ctx := t.Context()
		raw, _, err := connect(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.db.ExecContext(ctx, geminiBalanceDDL[raw.dialect]); err != nil {
			raw.Close()
			t.Fatalf("creating Gemini Balance table: %v", err)
		}
		rows := []struct {
			key   string
			value any
			desc  string
		}{
			{"API_KEYS", `["AIzaSyOld1","AIzaSyOld2"]`, "API_KEYS 配置项"},
			{"AUTH_TOKEN", "sk-123456", "AUTH_TOKEN 配置项"},
			{"PROXIES", nil, "PROXIES 配置项"},
			{"TEST_MODEL", "gemini-1.5-flash ✓", "TEST_MODEL 配置项"},
		}
		ins := raw.Rebind("INSERT INTO t_settings (" + raw.q.keyColumn + ", value, description, created_at, updated_at) VALUES (?, ?, ?, '2024-05-01 10:00:00', '2024-05-01 10:00:00')")
		for _, r := range rows {
			if _, err := raw.db.ExecContext(ctx, ins, r.key, r.value, r.desc); err != nil {
				raw.Close()
				t.Fatalf("inserting %s: %v", r.key, err)
			}
		}
		raw.Close()

		s := openT(t, cfg)
		got, err := s.LoadSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"API_KEYS": `["AIzaSyOld1","AIzaSyOld2"]`, "AUTH_TOKEN": "sk-123456", "PROXIES": "", "TEST_MODEL": "gemini-1.5-flash ✓",
		}
		if !equalMaps(got, want) {
			t.Fatalf("adopted settings = %v, want %v", got, want)
		}

		// The widened column must now take a large pool's key list.
		big := bigValue(5 << 20)
		if err := s.SaveSettings(ctx, map[string]string{"API_KEYS": big, "NEW_ONE": "x"}); err != nil {
			t.Fatal(err)
		}
		got, err = s.LoadSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got["API_KEYS"] != big {
			t.Fatalf("5 MB value came back with %d bytes", len(got["API_KEYS"]))
		}
		if got["AUTH_TOKEN"] != "sk-123456" || got["NEW_ONE"] != "x" {
			t.Fatalf("settings after save = AUTH_TOKEN %q NEW_ONE %q", got["AUTH_TOKEN"], got["NEW_ONE"])
		}
		// Gemini Balance's own description and creation time survive an update.
		var desc string
		var created dbTime
		q := s.Rebind("SELECT description, created_at FROM t_settings WHERE " + s.q.keyColumn + " = ?")
		if err := s.DB().QueryRowContext(ctx, q, "API_KEYS").Scan(&desc, &created); err != nil {
			t.Fatal(err)
		}
		if desc != "API_KEYS 配置项" || !created.T.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) {
			t.Fatalf("API_KEYS row: description %q, created_at %v", desc, created.T)
		}
		if s.Dialect() == MySQL {
			var typ string
			err := s.DB().QueryRowContext(ctx, "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't_settings' AND COLUMN_NAME = 'value'").Scan(&typ)
			if err != nil || !strings.EqualFold(typ, "longtext") {
				t.Fatalf("t_settings.value is %q (%v), want longtext", typ, err)
			}
		}
	})
}

func bigValue(size int) string {
	var b strings.Builder
	b.Grow(size + 64)
	b.WriteByte('[')
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"AIzaSy%033d"`, i)
	}
	b.WriteByte(']')
	return b.String()
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestSettingsRoundTrip(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, cfg Config) {
		ctx := t.Context()
		s := openT(t, cfg)
		if got, err := s.LoadSettings(ctx); err != nil || len(got) != 0 {
			t.Fatalf("fresh database: %v, %v", got, err)
		}
		vals := map[string]string{
			"API_KEYS": bigValue(5 << 20),
			"UNICODE":  "日本語 ✓ 🚀 Ünïcödé \"quoted\" 'single' \\ back",
			"EMPTY":    "",
			"PLAIN":    "x",
			"Case":     "mixed",
			"CASE":     "upper", // names differ only in case: two settings on every engine
		}
		if err := s.SaveSettings(ctx, vals); err != nil {
			t.Fatal(err)
		}
		got, err := s.LoadSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !equalMaps(got, vals) {
			for k := range vals {
				if got[k] != vals[k] {
					t.Errorf("%s: got %d bytes %.40q, want %d bytes %.40q", k, len(got[k]), got[k], len(vals[k]), vals[k])
				}
			}
			t.Fatalf("loaded %d settings, saved %d", len(got), len(vals))
		}

		var desc string
		var created, updated dbTime
		q := s.Rebind("SELECT description, created_at, updated_at FROM t_settings WHERE " + s.q.keyColumn + " = ?")
		if err := s.DB().QueryRowContext(ctx, q, "PLAIN").Scan(&desc, &created, &updated); err != nil {
			t.Fatal(err)
		}
		if desc != "PLAIN configuration setting" {
			t.Errorf("description = %q", desc)
		}
		if created.T.IsZero() || time.Since(created.T) > time.Minute || created.T.Location() != time.UTC {
			t.Errorf("created_at = %v", created.T)
		}

		// Gemini Balance's MySQL column keeps whole seconds, so an old stamp is what shows the update.
		old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		if _, err := s.DB().ExecContext(ctx, s.Rebind("UPDATE t_settings SET created_at = ?, updated_at = ?"), old, old); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSettings(ctx, map[string]string{"PLAIN": "y", "NEW": "n"}); err != nil {
			t.Fatal(err)
		}
		if err := s.DB().QueryRowContext(ctx, q, "PLAIN").Scan(&desc, &created, &updated); err != nil {
			t.Fatal(err)
		}
		if !created.T.Equal(old) || time.Since(updated.T) > time.Minute {
			t.Errorf("after update: created_at %v (want kept), updated_at %v (want now)", created.T, updated.T)
		}
		vals["PLAIN"], vals["NEW"] = "y", "n"
		if got, _ = s.LoadSettings(ctx); !equalMaps(got, vals) {
			t.Fatalf("after upsert: %d settings, PLAIN %q NEW %q", len(got), got["PLAIN"], got["NEW"])
		}

		if err := s.DeleteSettings(ctx, []string{"PLAIN", "MISSING", "PLAIN", "Case"}); err != nil {
			t.Fatal(err)
		}
		delete(vals, "PLAIN")
		delete(vals, "Case")
		if got, _ = s.LoadSettings(ctx); !equalMaps(got, vals) {
			t.Fatalf("after delete: %d settings, want %d (PLAIN present: %v)", len(got), len(vals), got["PLAIN"] != "")
		}
		if err := s.SaveSettings(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSettings(ctx, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestKeyStatesRoundTrip(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, cfg Config) {
		ctx := t.Context()
		s := openT(t, cfg)
		if got, err := s.LoadKeyStates(ctx); err != nil || len(got) != 0 {
			t.Fatalf("fresh database: %v, %v", got, err)
		}
		cet := time.FixedZone("CET", 3600)
		t0 := time.Date(2025, 3, 4, 5, 6, 7, 123456789, cet)
		full := KeyState{
			Key: "AIzaSyFull", FailureCount: 3, LastError: "429 RESOURCE_EXHAUSTED — 配额 🚫", LastErrorCode: 429,
			LastErrorAt: t0, LastUsedAt: t0.Add(time.Minute), Disabled: true, DisabledReason: "suspended: 账号",
			UpdatedAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), // ignored
		}
		states := []KeyState{
			{Key: "AIzaSyZero"},
			full,
			{Key: "AIzaSyfull", FailureCount: 1}, // differs from full only in case
			{Key: "AIzaSyDup", FailureCount: 1},
			{Key: "AIzaSyDup", FailureCount: 2}, // the last state of a key wins
		}
		before := time.Now().Add(-time.Second)
		if err := s.SaveKeyStates(ctx, states); err != nil {
			t.Fatal(err)
		}
		after := time.Now().Add(time.Second)
		got := loadByKey(t, s)
		if len(got) != 4 {
			t.Fatalf("loaded %d states, want 4: %v", len(got), got)
		}
		for _, st := range got {
			if st.UpdatedAt.Before(before) || st.UpdatedAt.After(after) || st.UpdatedAt.Location() != time.UTC {
				t.Errorf("%s: UpdatedAt = %v, want now in UTC", st.Key, st.UpdatedAt)
			}
		}
		want := full
		want.LastErrorAt = t0.UTC().Truncate(time.Microsecond)
		want.LastUsedAt = t0.Add(time.Minute).UTC().Truncate(time.Microsecond)
		checkState(t, got["AIzaSyFull"], want)
		checkState(t, got["AIzaSyZero"], KeyState{Key: "AIzaSyZero"})
		checkState(t, got["AIzaSyfull"], KeyState{Key: "AIzaSyfull", FailureCount: 1})
		checkState(t, got["AIzaSyDup"], KeyState{Key: "AIzaSyDup", FailureCount: 2})

		// An update replaces every field, back to "never" included.
		reset := KeyState{Key: "AIzaSyFull", LastUsedAt: t0}
		if err := s.SaveKeyStates(ctx, []KeyState{reset}); err != nil {
			t.Fatal(err)
		}
		got = loadByKey(t, s)
		checkState(t, got["AIzaSyFull"], KeyState{Key: "AIzaSyFull", LastUsedAt: t0.UTC().Truncate(time.Microsecond)})
		if len(got) != 4 {
			t.Fatalf("loaded %d states after update, want 4", len(got))
		}

		// Text that some engine could not store is made storable rather than failing the batch.
		long := KeyState{
			Key:            "AIzaSyLong",
			LastError:      strings.Repeat("é", 5000) + "\x00\xff",
			DisabledReason: strings.Repeat("ü", 300),
		}
		if err := s.SaveKeyStates(ctx, []KeyState{long}); err != nil {
			t.Fatal(err)
		}
		got = loadByKey(t, s)
		if n := utf8.RuneCountInString(got["AIzaSyLong"].LastError); n != maxLastError {
			t.Errorf("LastError kept %d characters, want %d", n, maxLastError)
		}
		if n := utf8.RuneCountInString(got["AIzaSyLong"].DisabledReason); n != maxDisabledReason {
			t.Errorf("DisabledReason kept %d characters, want %d", n, maxDisabledReason)
		}

		if err := s.DeleteKeyStates(ctx, []string{"AIzaSyZero", "AIzaSyNope", "AIzaSyLong"}); err != nil {
			t.Fatal(err)
		}
		got = loadByKey(t, s)
		if _, ok := got["AIzaSyZero"]; ok || len(got) != 3 {
			t.Fatalf("after delete: %d states, AIzaSyZero present: %v", len(got), ok)
		}
		if err := s.SaveKeyStates(ctx, []KeyState{{Key: ""}}); err == nil {
			t.Error("saving an empty key succeeded")
		}
		if err := s.SaveKeyStates(ctx, nil); err != nil {
			t.Error(err)
		}
		if err := s.DeleteKeyStates(ctx, nil); err != nil {
			t.Error(err)
		}
	})
}

func loadByKey(t *testing.T, s *Store) map[string]KeyState {
	t.Helper()
	list, err := s.LoadKeyStates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]KeyState, len(list))
	for _, st := range list {
		m[st.Key] = st
	}
	return m
}

func checkState(t *testing.T, got, want KeyState) {
	t.Helper()
	got.UpdatedAt, want.UpdatedAt = time.Time{}, time.Time{}
	for _, tm := range []time.Time{got.LastErrorAt, got.LastUsedAt} {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time %v is not UTC", got.Key, tm)
		}
	}
	if got.Key != want.Key || got.FailureCount != want.FailureCount || got.LastError != want.LastError ||
		got.LastErrorCode != want.LastErrorCode || !got.LastErrorAt.Equal(want.LastErrorAt) ||
		!got.LastUsedAt.Equal(want.LastUsedAt) || got.Disabled != want.Disabled || got.DisabledReason != want.DisabledReason {
		t.Errorf("state\n got %+v\nwant %+v", got, want)
	}
}

func TestKeyStates100k(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, cfg Config) {
		ctx := t.Context()
		s := openT(t, cfg)
		const n = 100_000
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		states := make([]KeyState, n)
		for i := range states {
			states[i] = KeyState{Key: fmt.Sprintf("AIzaSy%033d", i), FailureCount: i % 7, LastUsedAt: base.Add(time.Duration(i) * time.Second)}
			if i%10 == 0 {
				states[i].LastError, states[i].LastErrorCode, states[i].LastErrorAt = "429 quota", 429, base
			}
		}
		// Timing is reported, not asserted: the machine is shared, so speed is proven by
		// BenchmarkSaveKeyStates, not by a timed test.
		for round := range 2 { // inserts, then updates of every row
			start := time.Now()
			if err := s.SaveKeyStates(ctx, states); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			t.Logf("round %d: %d upserts in %v", round, n, took)
			for i := range states {
				states[i].FailureCount++
			}
		}
		got, err := s.LoadKeyStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("loaded %d states, want %d", len(got), n)
		}
		for _, i := range []int{0, 1, 4999, 50_000, n - 1} {
			want := states[i]
			want.FailureCount-- // the loop above incremented once more after the last save
			checkState(t, got[i], want)
		}
	})
}

// Writers must not fail with "database is locked" or deadlocks when they overlap.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, cfg Config) {
		ctx := t.Context()
		s := openT(t, cfg)
		const goroutines, rounds, shared = 8, 10, 50
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*rounds*4)
		for g := range goroutines {
			wg.Go(func() {
				for r := range rounds {
					err := s.SaveSettings(ctx, map[string]string{
						"SHARED":              fmt.Sprintf("%d/%d", g, r),
						fmt.Sprintf("G%d", g): strconv.Itoa(r),
					})
					if err != nil {
						errs <- err
					}
					var states []KeyState
					for k := range shared { // every goroutine updates these, in a varying order
						states = append(states, KeyState{Key: fmt.Sprintf("AIzaShared%03d", (k+g*7)%shared), FailureCount: r, LastUsedAt: time.Now()})
					}
					for k := range 20 {
						states = append(states, KeyState{Key: fmt.Sprintf("AIzaOwn%d_%03d", g, k), FailureCount: r})
					}
					if err := s.SaveKeyStates(ctx, states); err != nil {
						errs <- err
					}
					if _, err := s.LoadSettings(ctx); err != nil {
						errs <- err
					}
					if _, err := s.LoadKeyStates(ctx); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		settings, err := s.LoadSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for g := range goroutines {
			if settings[fmt.Sprintf("G%d", g)] != strconv.Itoa(rounds-1) {
				t.Errorf("G%d = %q, want %d", g, settings[fmt.Sprintf("G%d", g)], rounds-1)
			}
		}
		if got, want := countRows(t, s, "t_api_keys"), shared+goroutines*20; got != want {
			t.Errorf("t_api_keys has %d rows, want %d", got, want)
		}
	})
}

func TestRebind(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, pg string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b IN (?, ?)", "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"},
		{"SELECT '?', \"we?ird\", ? FROM t", "SELECT '?', \"we?ird\", $1 FROM t"},
		{"SELECT 'it''s ?' , ?", "SELECT 'it''s ?' , $1"},
		{"SELECT ? -- what?\n, ?", "SELECT $1 -- what?\n, $2"},
		{"SELECT /* ? */ ?", "SELECT /* ? */ $1"},
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?"},
		{"SELECT ? -- trailing?", "SELECT $1 -- trailing?"},
	}
	for _, c := range cases {
		if got := rebind(Postgres, c.in); got != c.pg {
			t.Errorf("rebind(postgres, %q) = %q, want %q", c.in, got, c.pg)
		}
		for _, d := range []Dialect{SQLite, MySQL} {
			if got := rebind(d, c.in); got != c.in {
				t.Errorf("rebind(%s, %q) = %q, want it unchanged", d, c.in, got)
			}
		}
	}
	s := &Store{runner: runner{dialect: Postgres}}
	if got := s.Rebind("a = ? AND b = ?"); got != "a = $1 AND b = $2" {
		t.Errorf("Store.Rebind = %q", got)
	}
}

func TestResolveSQLitePath(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                 "data/gemgate.db",
		"default_db":       filepath.Join("data", "default_db"),
		"gemgate.db":       filepath.Join("data", "gemgate.db"),
		"./gemgate.db":     "./gemgate.db",
		"data/gemgate.db":  "data/gemgate.db",
		"/var/lib/gg/x.db": "/var/lib/gg/x.db",
	}
	for in, want := range cases {
		if got := resolveSQLitePath(in); got != want {
			t.Errorf("resolveSQLitePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// t.Chdir makes this test non-parallel by construction; it must not run beside others that use the cwd.
func TestSQLiteBareNameGoesUnderData(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s := openT(t, Config{SQLitePath: "default_db"})
	if s.Dialect() != SQLite {
		t.Fatalf("empty Type opened %s, want sqlite", s.Dialect())
	}
	if err := s.SaveSettings(t.Context(), map[string]string{"A": "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "default_db")); err != nil {
		t.Fatalf("database file: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data/ has mode %v, want 0700", perm)
	}
	var mode string
	if err := s.DB().QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
}

func TestSQLitePragmasOnEveryConnection(t *testing.T) {
	t.Parallel()
	s := openT(t, freshSQLite(t))
	ctx := t.Context()
	// Holding several connections at once makes the pool open new ones.
	var conns []*sql.Conn
	for range 3 {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var busy, fk, sync, ckpt int
		if err := c.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&ckpt); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if busy != 10000 || fk != 1 || sync != 1 || ckpt != 10000 {
			t.Errorf("connection %d: busy_timeout %d foreign_keys %d synchronous %d wal_autocheckpoint %d", i, busy, fk, sync, ckpt)
		}
		c.Close()
	}
}

func TestWrongMySQLPasswordNotInError(t *testing.T) {
	t.Parallel()
	mc, admin := mysqlAdmin(t)
	admin.Close()
	const pw = "Wr0ng-pa55word-gg"
	cfg := mysqlConfigFrom(mc, mc.DBName)
	cfg.MySQLPassword = pw
	s, err := Open(t.Context(), cfg)
	if err == nil {
		s.Close()
		// MariaDB's root over a socket authenticates by the client's uid and ignores the password.
		t.Skip("the server accepted a wrong password; nothing to check")
	}
	if strings.Contains(err.Error(), pw) || strings.Contains(fmt.Sprintf("%+v", err), pw) {
		t.Fatalf("error shows the password: %v", err)
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1045 {
		t.Errorf("error %v is not MySQL's access denied", err)
	}
	t.Logf("error: %v", err)
}

func TestPostgresPasswordNotInError(t *testing.T) {
	t.Parallel()
	dsn := os.Getenv(envPostgres)
	if dsn == "" {
		t.Skip(envPostgres + " is not set")
	}
	const pw = "Wr0ng-pa55word-gg"
	// A database that does not exist fails the connection even where the server trusts every password.
	bad := dsn + " password=" + pw + " dbname=gg_no_such_database"
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		u.User = url.UserPassword(u.User.Username(), pw)
		u.Path = "/gg_no_such_database"
		bad = u.String()
	}
	for _, d := range []string{bad, "postgres://u:" + pw + "@127.0.0.1:notaport/db"} {
		s, err := Open(t.Context(), Config{Type: "postgres", PostgresDSN: d})
		if err == nil {
			s.Close()
			t.Fatalf("Open(%q) succeeded", d)
		}
		if strings.Contains(err.Error(), pw) {
			t.Fatalf("error shows the password: %v", err)
		}
		t.Logf("error: %v", err)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	base := errors.New("connect user:hunter22@host failed")
	err := redact(base, []string{"", "hunter22"})
	if strings.Contains(err.Error(), "hunter22") || !errors.Is(err, base) {
		t.Fatalf("redact = %v (is base: %v)", err, errors.Is(err, base))
	}
	if redact(base, []string{"absent"}) != base {
		t.Error("redact changed an error without the secret")
	}
	for dsn, want := range map[string]string{
		"postgres://u:p%40ss@h/db":         "p@ss",
		"host=h password=secret user=u":    "secret",
		"host=h password='se cret' user=u": "se cret",
		"postgres://u@h/db":                "",
	} {
		if got := dsnPassword(dsn); got != want {
			t.Errorf("dsnPassword(%q) = %q, want %q", dsn, got, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Type: "oracle"},
		{Type: "mysql", MySQLHost: "127.0.0.1", MySQLUser: "u"},
		{Type: "postgres"},
		{Type: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "what?.db")},
	} {
		s, err := Open(t.Context(), cfg)
		if err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
			continue
		}
		if !strings.HasPrefix(err.Error(), "store: ") {
			t.Errorf("error %q lacks the package context", err)
		}
	}
}

func TestMigrationFiles(t *testing.T) {
	t.Parallel()
	var ref []migration
	for i, d := range []Dialect{SQLite, MySQL, Postgres} {
		ms, err := loadMigrations(d)
		if err != nil {
			t.Fatal(err)
		}
		for j, m := range ms {
			if m.version != j+1 {
				t.Errorf("%s: migration %d has version %d, want %d", d, j, m.version, j+1)
			}
		}
		if i == 0 {
			ref = ms
			continue
		}
		if len(ms) != len(ref) {
			t.Fatalf("%s has %d migrations, sqlite %d", d, len(ms), len(ref))
		}
		for j := range ms {
			if ms[j].name != ref[j].name {
				t.Errorf("%s migration %d is %q, sqlite's is %q", d, ms[j].version, ms[j].name, ref[j].name)
			}
		}
	}
}

func TestSplitStatements(t *testing.T) {
	t.Parallel()
	src := "-- leading comment; not a statement\nCREATE TABLE a (\n\tx TEXT -- inline stays\n);\n\n  -- between\nALTER TABLE a ADD y INT;\nSELECT 'no semicolon at end'\n"
	got := splitStatements(src)
	want := []string{"CREATE TABLE a (\n\tx TEXT -- inline stays\n)", "ALTER TABLE a ADD y INT", "SELECT 'no semicolon at end'"}
	if len(got) != len(want) {
		t.Fatalf("splitStatements = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("statement %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestDBTimeScan(t *testing.T) {
	t.Parallel()
	want := time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)
	for _, v := range []any{
		"2025-03-04 05:06:07.123456+00:00",
		"2025-03-04T06:06:07.123456+01:00",
		"2025-03-04 05:06:07.123456",
		[]byte("2025-03-04 05:06:07.123456Z"),
		want.In(time.FixedZone("X", -7200)),
	} {
		var d dbTime
		if err := d.Scan(v); err != nil || !d.T.Equal(want) || d.T.Location() != time.UTC {
			t.Errorf("Scan(%v) = %v, %v", v, d.T, err)
		}
	}
	var d dbTime
	if err := d.Scan(nil); err != nil || !d.T.IsZero() {
		t.Errorf("Scan(nil) = %v, %v", d.T, err)
	}
	if err := d.Scan("yesterday"); err == nil {
		t.Error("Scan(\"yesterday\") succeeded")
	}
}

// BenchmarkSaveKeyStates measures the batched upsert of 10,000 key states on SQLite (inserts in the first
// iteration, updates after).
func BenchmarkSaveKeyStates(b *testing.B) {
	s, err := Open(b.Context(), Config{Type: "sqlite", SQLitePath: b.TempDir() + "/bench.db"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	states := make([]KeyState, 10_000)
	for i := range states {
		states[i] = KeyState{Key: fmt.Sprintf("AIzaSy%033d", i)}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range states {
			states[j].FailureCount = i
		}
		if err := s.SaveKeyStates(b.Context(), states); err != nil {
			b.Fatal(err)
		}
	}
}
