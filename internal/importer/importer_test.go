package importer_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/files"
	"github.com/gemgate/gemgate/internal/importer"
	"github.com/gemgate/gemgate/internal/importer/gbtest"
	"github.com/gemgate/gemgate/internal/logs"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/store/storetest"
)

const (
	k1 = gbtest.Key1
	k2 = gbtest.Key2
	k3 = gbtest.Key3
	k4 = gbtest.Key4
)

var allKeys = []string{k1, k2, k3, k4}

// fixtureSkipped are the settings an import leaves out, besides the dialect's connection setting.
var fixtureSkipped = []string{"DATABASE_TYPE", "TTS_SPEED", "TZ"}

// gbDatabase returns the store configuration of a fresh Gemini Balance database on d, and a DSN or
// file name that import --from accepts.
func gbDatabase(t *testing.T, d store.Dialect) (store.Config, string) {
	t.Helper()
	if d == store.MySQL {
		return gbtest.MySQL(t)
	}
	cfg := storetest.Config(t, store.SQLite)
	gbtest.SQLite(t, cfg.SQLitePath)
	return cfg, cfg.SQLitePath
}

func open(t *testing.T, cfg store.Config) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func manager(t *testing.T, st *store.Store) *config.Manager {
	t.Helper()
	mgr, err := config.NewManager(map[string]string{}, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return mgr
}

// logRow is one log row as gemgate's tables hold it.
type logRow struct {
	key, keyID, text string
}

func logRows(t *testing.T, st *store.Store, table string) []logRow {
	t.Helper()
	q := "SELECT api_key, key_id, '' FROM t_request_log ORDER BY id"
	if table == "t_error_logs" {
		q = "SELECT gemini_key, key_id, error_log FROM t_error_logs ORDER BY id"
	}
	rows, err := st.DB().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []logRow
	for rows.Next() {
		var k, id, text sql.NullString
		if err := rows.Scan(&k, &id, &text); err != nil {
			t.Fatal(err)
		}
		out = append(out, logRow{k.String, id.String, text.String})
	}
	return out
}

// checkLogs asserts that the log tables hold no full key, and that each row names its key by mask and id.
// Rows the migrations masked before gemgate saw the key lose the id of a key no longer configured (k4):
// gemgate cannot know which key that mask was. Rows masked by gemgate keep it (k4Known).
func checkLogs(t *testing.T, st *store.Store, wantRequests, wantErrors []string, k4Known bool) {
	t.Helper()
	for table, want := range map[string][]string{"t_request_log": wantRequests, "t_error_logs": wantErrors} {
		rows := logRows(t, st, table)
		if len(rows) != len(want) {
			t.Fatalf("%s has %d rows, want %d", table, len(rows), len(want))
		}
		for i, r := range rows {
			for _, k := range allKeys {
				if strings.Contains(r.key, k) || strings.Contains(r.text, k) {
					t.Fatalf("%s row %d still holds the full key %s: %+v", table, i+1, secret.Mask(k), r)
				}
			}
			wantID := secret.ID(want[i])
			if want[i] == k4 && !k4Known {
				wantID = ""
			}
			if r.key != secret.Mask(want[i]) || r.keyID != wantID {
				t.Errorf("%s row %d: key %q id %q, want %q %q", table, i+1, r.key, r.keyID, secret.Mask(want[i]), wantID)
			}
		}
	}
}

var (
	fixtureRequestKeys = gbtest.RequestKeys
	fixtureErrorKeys   = gbtest.ErrorKeys
)

// checkFiles asserts Gemini Balance's two file records are there and that the Files API reads them as
// uploaded with their key by their client token. Adopted rows keep Gemini Balance's full key and token
// (imported is false); imported ones hold only the mask and the ids.
func checkFiles(t *testing.T, st *store.Store, imported bool) {
	t.Helper()
	fs := files.NewStore(st)
	at := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC) // while both were unexpired
	f, err := fs.Get(t.Context(), "files/abc123def456", at)
	if err != nil || f.MimeType != "application/pdf" || f.SizeBytes != 482133 || f.State != "ACTIVE" ||
		!f.Owned(secret.ID("sk-gb-client-token-0001")) || f.Owned(secret.ID("sk-gb-client-token-0002")) {
		t.Fatalf("file record: %+v (%v)", f, err)
	}
	if imported && f.KeyID != secret.ID(k2) {
		t.Fatalf("imported file record has key id %q, want %q", f.KeyID, secret.ID(k2))
	}
	var n, full int
	if err := st.DB().QueryRow(st.Rebind("SELECT COUNT(*), SUM(CASE WHEN api_key IN (?, ?) THEN 1 ELSE 0 END) FROM t_file_records"), k1, k2).Scan(&n, &full); err != nil {
		t.Fatal(err)
	}
	if want := map[bool]int{false: 2, true: 0}[imported]; n != 2 || full != want {
		t.Fatalf("t_file_records: %d rows, %d with a full key, want 2 and %d", n, full, want)
	}
}

