package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Issue 15, item 5: an anonymous flood costs counters, not rows. 1,500 requests with wrong or missing
// tokens, on random paths and model names, write at most a few sample rows per minute and source, and
// every one of them is still counted, by reason.
func TestRefusedFloodIsCountedNotStored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	db := h.app.Store.DB()
	before := map[string]int{}
	for _, table := range []string{"t_request_log", "t_error_logs", "gg_stats_minute"} {
		before[table] = countRows(t, db, table)
	}
	for i := range 1500 {
		path := fmt.Sprintf("/v1beta/models/flood-model-%d:generateContent", i)
		switch i % 3 {
		case 0:
			h.do("POST", path, hello("x"), map[string]string{"x-goog-api-key": fmt.Sprintf("sk-wrong-%d", i)})
		case 1:
			h.do("POST", path, hello("x"), nil)
		default:
			h.do("GET", fmt.Sprintf("/v1/unknown-%d", i), nil, nil)
		}
	}
	if err := h.app.LogWriter.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Two minutes at most can be touched by the flood: 3 sample rows each.
	if n := countRows(t, db, "t_request_log") - before["t_request_log"]; n > 6 {
		t.Fatalf("the flood wrote %d request rows", n)
	}
	if n := countRows(t, db, "t_error_logs") - before["t_error_logs"]; n > 6 {
		t.Fatalf("the flood wrote %d error rows", n)
	}
	if n := countRows(t, db, "gg_stats_minute") - before["gg_stats_minute"]; n > 12 {
		t.Fatalf("the flood's model names became %d counter rows", n)
	}
	st := h.do("GET", "/api/logs/status", nil, adminHeader).json(t)
	ref := st["refusals"].(map[string]any)
	totals := ref["totals"].(map[string]any)
	if totals["invalid_token"].(float64) != 500 || totals["missing_token"].(float64) != 1000 {
		t.Fatalf("refusals not all counted: %v", totals)
	}
	top := ref["top_sources"].([]any)
	if len(top) == 0 || top[0].(map[string]any)["source"] != "127.0.0.1" || top[0].(map[string]any)["count"].(float64) != 1500 {
		t.Fatalf("refusals by source: %v", top)
	}
	// Accepted requests are still logged in full.
	if r := h.generate("gemini-2.5-flash", "hi"); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	_ = h.app.LogWriter.Flush(context.Background())
	if n := countRows(t, db, "t_request_log") - before["t_request_log"]; n > 7 || n < 1 {
		t.Fatalf("request rows after one accepted call: %d", n)
	}
}

// LOG_MAX_ROWS: the log tables keep a size budget; the trim job removes the oldest rows past it and
// the logs status (and page) says so.
func TestLogTablesKeepTheirBudget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"LOG_MAX_ROWS": "100"})
	for range 130 {
		h.generate("gemini-2.5-flash", "hi")
	}
	if err := h.app.LogWriter.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := h.do("POST", "/api/jobs/trim_log_tables/run?wait=true", nil, adminHeader); r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if n := countRows(t, h.app.Store.DB(), "t_request_log"); n != 100 {
		t.Fatalf("%d request rows kept, budget 100", n)
	}
	st := h.do("GET", "/api/logs/status", nil, adminHeader).json(t)
	ev, _ := st["budget"].(map[string]any)["last_eviction"].(map[string]any)
	if ev == nil || ev["rows"].(float64) != 30 || ev["table"] != "t_request_log" {
		t.Fatalf("status budget %v", st["budget"])
	}
}
