// Package store keeps gemgate's persistent state in SQLite (embedded, the default), MySQL/MariaDB or
// PostgreSQL through database/sql. The schema is created and upgraded by versioned migrations embedded in
// the binary. Table names follow Gemini Balance, so a database it left behind is adopted in place.
//
// Conventions for packages that keep their own tables in the database:
//   - write queries with ? placeholders and run them through the Store's Exec, Query, QueryRow or InTx,
//     which rebind them for the dialect;
//   - pass times as time.Time in UTC: SQLite stores them as text "2006-01-02 15:04:05.999999999+00:00"
//     (sortable as text), MySQL as DATETIME in a session whose time_zone is UTC, PostgreSQL as timestamptz.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/secret"
)

// Dialect names the SQL engine behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	MySQL    Dialect = "mysql"
	Postgres Dialect = "postgres"
)

// Config selects and addresses the database.
type Config struct {
	Type string // "sqlite" (default when empty), "mysql", "postgres"

	// SQLitePath is the database file. A bare file name is placed under data/, as Gemini Balance did
	// with SQLITE_DATABASE=default_db. The parent folder is created.
	SQLitePath string // empty: SQLITE_DATABASE's default

	MySQLHost     string
	MySQLPort     int
	MySQLUser     string
	MySQLPassword string
	MySQLDatabase string
	MySQLSocket   string // wins over host:port when set

	PostgresDSN string // postgres://... URL or key=value DSN

	// Sealer, when set (ENCRYPTION_KEY), encrypts the secrets the store writes: t_api_keys.api_key,
	// t_client_tokens.token and the t_settings values SecretSetting names (see sealed.go).
	Sealer        *secret.Sealer
	SecretSetting func(name string) bool
}

// Store is the database handle shared by gemgate's packages.
type Store struct {
	runner // Exec, Query and QueryRow on the pool
	db     *sql.DB
	where  string // names the database in errors, without the password
	q      queries
	seal   sealing
}

// Open connects, checks the connection and applies pending migrations. Its errors never contain the
// database password.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s, secrets, err := connect(cfg)
	if err != nil {
		return nil, redact(err, secrets)
	}
	if err := s.Ping(ctx); err != nil {
		s.db.Close()
		return nil, redact(err, secrets)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, redact(fmt.Errorf("store: migrating %s: %w", s.where, err), secrets)
	}
	return s, nil
}

// Close closes every pooled connection.
func (s *Store) Close() error { return s.db.Close() }

// DB is the pool itself, for tests and tools that read tables as they are.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect tells which SQL engine is in use.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: connecting to %s: %w", s.where, err)
	}
	return nil
}

// Rebind rewrites ? placeholders for the store's dialect ($1, $2, ... on PostgreSQL). A ? inside
// '...' or "..." or a comment is left alone; dollar-quoted strings are not recognised.
func (s *Store) Rebind(query string) string { return rebind(s.dialect, query) }

func parseDialect(typ string) (Dialect, error) {
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case "", "sqlite", "sqlite3":
		return SQLite, nil
	case "mysql", "mariadb":
		return MySQL, nil
	case "postgres", "postgresql", "pgsql":
		return Postgres, nil
	}
	return "", fmt.Errorf("store: unknown database type %q (want sqlite, mysql or postgres)", typ)
}

// connect builds the pool without touching the network. It also returns the secrets that error
// messages must not show.
func connect(cfg Config) (*Store, []string, error) {
	d, err := parseDialect(cfg.Type)
	if err != nil {
		return nil, nil, err
	}
	var db *sql.DB
	var where string
	var secrets []string
	switch d {
	case SQLite:
		db, where, err = openSQLite(cfg.SQLitePath)
	case MySQL:
		secrets = []string{cfg.MySQLPassword}
		db, where, err = openMySQL(cfg)
	case Postgres:
		secrets = []string{dsnPassword(cfg.PostgresDSN)}
		db, where, secrets, err = openPostgres(cfg.PostgresDSN, secrets)
	}
	if err != nil {
		return nil, secrets, err
	}
	return &Store{runner: runner{db, d}, db: db, where: where, q: buildQueries(d), seal: newSealing(cfg)}, secrets, nil
}

// resolveSQLitePath applies Gemini Balance's rule that a bare name lives under data/.
func resolveSQLitePath(p string) string {
	if p == "" {
		p = config.SQLiteDatabase.Def().Default.(string)
	}
	if !strings.ContainsRune(p, '/') && !strings.ContainsRune(p, filepath.Separator) {
		return filepath.Join("data", p)
	}
	return p
}