func checkSettings(t *testing.T, mgr *config.Manager) {
	t.Helper()
	snap := mgr.Current()
	if got := config.APIKeys.Get(snap); !slices.Equal(got, []string{k1, k2, k3}) {
		t.Errorf("API_KEYS = %d keys, want Gemini Balance's 3", len(got))
	}
	if got := config.AllowedTokens.Get(snap); !slices.Equal(got, []string{"sk-gb-client-token-0001", "sk-gb-client-token-0002"}) {
		t.Errorf("ALLOWED_TOKENS = %q", got)
	}
	if got := config.AuthToken.Get(snap); got != "sk-gb-admin-token-000000001" {
		t.Errorf("AUTH_TOKEN = %q", got)
	}
	if config.TimeOut.Get(snap) != 600 || config.MaxFailures.Get(snap) != 10 || config.UploadProvider.Get(snap) != "smms" ||
		!config.FakeStreamEnabled.Get(snap) || config.ThinkingBudgetMap.Get(snap)["gemini-2.5-flash"] != 1024 ||
		len(config.SafetySettings.Get(snap)) != 5 {
		t.Errorf("settings not taken over: TIME_OUT %d, MAX_FAILURES %d, UPLOAD_PROVIDER %s", config.TimeOut.Get(snap),
			config.MaxFailures.Get(snap), config.UploadProvider.Get(snap))
	}
}

