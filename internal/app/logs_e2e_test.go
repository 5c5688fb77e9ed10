package app_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/applog"
	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/logs"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/testutil"
)

// newLoggedHarness is newHarness with gemgate's application log captured as JSON lines at debug level.
func newLoggedHarness(t *testing.T, fcfg fakeupstream.Config, env map[string]string) (*harness, *testutil.Buffer) {
	t.Helper()
	lines := &testutil.Buffer{}
	fake := fakeupstream.New(fcfg)
	up := httptest.NewServer(fake)
	t.Cleanup(up.Close)
	h := &harness{t: t, fake: fake, up: up, dbDir: t.TempDir(),
		logger: slog.New(applog.NewSwitch(lines, slog.LevelDebug, applog.JSON))}
	h.env = map[string]string{
		"SQLITE_DATABASE": filepath.Join(h.dbDir, "gemgate.db"),
		"BASE_URL":        up.URL + "/v1beta",
		"ALLOWED_TOKENS":  `["` + clientToken + `"]`,
		"AUTH_TOKEN":      adminToken,
		"API_KEYS":        goodKey(0) + "," + goodKey(1),
	}
	for k, v := range env {
		h.env[k] = v
	}
	h.start()
	return h, lines
}

func (h *harness) flushLogs() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.app.LogWriter.Flush(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// admin calls the admin API and returns the decoded JSON answer.
func (h *harness) admin(method, path string, body any, into any) result {
	h.t.Helper()
	r := h.do(method, path, body, adminHeader)
	if r.status >= 300 && r.status != 404 {
		h.t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	if into != nil && len(r.body) > 0 {
		if err := json.Unmarshal(r.body, into); err != nil {
			h.t.Fatalf("%s %s: %v: %s", method, path, err, r.body)
		}
	}
	return r
}

// dumpTables returns the text of every row of every table, except the two that exist to hold secrets:
// the key list's state (t_api_keys) and the settings (t_settings, with API_KEYS and ALLOWED_TOKENS).
func dumpTables(t *testing.T, db *sql.DB) (string, map[string]int) {
	t.Helper()
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var out strings.Builder
	counts := map[string]int{}
	for _, table := range tables {
		if table == "t_api_keys" || table == "t_settings" {
			continue
		}
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			counts[table]++
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&out, "%s.%s=%v\n", table, cols[i], v)
			}
		}
		rows.Close()
	}
	return out.String(), counts
}