func sqliteDSN(path string) string {
	// Pragmas go in the DSN so that every connection the pool opens gets them, not just the first.
	// _txlock=immediate makes BEGIN take the write lock at once: a deferred transaction that reads and
	// then writes can fail with SQLITE_BUSY without waiting for busy_timeout when another writer committed
	// in between. _time_format=sqlite stores time.Time as text SQLite's date functions understand.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// The request log inserts hundreds of rows per statement; each statement keeps a journal of the
	// pages it changes, which SQLite spills to a temporary file past 64 KiB. Kept in memory, that
	// journal costs no system calls: the log writer's CPU per row fell by about a tenth.
	q.Add("_pragma", "temp_store(MEMORY)")
	// A checkpoint copies every page changed since the last one back into the database file, once per
	// page however often it changed, and syncs it. Every 10,000 pages (40 MB of WAL) instead of 1,000,
	// the request log's index pages, rewritten by every batch, are copied back a tenth as often: about a
	// tenth of the log writer's CPU. It costs disk, not memory (the WAL file keeps its largest size), and
	// changes nothing a crash can lose: a commit is in the WAL whether or not it was checkpointed.
	q.Add("_pragma", "wal_autocheckpoint(10000)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return path + "?" + q.Encode()
}

// sqliteBusyTimeout is how long a statement waits for another connection's lock before SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// busyRetryConnector retries opening a connection that SQLite refused with SQLITE_BUSY. Switching a
// new file to WAL takes a lock that SQLite does not wait for through busy_timeout, so connections
// opened at the same moment (two instances starting, or a pool growing) can collide there.
type busyRetryConnector struct{ driver.Connector }

func (c busyRetryConnector) Connect(ctx context.Context) (driver.Conn, error) {
	deadline := time.Now().Add(sqliteBusyTimeout)
	for {
		conn, err := c.Connector.Connect(ctx)
		if err == nil || !transient(err) || time.Now().After(deadline) {
			return conn, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(5*time.Millisecond + rand.N(20*time.Millisecond)):
		}
	}
}

func openSQLite(p string) (*sql.DB, string, error) {
	path := resolveSQLitePath(p)
	where := "sqlite database " + path
	// The driver cuts the DSN at the first '?', so such a path would silently name another file.
	if strings.ContainsRune(path, '?') {
		return nil, where, fmt.Errorf("store: sqlite path %q must not contain '?'", path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, where, fmt.Errorf("store: creating folder for %s: %w", where, err)
		}
	}
	conn, err := sqlite.NewConnector(sqliteDSN(path))
	if err != nil {
		return nil, where, fmt.Errorf("store: opening %s: %w", where, err)
	}
	db := sql.OpenDB(busyRetryConnector{conn})
	// SQLite has one writer at a time; more connections only add waiting inside busy_timeout, while
	// WAL lets a handful of readers proceed next to the writer.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	return db, where, nil
}

func mysqlConfig(cfg Config) *mysql.Config {
	mc := mysql.NewConfig()
	mc.User = cfg.MySQLUser
	mc.Passwd = cfg.MySQLPassword
	mc.DBName = cfg.MySQLDatabase
	if cfg.MySQLSocket != "" {
		mc.Net, mc.Addr = "unix", cfg.MySQLSocket
	} else {
		host, port := cfg.MySQLHost, cfg.MySQLPort
		if host == "" {
			host = "127.0.0.1"
		}
		if port == 0 {
			port = 3306
		}
		mc.Net, mc.Addr = "tcp", net.JoinHostPort(host, strconv.Itoa(port))
	}
	mc.ParseTime = true
	mc.Loc = time.UTC
	// DATETIME has no zone: the session zone must be UTC too, or NOW() and TIMESTAMP columns written
	// by SQL would disagree with the UTC values the driver writes.
	mc.Params = map[string]string{"time_zone": "'+00:00'"}
	mc.Timeout = 10 * time.Second
	// utf8mb4, not MySQL's 3-byte utf8, so emoji and other 4-byte characters survive. The option
	// only records the choice and has no error to return.
	_ = mc.Apply(mysql.Charset("utf8mb4", ""))
	return mc
}

func openMySQL(cfg Config) (*sql.DB, string, error) {
	mc := mysqlConfig(cfg)
	where := fmt.Sprintf("mysql database %s@%s(%s)/%s", mc.User, mc.Net, mc.Addr, mc.DBName)
	if cfg.MySQLDatabase == "" {
		return nil, where, errors.New("store: mysql database name is empty (MYSQL_DATABASE)")
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, where, fmt.Errorf("store: configuring %s: %w", where, err)
	}
	db := sql.OpenDB(conn)
	setServerPool(db)
	return db, where, nil
}

func setServerPool(db *sql.DB) {
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	// Below the usual server and proxy idle timeouts (MySQL wait_timeout, load balancers).
	db.SetConnMaxLifetime(30 * time.Minute)
}

func openPostgres(dsn string, secrets []string) (*sql.DB, string, []string, error) {
	where := "postgres database"
	if strings.TrimSpace(dsn) == "" {
		return nil, where, secrets, errors.New("store: postgres DSN is empty")
	}
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The parse error keeps the raw DSN reachable through Unwrap; keep only its (redacted) text.
		return nil, where, secrets, fmt.Errorf("store: parsing postgres DSN: %s", err.Error())
	}
	secrets = append(secrets, pc.Password)
	where = fmt.Sprintf("postgres database %s@%s/%s", pc.User, net.JoinHostPort(pc.Host, strconv.Itoa(int(pc.Port))), pc.Database)
	// timestamptz is stored as an instant either way; the session zone only decides how the server
	// renders now() and text casts, which should match the UTC everything else uses.
	hasZone := false
	for k := range pc.RuntimeParams {
		hasZone = hasZone || strings.EqualFold(k, "timezone")
	}
	if !hasZone {
		pc.RuntimeParams["timezone"] = "UTC"
	}
	db := stdlib.OpenDB(*pc)
	setServerPool(db)
	return db, where, secrets, nil
}

var kvPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// dsnPassword finds the password in a DSN as well as it can, before the driver has parsed it, so that
// even a malformed DSN's password is hidden.
func dsnPassword(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			return p
		}
	}
	if m := kvPassword.FindStringSubmatch(dsn); m != nil {
		return strings.Trim(m[1], "'")
	}
	return ""
}

// redactedError hides secrets in the message but keeps the cause for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// rebind numbers ? placeholders for PostgreSQL, leaving quoted text and comments alone.
func rebind(d Dialect, query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(query) {
				if query[j] == c {
					if j+1 < len(query) && query[j+1] == c { // doubled quote escapes itself
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(query))
			b.WriteString(query[i:end])
			i = end - 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			end := strings.Index(query[i+2:], "*/")
			stop := len(query)
			if end >= 0 {
				stop = i + 2 + end + 2
			}
			b.WriteString(query[i:stop])
			i = stop - 1
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