func TestAdoptInPlace(t *testing.T) {
	t.Parallel()
	for _, d := range []store.Dialect{store.SQLite, store.MySQL} {
		t.Run(string(d), func(t *testing.T) {
			cfg, _ := gbDatabase(t, d)
			st := open(t, cfg)
			mgr := manager(t, st) // as app.New: settings are loaded before Adopt
			history := gbHistory(t, mgr, st)
			sum, err := importer.Adopt(t.Context(), st, history)
			if err != nil {
				t.Fatal(err)
			}
			if sum == nil {
				t.Fatal("no summary on the first start")
			}
			want := "Adopted Gemini Balance database: 33 settings, 3 keys, 2 tokens, 3 error logs, 5 request logs, 2 files"
			if sum.String() != want {
				t.Fatalf("summary %q\nwant    %q", sum, want)
			}
			checkSettings(t, mgr)
			checkLogs(t, st, fixtureRequestKeys, fixtureErrorKeys, false)
			checkFiles(t, st, false)
			// Nothing of Gemini Balance's is deleted, not even settings gemgate has no use for.
			var n int
			if err := st.DB().QueryRow("SELECT COUNT(*) FROM t_settings WHERE value = 'Asia/Shanghai'").Scan(&n); err != nil || n != 2 {
				t.Fatalf("TZ and TIMEZONE rows: %d (%v)", n, err)
			}

			// The rows show in gemgate's log views, found by key id.
			ls := logs.NewStore(st)
			reqs, total, err := ls.ListRequests(t.Context(), logs.Filter{KeyID: secret.ID(k1)}, logs.Page{Limit: 100})
			if err != nil || total != 2 || len(reqs) != 2 || reqs[0].Key != secret.Mask(k1) || reqs[0].Time.IsZero() {
				t.Fatalf("request log by key: %d rows of %d (%v): %+v", len(reqs), total, err, reqs)
			}
			checkHistory(t, st, reqs)
			errs, total, err := ls.ListErrors(t.Context(), logs.Filter{KeyID: secret.ID(k3)}, logs.Page{Limit: 100})
			if err != nil || total != 1 || errs[0].Code != 403 {
				t.Fatalf("error log by key: %d rows (%v): %+v", total, err, errs)
			}

			// Later starts report nothing, and change nothing.
			if sum, err := importer.Adopt(t.Context(), st, history); err != nil || sum != nil {
				t.Fatalf("second start: %v, %v", sum, err)
			}
			reqs, _, _ = ls.ListRequests(t.Context(), logs.Filter{KeyID: secret.ID(k1)}, logs.Page{Limit: 100})
			checkHistory(t, st, reqs)

			// Gemini Balance still running next to gemgate keeps writing full keys; the next start masks them.
			if _, err := st.DB().Exec(st.Rebind("INSERT INTO t_request_log (request_time, model_name, api_key, is_success, status_code, latency_ms) VALUES (?, ?, ?, ?, ?, ?)"),
				"2025-06-04 08:00:00", "gemini-2.5-flash", k2, true, 200, 700); err != nil {
				t.Fatal(err)
			}
			if _, err := st.DB().Exec(st.Rebind("INSERT INTO t_error_logs (gemini_key, model_name, error_type, error_log, error_code, request_time) VALUES (?, ?, ?, ?, ?, ?)"),
				k1, "gemini-2.5-pro", "gemini-chat-stream", "key "+k1+" is rate limited", 429, "2025-06-04 08:00:01"); err != nil {
				t.Fatal(err)
			}
			if sum, err := importer.Adopt(t.Context(), st, importer.History{}); err != nil || sum != nil {
				t.Fatalf("start after Gemini Balance wrote more: %v, %v", sum, err)
			}
			checkLogs(t, st, append(slices.Clone(fixtureRequestKeys), k2), append(slices.Clone(fixtureErrorKeys), k1), false)
		})
	}
}

// gbHistory is what app.New passes: GEMINI_BALANCE_TIMEZONE (Asia/Shanghai) and the statistics tables.
func gbHistory(t *testing.T, mgr *config.Manager, st *store.Store) importer.History {
	t.Helper()
	h, err := importer.NewHistory(mgr.Current(), st)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// checkHistory: Key1's two requests of 2025-06-02 09:14:58 and 09:15:00 Shanghai time are at 01:14 UTC
// and counted once in the key statistics.
func checkHistory(t *testing.T, st *store.Store, k1Rows []logs.RequestLog) {
	t.Helper()
	for _, r := range k1Rows {
		if r.Time.Before(time.Date(2025, 6, 2, 1, 14, 0, 0, time.UTC)) || r.Time.After(time.Date(2025, 6, 2, 1, 16, 0, 0, time.UTC)) {
			t.Fatalf("Key1 row at %s, want 01:14–01:16 UTC", r.Time)
		}
	}
	keys, err := logs.NewStore(st).Keys(t.Context(), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.KeyID == secret.ID(k1) {
			if k.Attempts != 2 || k.Success != 1 {
				t.Fatalf("Key1 statistics: %+v", k)
			}
			return
		}
	}
	t.Fatalf("Key1 not in the statistics: %+v", keys)
}

func TestAdoptFreshDatabase(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		manager(t, st)
		if sum, err := importer.Adopt(t.Context(), st, importer.History{}); err != nil || sum != nil {
			t.Fatalf("a database that never was Gemini Balance's: %v, %v", sum, err)
		}
		manager(t, st) // a restart finds the settings gemgate stored itself
		if sum, err := importer.Adopt(t.Context(), st, importer.History{}); err != nil || sum != nil {
			t.Fatalf("second start: %v, %v", sum, err)
		}
	})
}