// A run with known keys and tokens: good keys, an invalid one, a rate-limited one; a good token, a
// wrong one, none; bad JSON; a request body quoting secrets. Afterwards no stored row, admin answer or
// log line holds any of them in full; the request log tells each call's retry story and the error log
// has a row, with masked key and key id, per failed attempt.
func TestLogsE2ENoSecretsAnywhere(t *testing.T) {
	t.Parallel()
	invalid := "AIzaSyInvalid" + strings.Repeat("1", 26)
	limited := "AIzaSyLimited" + strings.Repeat("2", 26)
	otherToken := "team-b-token-with-no-known-shape"
	wrongToken := "wrong-token-not-shaped-like-anything"
	wrongSK := "sk-wrong-" + strings.Repeat("9", 30)
	secrets := map[string]string{"good key 0": goodKey(0), "good key 1": goodKey(1), "invalid key": invalid,
		"limited key": limited, "client token": clientToken, "other token": otherToken, "admin token": adminToken,
		"wrong token": wrongToken, "wrong sk token": wrongSK}
	h, lines := newLoggedHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{
		invalid: fakeupstream.Invalid, limited: fakeupstream.RateLimitMinute,
	}}, map[string]string{
		"API_KEYS":                      strings.Join([]string{invalid, limited, goodKey(0), goodKey(1)}, ","),
		"ALLOWED_TOKENS":                `["` + clientToken + `","` + otherToken + `"]`,
		"ERROR_LOG_RECORD_REQUEST_BODY": "true",
		"LOG_LEVEL":                     "DEBUG",
		"MAX_RETRIES":                   "3",
	})
	var answers strings.Builder // every admin answer, checked for secrets too
	record := func(r result) result { answers.Write(r.body); answers.WriteByte('\n'); return r }

	leaky := hello("my key is " + goodKey(1) + ", my token " + clientToken + " and " + otherToken)
	for i := range 8 {
		tok := map[string]string{"x-goog-api-key": clientToken}
		if i%2 == 1 {
			tok = map[string]string{"Authorization": "Bearer " + otherToken}
		}
		if r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello(fmt.Sprint("hello ", i)), tok); r.status != 200 {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	if r := h.do("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key="+clientToken, hello("stream"), nil); r.status != 200 {
		t.Fatalf("stream: %d %s", r.status, r.body)
	}
	// A call whose every attempt fails, with a body quoting secrets: its error rows keep the body.
	for _, k := range []string{goodKey(0), goodKey(1)} {
		h.fake.SetBehavior(k, fakeupstream.Overloaded)
	}
	if r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", leaky, tokenHeader); r.status < 500 {
		t.Fatalf("call on overloaded keys: %d %s", r.status, r.body)
	}
	for _, k := range []string{goodKey(0), goodKey(1)} {
		h.fake.SetBehavior(k, fakeupstream.OK)
	}
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent?key="+wrongToken, hello("x"), nil).googleError(t, 403)
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("x"), map[string]string{"x-goog-api-key": wrongSK}).googleError(t, 403)
	h.do("POST", "/v1beta/models/gemini-2.5-pro:generateContent", hello("x"), nil).googleError(t, 401)
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents": [`, tokenHeader).googleError(t, 400)
	h.flushLogs()

	// The request log tells the retry story of the first call, which met the invalid and the limited key.
	var reqs struct {
		Logs  []logs.RequestLog `json:"logs"`
		Total int64             `json:"total"`
	}
	record(h.admin("GET", "/api/logs/requests?limit=100&sort_by=id&sort_order=asc", nil, &reqs))
	if reqs.Total != 14 {
		t.Fatalf("%d request-log rows, want 14", reqs.Total)
	}
	var story *logs.RequestLog
	for i, r := range reqs.Logs {
		if len(r.Attempts) >= 2 && story == nil {
			story = &reqs.Logs[i]
		}
	}
	if story == nil {
		t.Fatalf("no request shows a retry: %+v", reqs.Logs)
	}
	last := story.Attempts[len(story.Attempts)-1]
	if !story.Success || last.Class != "ok" || last.Status != 200 || story.Key != last.Key || story.KeyID != last.KeyID ||
		story.AttemptCount != len(story.Attempts) || story.TokenID != secret.ID(clientToken) {
		t.Fatalf("retry story %+v", story)
	}
	for i, a := range story.Attempts {
		if i > 0 && a.At.Before(story.Attempts[i-1].At) {
			t.Fatalf("attempts out of order: %+v", story.Attempts)
		}
		if i < len(story.Attempts)-1 && (a.Class == "ok" || a.Status < 400) {
			t.Fatalf("attempt %d of the story is %s: %+v", i, a.Class, story.Attempts)
		}
		if !strings.Contains(a.Key, "…") || len(a.KeyID) != 12 {
			t.Fatalf("attempt key not masked or without id: %+v", a)
		}
	}

	// The error log has one row per failed attempt of that call, in order, with masked key and key id.
	var errs struct {
		Logs  []logs.ErrorLog `json:"logs"`
		Total int64           `json:"total"`
	}
	record(h.admin("GET", "/api/logs/errors?limit=100&sort_by=id&sort_order=asc&request_id="+story.RequestID, nil, &errs))
	if int(errs.Total) != len(story.Attempts)-1 {
		t.Fatalf("%d error rows for the retried call, want %d: %+v", errs.Total, len(story.Attempts)-1, errs.Logs)
	}
	for i, e := range errs.Logs {
		a := story.Attempts[i]
		if e.Attempt != i+1 || e.KeyID != a.KeyID || e.Key != a.Key || e.Code != a.Status || e.Type != "gemini-chat-non-stream" {
			t.Fatalf("error row %d %+v for attempt %+v", i, e, a)
		}
	}
	invalidRows := struct {
		Total int64 `json:"total"`
	}{}
	record(h.admin("GET", "/api/logs/errors?key_id="+secret.ID(invalid), nil, &invalidRows))
	limitedRows := invalidRows
	record(h.admin("GET", "/api/logs/errors?error_code_search=429&key_search="+escapeMask(secret.Mask(limited)), nil, &limitedRows))
	if invalidRows.Total < 1 || limitedRows.Total < 1 {
		t.Fatalf("error rows: invalid key %d, limited key %d", invalidRows.Total, limitedRows.Total)
	}
	var refused struct {
		Logs []logs.ErrorLog `json:"logs"`
	}
	record(h.admin("GET", "/api/logs/errors?error_class=refused&limit=10", nil, &refused))
	if len(refused.Logs) != 4 {
		t.Fatalf("refused requests logged %d times, want 4: %+v", len(refused.Logs), refused.Logs)
	}
	var badJSON logs.ErrorLog
	for _, e := range refused.Logs {
		if e.Code == 400 {
			record(h.admin("GET", fmt.Sprintf("/api/logs/errors/%d/details", e.ID), nil, &badJSON))
		}
	}
	if badJSON.Type != "request-refused" || !strings.Contains(badJSON.Log, "Invalid JSON payload") {
		t.Fatalf("bad JSON refusal %+v", badJSON)
	}

	// ERROR_LOG_RECORD_REQUEST_BODY: bodies are stored, scrubbed, on error rows.
	var withBody struct {
		Logs []logs.ErrorLog `json:"logs"`
	}
	record(h.admin("GET", "/api/logs/errors?limit=100", nil, &withBody))
	sawLeaky := false
	for _, e := range withBody.Logs {
		var full logs.ErrorLog
		record(h.admin("GET", fmt.Sprintf("/api/logs/errors/%d", e.ID), nil, &full))
		if strings.Contains(full.RequestMsg, "my key is") {
			sawLeaky = true
			if !strings.Contains(full.RequestMsg, secret.Mask(goodKey(1))) || !strings.Contains(full.RequestMsg, secret.Mask(otherToken)) {
				t.Fatalf("stored body not masked as expected: %s", full.RequestMsg)
			}
		}
	}
	if !sawLeaky {
		t.Fatalf("the failed call with a secret-laden body left no stored body")
	}

	// Statistics answer from the counters.
	var sum logs.Summary
	record(h.admin("GET", "/api/stats/summary", nil, &sum))
	// Of the five unsuccessful calls, four never reached Google (two wrong tokens, none, a broken body):
	// they are refused, and only the call on overloaded keys is a failure.
	if sum.Hour.Total != 14 || sum.Hour.Success != 9 || sum.Hour.Failure != 1 || sum.Hour.Refused != 4 || sum.Month.Total != 14 {
		t.Fatalf("summary %+v", sum)
	}
	// The request log tells them apart the same way.
	for outcome, want := range map[string]int64{"refused": 4, "failure": 1, "success": 9} {
		var list struct{ Total int64 }
		record(h.admin("GET", "/api/logs/requests?outcome="+outcome, nil, &list))
		if list.Total != want {
			t.Errorf("requests with outcome %s: %d, want %d", outcome, list.Total, want)
		}
	}
	var att []logs.AttentionKey
	record(h.admin("GET", "/api/stats/attention-keys?status_code=429", nil, &att))
	if len(att) != 1 || att[0].KeyID != secret.ID(limited) || att[0].Key != secret.Mask(limited) {
		t.Fatalf("attention keys %+v", att)
	}
	var kd logs.KeyDetail
	record(h.admin("GET", "/api/stats/key-details?key_id="+secret.ID(goodKey(0)), nil, &kd))
	if kd.Attempts == 0 || kd.Key != secret.Mask(goodKey(0)) || len(kd.Recent) == 0 {
		t.Fatalf("key details %+v", kd)
	}
	for _, path := range []string{"/api/stats/details?period=1h", "/api/stats/keys", "/api/stats/models", "/api/stats/series?window=1h",
		"/api/stats/tokens?group_by=token", "/api/stats/tokens?group_by=key", "/api/logs/status", "/api/jobs",
		fmt.Sprintf("/api/logs/requests/%d", story.ID)} {
		record(h.admin("GET", path, nil, nil))
	}
	if r := h.do("GET", "/api/stats/details?period=2y", nil, adminHeader); r.status != 400 {
		t.Fatalf("bad period: %d", r.status)
	}
	if r := h.do("GET", "/api/logs/requests?sort_by=api_key%3Bdrop", nil, adminHeader); r.status != 400 {
		t.Fatalf("bad sort: %d", r.status)
	}
	if r := h.do("POST", "/api/jobs/"+logs.JobDeleteErrorLogs+"/run?wait=true", nil, adminHeader); r.status != 200 {
		t.Fatalf("running the clean-up job: %d %s", r.status, r.body)
	}

	// Nothing stored, answered or logged holds a secret in full.
	dump, counts := dumpTables(t, h.app.Store.DB())
	for _, table := range []string{"t_request_log", "t_error_logs", "gg_stats_minute", "gg_stats_hour", "gg_key_stats_hour", "gg_token_daily"} {
		if counts[table] == 0 {
			t.Errorf("table %s is empty", table)
		}
	}
	logText := lines.String()
	for name, s := range secrets {
		for where, text := range map[string]string{"stored rows": dump, "admin answers": answers.String(), "log lines": logText} {
			if strings.Contains(text, s) {
				i := strings.Index(text, s)
				t.Errorf("%s: %s found in full: …%s…", where, name, text[max(0, i-200):min(len(text), i+len(s)+50)])
			}
		}
	}

	// Every log line about a request names it.
	requestLines := 0
	sc := bufio.NewScanner(strings.NewReader(logText))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if m["msg"] == "request" {
			requestLines++
			if id, _ := m["request_id"].(string); len(id) != reqlog.IDLen {
				t.Errorf("request line without request_id: %s", sc.Text())
			}
		}
	}
	if requestLines < 14 {
		t.Fatalf("%d access-log lines, want at least 14", requestLines)
	}
}

