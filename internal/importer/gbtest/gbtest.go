// Package gbtest builds Gemini Balance databases for tests: the schema its SQLAlchemy models create
// (reference §5.2) and rows as it writes them, from the SQL fixtures in testdata. Tests of adoption in
// place, of import and of the CLI share them, so they all check against the same database.
package gbtest

import (
	"database/sql"
	"embed"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // the fixture is written with the driver gemgate reads it with

	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/store/storetest"
)

//go:embed testdata/*.sql
var fixtures embed.FS

// What the fixtures hold.
const (
	// Key1–Key3 are in API_KEYS. Key4 appears only in the logs: a key deleted before the migration.
	Key1 = "AIzaSy7VIrxaR7kQfWv52uvEgoqiXnLAC1lIAYJ"
	Key2 = "AIzaSyRfza0hW_rdE2oapzzQbkrck-z1iYylswf"
	Key3 = "AIzaSygItIepZEufUlSoU5AZzcWQa3oBC4IPlNK"
	Key4 = "AIzaSynhdW2-SFi2DmZVVrLvHdgwHvpsbgh5AXL"

	AdminToken  = "sk-gb-admin-token-000000001"
	ClientToken = "sk-gb-client-token-0001" // the first of ALLOWED_TOKENS

	Settings    = 33 // rows in t_settings
	ErrorLogs   = 3
	RequestLogs = 5
	Files       = 2
)

// Keys are the configured keys, in API_KEYS order.
var Keys = []string{Key1, Key2, Key3}

// RequestKeys and ErrorKeys are the keys of the log rows, in id order.
var (
	RequestKeys = []string{Key1, Key1, Key2, Key3, Key4}
	ErrorKeys   = []string{Key1, Key3, Key4}
)

// SQLite creates Gemini Balance's database file at path (its folder is created).
func SQLite(t testing.TB, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	Exec(t, db, "gemini_balance_sqlite.sql")
}

// MySQL creates Gemini Balance's database in a fresh MySQL database of the test's own (skipping the test
// when GEMGATE_TEST_MYSQL is not set). It returns the store configuration of that database and a DSN
// for "gemgate import --from".
func MySQL(t testing.TB) (store.Config, string) {
	t.Helper()
	cfg := storetest.Config(t, store.MySQL)
	mc := mysql.NewConfig()
	mc.User, mc.Passwd, mc.DBName = cfg.MySQLUser, cfg.MySQLPassword, cfg.MySQLDatabase
	mc.Net, mc.Addr = "tcp", net.JoinHostPort(cfg.MySQLHost, strconv.Itoa(cfg.MySQLPort))
	if cfg.MySQLSocket != "" {
		mc.Net, mc.Addr = "unix", cfg.MySQLSocket
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	Exec(t, db, "gemini_balance_mysql.sql")
	return cfg, mc.FormatDSN()
}

// Exec runs a fixture's statements, each ending at a line that ends in ';'.
func Exec(t testing.TB, db *sql.DB, fixture string) {
	t.Helper()
	src, err := fixtures.ReadFile("testdata/" + fixture)
	if err != nil {
		t.Fatal(err)
	}
	var cur strings.Builder
	for line := range strings.SplitSeq(string(src), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		cur.WriteString(line + "\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if _, err := db.Exec(cur.String()); err != nil {
				t.Fatalf("%s: %v\n%s", fixture, err, cur.String())
			}
			cur.Reset()
		}
	}
}