func TestImport(t *testing.T) {
	t.Parallel()
	type pair struct{ from, to store.Dialect }
	for _, p := range []pair{{store.SQLite, store.SQLite}, {store.SQLite, store.Postgres}, {store.MySQL, store.MySQL}, {store.MySQL, store.SQLite}} {
		t.Run(string(p.from)+"_to_"+string(p.to), func(t *testing.T) {
			_, spec := gbDatabase(t, p.from)
			st := open(t, storetest.Config(t, p.to))
			mgr := manager(t, st)
			src, err := importer.OpenSource(t.Context(), spec)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if strings.Contains(src.Name, "gb-db-password") || strings.Contains(src.Name, "@tcp(") == (p.from == store.SQLite) {
				t.Fatalf("source name %q", src.Name)
			}

			history := gbHistory(t, mgr, st)
			sum, err := importer.Import(t.Context(), src, st, mgr, history)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Settings != gbtest.Settings-4 || sum.Keys != 3 || sum.Tokens != 2 || sum.ErrorLogs != 3 || sum.RequestLogs != 5 || sum.Files != 2 {
				t.Fatalf("summary %s", sum)
			}
			conn := "SQLITE_DATABASE"
			if p.from == store.MySQL {
				conn = "MYSQL_PASSWORD"
			}
			var skipped []string
			for _, s := range sum.Skipped {
				name, _, _ := strings.Cut(s, " ")
				skipped = append(skipped, name)
			}
			if want := slices.Sorted(slices.Values(append([]string{conn}, fixtureSkipped...))); !slices.Equal(skipped, want) {
				t.Fatalf("skipped %q, want %q", sum.Skipped, want)
			}
			checkSettings(t, mgr)
			checkSettings(t, manager(t, st)) // stored, not only applied
			// Gemini Balance's naive times are read in its zone (GEMINI_BALANCE_TIMEZONE, Asia/Shanghai).
			reqs, _, err := logs.NewStore(st).ListRequests(t.Context(), logs.Filter{}, logs.Page{Limit: 10, SortBy: "id"})
			if err != nil || len(reqs) != 5 || !reqs[0].Time.Equal(time.Date(2025, 6, 2, 1, 14, 58, 0, time.UTC)) || reqs[0].LatencyMS != 812 || reqs[0].Status != 200 || !reqs[0].Success {
				t.Fatalf("imported request rows: %+v (%v)", reqs, err)
			}
			k1Rows, _, _ := logs.NewStore(st).ListRequests(t.Context(), logs.Filter{KeyID: secret.ID(k1)}, logs.Page{Limit: 10})
			checkHistory(t, st, k1Rows)
			checkLogs(t, st, fixtureRequestKeys, fixtureErrorKeys, true)
			checkFiles(t, st, true)

			// Run again: the settings again, but no row twice, and nothing counted twice.
			sum, err = importer.Import(t.Context(), src, st, mgr, history)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Settings != gbtest.Settings-4 || sum.ErrorLogs+sum.RequestLogs+sum.Files != 0 {
				t.Fatalf("second import: %s", sum)
			}
			checkLogs(t, st, fixtureRequestKeys, fixtureErrorKeys, true)

			// Imported rows are history: the adoption step at start leaves them alone.
			if sum, err := importer.Adopt(t.Context(), st, importer.History{}); err != nil || sum != nil {
				t.Fatalf("start after the import: %v, %v", sum, err)
			}
			checkLogs(t, st, fixtureRequestKeys, fixtureErrorKeys, true)
		})
	}
}