// The admin API deletes one row, a selection, or everything, and finds an error row by key and time.
func TestLogsAdminDeletesAndLookup(t *testing.T) {
	t.Parallel()
	limited := "AIzaSyLimited" + strings.Repeat("3", 26)
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{limited: fakeupstream.RateLimitMinute}},
		map[string]string{"API_KEYS": limited + "," + goodKey(0)})
	for range 6 {
		h.generate("gemini-2.5-flash", "hi")
	}
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("x"), nil)
	h.flushLogs()
	var errs struct {
		Logs  []logs.ErrorLog `json:"logs"`
		Total int64           `json:"total"`
	}
	h.admin("GET", "/api/logs/errors?limit=100&error_code_search=429", nil, &errs)
	if errs.Total == 0 {
		t.Fatal("no 429 error rows")
	}
	first := errs.Logs[0]
	var found logs.ErrorLog
	path := fmt.Sprintf("/api/logs/errors/lookup?gemini_key=%s&timestamp=%s&status_code=429",
		escapeMask(first.Key), first.Time.Add(time.Second).Format(time.RFC3339Nano))
	h.admin("GET", strings.ReplaceAll(path, "+", "%2B"), nil, &found)
	if found.KeyID != secret.ID(limited) || found.Code != 429 || found.Log == "" {
		t.Fatalf("lookup found %+v", found)
	}
	if r := h.do("GET", "/api/logs/errors/lookup?gemini_key=x", nil, adminHeader); r.status != 400 {
		t.Fatalf("lookup without timestamp: %d", r.status)
	}

	if r := h.do("DELETE", fmt.Sprintf("/api/logs/errors/%d", first.ID), nil, adminHeader); r.status != 204 {
		t.Fatalf("delete one: %d %s", r.status, r.body)
	}
	if r := h.do("DELETE", fmt.Sprintf("/api/logs/errors/%d", first.ID), nil, adminHeader); r.status != 404 {
		t.Fatalf("delete it again: %d", r.status)
	}
	if r := h.do("GET", fmt.Sprintf("/api/logs/errors/%d/details", first.ID), nil, adminHeader); r.status != 404 {
		t.Fatalf("details of a deleted row: %d", r.status)
	}
	if r := h.do("DELETE", "/api/logs/errors", map[string]any{"ids": []int64{}}, adminHeader); r.status != 400 {
		t.Fatalf("delete nothing: %d", r.status)
	}
	var reqs struct {
		Logs  []logs.RequestLog `json:"logs"`
		Total int64             `json:"total"`
	}
	h.admin("GET", "/api/logs/requests?limit=2", nil, &reqs)
	if reqs.Total != 7 {
		t.Fatalf("%d request rows, want 7", reqs.Total)
	}
	if r := h.do("DELETE", "/api/logs/requests", map[string]any{"ids": []int64{reqs.Logs[0].ID, reqs.Logs[1].ID}}, adminHeader); r.status != 204 {
		t.Fatalf("delete selection: %d %s", r.status, r.body)
	}
	h.admin("GET", "/api/logs/requests", nil, &reqs)
	if reqs.Total != 5 {
		t.Fatalf("%d request rows after deleting two, want 5", reqs.Total)
	}
	for _, table := range []string{"requests", "errors"} {
		if r := h.do("DELETE", "/api/logs/"+table+"/all", nil, adminHeader); r.status != 204 {
			t.Fatalf("delete all %s: %d %s", table, r.status, r.body)
		}
	}
	h.admin("GET", "/api/logs/requests", nil, &reqs)
	h.admin("GET", "/api/logs/errors", nil, &errs)
	if reqs.Total != 0 || errs.Total != 0 {
		t.Fatalf("after deleting all: %d request rows, %d error rows", reqs.Total, errs.Total)
	}
	// Statistics outlive the raw rows.
	var sum logs.Summary
	h.admin("GET", "/api/stats/summary", nil, &sum)
	if sum.Hour.Total != 7 {
		t.Fatalf("summary after deleting the logs %+v", sum)
	}
	if r := h.do("GET", "/api/logs/requests", nil, nil); r.status != 401 {
		t.Fatalf("log API without the admin token: %d", r.status)
	}
}