func TestImportPicksUpNewRows(t *testing.T) {
	t.Parallel()
	cfg, spec := gbDatabase(t, store.SQLite)
	st := open(t, storetest.Config(t, store.SQLite))
	mgr := manager(t, st)
	src, err := importer.OpenSource(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := importer.Import(t.Context(), src, st, mgr, importer.History{}); err != nil {
		t.Fatal(err)
	}
	gb, err := sql.Open("sqlite", cfg.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	defer gb.Close()
	if _, err := gb.Exec("INSERT INTO t_request_log (request_time, model_name, api_key, is_success, status_code, latency_ms) VALUES ('2025-06-05 12:00:00.000000', 'gemini-2.5-flash', ?, 1, 200, 400)", k3); err != nil {
		t.Fatal(err)
	}
	sum, err := importer.Import(t.Context(), src, st, mgr, importer.History{})
	if err != nil || sum.RequestLogs != 1 || sum.ErrorLogs != 0 {
		t.Fatalf("import after Gemini Balance wrote one more request: %v, %v", sum, err)
	}
	checkLogs(t, st, append(slices.Clone(fixtureRequestKeys), k3), fixtureErrorKeys, true)
}

func TestImportAuthTokenFallback(t *testing.T) {
	t.Parallel()
	cfg, spec := gbDatabase(t, store.SQLite)
	gb, err := sql.Open("sqlite", cfg.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gb.Exec(`UPDATE t_settings SET value = '' WHERE "key" = 'AUTH_TOKEN'`); err != nil {
		t.Fatal(err)
	}
	gb.Close()
	st := open(t, storetest.Config(t, store.SQLite))
	mgr := manager(t, st)
	src, err := importer.OpenSource(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := importer.Import(t.Context(), src, st, mgr, importer.History{}); err != nil {
		t.Fatal(err)
	}
	// Gemini Balance let the admin in with the first allowed token when AUTH_TOKEN was empty.
	if got := config.AuthToken.Get(mgr.Current()); got != "sk-gb-client-token-0001" {
		t.Fatalf("AUTH_TOKEN = %q", got)
	}
}

func TestImportRefusesItself(t *testing.T) {
	t.Parallel()
	cfg, _ := gbDatabase(t, store.SQLite)
	st := open(t, cfg)
	mgr := manager(t, st)
	src, err := importer.OpenSource(t.Context(), cfg.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := importer.Import(t.Context(), src, st, mgr, importer.History{}); err == nil || !strings.Contains(err.Error(), "itself") {
		t.Fatalf("importing gemgate's own database: %v", err)
	}
	if n := len(logRows(t, st, "t_request_log")); n != 5 {
		t.Fatalf("%d request rows after the refused import", n)
	}
}

func TestOpenSourceErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notGB := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", notGB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE other (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for spec, want := range map[string]string{
		"":                             "no source",
		filepath.Join(dir, "missing"):  "no such SQLite file",
		notGB:                          "not a Gemini Balance database",
		"user:pw@tcp(127.0.0.1:1)/":    "names no database",
		"mysql://user:hunter2@:bad/db": "not a valid mysql:// URL",
	} {
		src, err := importer.OpenSource(t.Context(), spec)
		if err == nil {
			src.Close()
			t.Errorf("OpenSource(%q) succeeded", spec)
			continue
		}
		if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("OpenSource(%q) = %v, want %q", spec, err, want)
		}
	}
}

func TestOpenSourceBareNameUnderData(t *testing.T) {
	cfg, _ := gbDatabase(t, store.SQLite)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(cfg.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "default_db"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	src, err := importer.OpenSource(t.Context(), "default_db")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if !strings.HasSuffix(src.Name, filepath.Join("data", "default_db")) {
		t.Fatalf("source %q", src.Name)
	}
}