func escapeMask(s string) string { return strings.NewReplacer("…", "%E2%80%A6").Replace(s) }

// The database dies in the middle of a load: every request still succeeds, and the lost log rows are
// counted, in the writer and in /metrics.
func TestLogsSurviveDeadDatabase(t *testing.T) {
	t.Parallel()
	h, _ := newLoggedHarness(t, fakeupstream.Config{}, nil)
	var wg sync.WaitGroup
	failures := make(chan string, 1000)
	load := func(n int) {
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := h.generate("gemini-2.5-flash", fmt.Sprint("load ", i)); r.status != 200 {
					failures <- fmt.Sprintf("%d %s", r.status, r.body)
				}
			}()
		}
	}
	load(20)
	wg.Wait()
	h.flushLogs()
	if st := h.app.LogWriter.Stats(); st.Written != 20 || st.Dropped[logs.DropWriteFailed] != 0 {
		t.Fatalf("before the failure: %+v", st)
	}

	load(40)
	if err := h.app.Store.DB().Close(); err != nil {
		t.Fatal(err)
	}
	load(40)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Errorf("a request failed while the log database was down: %s", f)
	}
	h.flushLogs()
	st := h.app.LogWriter.Stats()
	if st.Dropped[logs.DropWriteFailed] == 0 || st.Written+st.Dropped[logs.DropWriteFailed] != 100 {
		t.Fatalf("after the failure: %+v", st)
	}
	r := h.do("GET", "/metrics", nil, nil)
	want := fmt.Sprintf(`gemgate_log_entries_dropped_total{reason="write_failed"} %d`, st.Dropped[logs.DropWriteFailed])
	if r.status != 200 || !strings.Contains(string(r.body), want) || !strings.Contains(string(r.body), `gemgate_requests_total{model="gemini-2.5-flash",route="gemini",status="200"} 100`) {
		t.Fatalf("metrics lack %q: %d\n%s", want, r.status, r.body)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{goodKey(1): fakeupstream.RateLimitMinute}}, nil)
	for range 4 {
		h.generate("gemini-2.5-flash", "hi")
	}
	r := h.do("GET", "/metrics", nil, nil)
	if r.status != 200 {
		t.Fatalf("from 127.0.0.1: %d %s", r.status, r.body)
	}
	for _, want := range []string{
		`gemgate_requests_total{model="gemini-2.5-flash",route="gemini",status="200"} 4`,
		`status="429"} 1`, // the rate-limited key's attempt, whatever its outcome class is called
		`gemgate_upstream_attempts_total{outcome="ok",status="200"} 4`,
		`gemgate_request_duration_seconds_bucket{route="gemini",stream="false",le="+Inf"} 4`,
		`gemgate_upstream_attempt_duration_seconds_count{outcome="ok"} 4`,
		`gemgate_keys{state="usable"}`, `gemgate_keys{state="total"} 2`, `gemgate_keys{state="disabled"}`,
		`gemgate_log_entries_dropped_total{reason="buffer_full"} 0`, `gemgate_log_entries_written_total`,
		`gemgate_log_buffer_capacity 10000`, "go_goroutines", "go_memstats_alloc_bytes", "process_resident_memory_bytes",
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(r.body), goodKey(1)) || strings.Contains(string(r.body), clientToken) {
		t.Fatal("a secret in /metrics")
	}

	// Without the allow-list, a token is needed: METRICS_TOKEN, or AUTH_TOKEN while that is empty.
	if r := h.do("PUT", "/api/config", map[string]any{"METRICS_ALLOW_IPS": []string{}}, adminHeader); r.status != 200 {
		t.Fatalf("emptying METRICS_ALLOW_IPS: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/metrics", nil, nil); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d", r.status)
	}
	if r := h.do("GET", "/metrics", nil, map[string]string{"Authorization": "Bearer " + clientToken}); r.status != 401 {
		t.Fatalf("client token: %d", r.status)
	}
	if r := h.do("GET", "/metrics", nil, adminHeader); r.status != 200 {
		t.Fatalf("admin token: %d", r.status)
	}
	metricsToken := "prometheus-scrape-token-123456"
	if r := h.do("PUT", "/api/config", map[string]any{"METRICS_TOKEN": metricsToken}, adminHeader); r.status != 200 {
		t.Fatalf("setting METRICS_TOKEN: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/metrics", nil, adminHeader); r.status != 401 {
		t.Fatalf("admin token once METRICS_TOKEN is set: %d", r.status)
	}
	if r := h.do("GET", "/metrics", nil, map[string]string{"Authorization": "Bearer " + metricsToken}); r.status != 200 {
		t.Fatalf("metrics token: %d", r.status)
	}
	if r := h.do("PUT", "/api/config", map[string]any{"METRICS_ALLOW_IPS": []string{"127.0.0.0/8"}}, adminHeader); r.status != 200 {
		t.Fatalf("setting METRICS_ALLOW_IPS: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/metrics", nil, nil); r.status != 200 {
		t.Fatalf("allowed again: %d", r.status)
	}
	if r := h.do("PUT", "/api/config", map[string]any{"METRICS_ALLOW_IPS": []string{"10.0.0.0/33"}}, adminHeader); r.status != 400 {
		t.Fatalf("an invalid range was accepted: %d %s", r.status, r.body)
	}
}

// Close writes what the log buffer holds: no request that was accepted for logging is lost when
// gemgate stops.
func TestLogsWrittenOnClose(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	for i := range 30 {
		if r := h.generate("gemini-2.5-flash", fmt.Sprint("bye ", i)); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	h.restart(nil) // no Flush: Close alone must write the buffered entries
	var reqs struct {
		Total int64 `json:"total"`
	}
	h.admin("GET", "/api/logs/requests", nil, &reqs)
	var sum logs.Summary
	h.admin("GET", "/api/stats/summary", nil, &sum)
	if reqs.Total != 30 || sum.Hour.Total != 30 {
		t.Fatalf("after a restart: %d request rows, %d counted, want 30", reqs.Total, sum.Hour.Total)
	}
}
