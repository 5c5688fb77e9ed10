package logs

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/store/storetest"
)

const millionRows = 1_000_000

// fillRequests bulk-inserts n request-log rows spread evenly over the 30 days before now (1,000 keys,
// 5 models, 20 client tokens, one in ten a 429), and derives the counters from them as the Writer would
// have accumulated them and the clean-up job pruned them. Generating the rows inside SQLite keeps a
// million rows to seconds.
func fillRequests(tb testing.TB, s *Store, n int, now time.Time) {
	tb.Helper()
	ctx := context.Background()
	step := (30 * 24 * time.Hour).Seconds() / float64(n)
	stmts := []string{
		`WITH RECURSIVE seq(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM seq WHERE x < ` + fmt.Sprint(n-1) + `)
INSERT INTO t_request_log (request_time, model_name, api_key, is_success, status_code, latency_ms, request_id, key_id,
	token_id, route, method, path, stream, attempt_count, attempts, prompt_tokens, output_tokens, thought_tokens, cached_tokens)
SELECT strftime('%Y-%m-%d %H:%M:%S+00:00', '` + now.UTC().Format(time.DateTime) + `', '-' || (x * ` + fmt.Sprint(step) + `) || ' seconds'),
	'gemini-model-' || (x % 5), 'AIza…' || printf('%04d', x % 1000), x % 10 <> 0,
	CASE WHEN x % 10 = 0 THEN 429 ELSE 200 END, 100 + x % 900, printf('%016x', x), printf('key%09d', x % 1000),
	printf('tok%09d', x % 20), 'gemini', 'POST', '/v1beta/models/m:generateContent', 0, 1, '[]', 10, 20, 3, 0
FROM seq`,
		`INSERT INTO gg_stats_minute (bucket, route, model, status_code, requests, attempts, latency_ms)
SELECT unixepoch(request_time) / 60 * 60, route, model_name, status_code, COUNT(*), SUM(attempt_count), SUM(latency_ms)
FROM t_request_log WHERE request_time >= '` + now.Add(-minuteRetention).UTC().Format(time.DateTime) + `' GROUP BY 1, 2, 3, 4`,
		`INSERT INTO gg_stats_hour (bucket, route, model, status_code, requests, attempts, latency_ms)
SELECT unixepoch(request_time) / 3600 * 3600, route, model_name, status_code, COUNT(*), SUM(attempt_count), SUM(latency_ms)
FROM t_request_log GROUP BY 1, 2, 3, 4`,
		`INSERT INTO gg_key_stats_hour (bucket, key_id, model, status_code, key_masked, attempts, latency_ms)
SELECT unixepoch(request_time) / 3600 * 3600, key_id, model_name, status_code, MAX(api_key), COUNT(*), SUM(latency_ms)
FROM t_request_log WHERE request_time >= '` + now.Add(-keyRetention).UTC().Format(time.DateTime) + `' GROUP BY 1, 2, 3, 4`,
		`INSERT INTO gg_token_daily (day, key_id, model, token_id, key_masked, requests, prompt_tokens, output_tokens,
	thought_tokens, cached_tokens)
SELECT unixepoch(request_time) / 86400 * 86400, key_id, model_name, token_id, MAX(api_key), COUNT(*), SUM(prompt_tokens),
	SUM(output_tokens), SUM(thought_tokens), SUM(cached_tokens)
FROM t_request_log GROUP BY 1, 2, 3, 4`,
	}
	// Indexes are cheaper built once after the rows than kept up row by row.
	indexes := map[string]string{}
	rows, err := s.st.DB().QueryContext(ctx, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 't_request_log' AND sql IS NOT NULL")
	if err != nil {
		tb.Fatal(err)
	}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			tb.Fatal(err)
		}
		indexes[name] = def
	}
	rows.Close()
	for name := range indexes {
		stmts = append([]string{"DROP INDEX " + name}, stmts...)
	}
	for _, def := range indexes {
		stmts = append(stmts, def)
	}
	// No ANALYZE: gemgate never runs it, so the planner works from its defaults, as in production.
	for _, q := range stmts {
		begin := time.Now()
		if _, err := s.st.DB().ExecContext(ctx, q); err != nil {
			tb.Fatalf("filling: %v\n%s", err, q)
		}
		if testing.Verbose() {
			tb.Logf("%6.2fs %s", time.Since(begin).Seconds(), strings.Join(strings.Fields(q)[:min(3, len(strings.Fields(q)))], " "))
		}
	}
}

// statsCalls are the statistics the admin API serves, as it calls them.
func statsCalls(s *Store, now time.Time) map[string]func(context.Context) error {
	day := now.Add(-24 * time.Hour)
	return map[string]func(context.Context) error{
		"summary": func(ctx context.Context) error { _, err := s.Summary(ctx, now, time.UTC); return err },
		"series 1h": func(ctx context.Context) error {
			_, err := s.Series(ctx, now, time.Hour, false)
			return err
		},
		"series 7d": func(ctx context.Context) error {
			_, err := s.Series(ctx, now, 7*24*time.Hour, true)
			return err
		},
		"models 24h": func(ctx context.Context) error { _, err := s.Models(ctx, now, day); return err },
		"models 30d": func(ctx context.Context) error { _, err := s.Models(ctx, now, now.AddDate(0, 0, -30)); return err },
		"keys 24h":   func(ctx context.Context) error { _, err := s.Keys(ctx, day); return err },
		"attention": func(ctx context.Context) error {
			_, err := s.AttentionKeys(ctx, day, 429, 10, nil)
			return err
		},
		"attention all": func(ctx context.Context) error {
			_, err := s.AttentionKeys(ctx, day, 0, 10, nil)
			return err
		},
		"key details": func(ctx context.Context) error {
			_, err := s.KeyDetails(ctx, "key000000007", day, 100)
			return err
		},
		"details 24h": func(ctx context.Context) error { _, err := s.Recent(ctx, day, "", 100); return err },
		"tokens by key 90d": func(ctx context.Context) error {
			_, err := s.Tokens(ctx, "key", now.AddDate(0, 0, -90))
			return err
		},
		"tokens by token 30d": func(ctx context.Context) error {
			_, err := s.Tokens(ctx, "token", now.AddDate(0, 0, -30))
			return err
		},
	}
}

// millionRowsEnv opts in to TestStatisticsAtAMillionRows, which fills a million rows (minutes under -race).
const millionRowsEnv = "GEMGATE_TEST_MILLION_ROWS"

// Every statistic answers from the counters or through an index, never by scanning a table. gemgate never
// runs ANALYZE, so SQLite plans from its defaults whatever the row count: a small fill shows the plans a
// million rows get.
func TestStatisticsPlans(t *testing.T) {
	t.Parallel()
	checkStatistics(t, 2_000, 0)
}

// A million logged requests: the same plans, and every statistic stays fast. Opt-in: the fill takes
// most of a minute (over eight under -race), and the per-call budget is a wall-clock measure that belongs
// on a quiet machine; BenchmarkStatisticsAtAMillionRows measures the same calls.
func TestStatisticsAtAMillionRows(t *testing.T) {
	t.Parallel()
	if os.Getenv(millionRowsEnv) == "" {
		t.Skip("set " + millionRowsEnv + "=1 to fill a million rows")
	}
	budget := 500 * time.Millisecond
	if raceEnabled {
		budget = 10 * time.Second // the race detector instruments the pure-Go SQLite
	}
	checkStatistics(t, millionRows, budget)
}

// checkStatistics fills rows request-log rows, then makes every statistics call, failing on a full scan
// in any query it runs or, when budget is set, on a call slower than budget.
func checkStatistics(t *testing.T, rows int, budget time.Duration) {
	s := NewStore(storetest.Open(t, store.SQLite))
	now := time.Now().UTC()
	start := time.Now()
	fillRequests(t, s, rows, now)
	t.Logf("filled %d request-log rows and their counters in %v", rows, time.Since(start).Round(time.Millisecond))

	var traced []struct {
		q    string
		args []any
	}
	s.trace = func(q string, args []any) {
		traced = append(traced, struct {
			q    string
			args []any
		}{q, args})
	}
	for name, call := range statsCalls(s, now) {
		traced = traced[:0]
		begin := time.Now()
		if err := call(t.Context()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		took := time.Since(begin)
		t.Logf("%-20s %8.2f ms", name, float64(took.Microseconds())/1000)
		if budget > 0 && took > budget {
			t.Errorf("%s took %v with %d rows", name, took, rows)
		}
		if len(traced) == 0 {
			t.Errorf("%s: no query traced", name)
		}
		for _, tq := range traced {
			checkPlan(t, s, name, tq.q, tq.args)
		}
	}
	sum, err := s.Summary(t.Context(), now, time.UTC)
	if err != nil || sum.Day.Total < int64(rows/31) || sum.Day.Failure*10 > sum.Day.Total+10 {
		t.Fatalf("summary over the fill: %+v %v", sum, err)
	}
}

// checkPlan fails when SQLite would read a whole table for q.
func checkPlan(t *testing.T, s *Store, name, q string, args []any) {
	t.Helper()
	rows, err := s.st.DB().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("%s: explaining %s: %v", name, q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	for _, line := range plan {
		if strings.HasPrefix(line, "SCAN ") {
			t.Errorf("%s: full scan (%s) in the plan of\n%s\nplan: %q", name, line, q, plan)
		}
	}
}

func BenchmarkStatisticsAtAMillionRows(b *testing.B) {
	s := NewStore(storetest.Open(b, store.SQLite))
	now := time.Now().UTC()
	fillRequests(b, s, millionRows, now)
	for name, call := range statsCalls(s, now) {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			for b.Loop() {
				if err := call(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriter measures the Writer's end-to-end throughput into SQLite: entries like a retried call
// (two attempts, one error row), batched as in production.
func BenchmarkWriter(b *testing.B) {
	s := NewStore(storetest.Open(b, store.SQLite))
	w := NewWriter(s, WriterOptions{Buffer: 100000, Scrub: scrubber()})
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprintf("AIzaSyBench%028d", i)
	}
	at := time.Now()
	driveWriter(b, w, func(i int) *reqlog.Entry {
		k1, k2 := keys[i%100], keys[(i+1)%100]
		return &reqlog.Entry{ID: reqlog.NewID(), Start: at, Route: "gemini", Method: "POST",
			Path: "/v1beta/models/gemini-2.5-flash:generateContent", Model: "gemini-2.5-flash", TokenID: "t0", Status: 200,
			Latency: time.Second, Usage: reqlog.Usage{Prompt: 10, Output: 100},
			Attempts: []reqlog.Attempt{
				{KeyID: secret.ID(k1), KeyMasked: secret.Mask(k1), Status: 429, Class: "key_failure", Error: "429 RESOURCE_EXHAUSTED",
					ErrorBody: []byte(`{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}`), Started: at},
				{KeyID: secret.ID(k2), KeyMasked: secret.Mask(k2), Status: 200, Class: "ok", Started: at},
			}}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkWriterKeys measures the Writer as the saturation bench drives it: successful native calls,
// one attempt each, rotating over 1,000 or 100,000 keys, so that the per-key statistics rows (key ×
// hour, key × day × token) aggregate as they do in production.
func BenchmarkWriterKeys(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			s := NewStore(storetest.Open(b, store.SQLite))
			w := NewWriter(s, WriterOptions{Buffer: 100000, Scrub: scrubber()})
			ids, masked := make([]string, n), make([]string, n)
			for i := range n {
				k := fmt.Sprintf("AIzaSyBench%028d", i)
				ids[i], masked[i] = secret.ID(k), secret.Mask(k)
			}
			at := time.Now()
			driveWriter(b, w, func(i int) *reqlog.Entry {
				k := i % n
				return &reqlog.Entry{ID: reqlog.NewID(), Start: at, Route: "gemini", Method: "POST",
					Path: "/v1beta/models/gemini-2.5-flash:generateContent", Model: "gemini-2.5-flash", TokenID: "t0", Status: 200,
					Latency: time.Millisecond, Usage: reqlog.Usage{Prompt: 10, Output: 100},
					Attempts: []reqlog.Attempt{{KeyID: ids[k], KeyMasked: masked[k], Status: 200, Class: "ok", Started: at, Latency: time.Millisecond}}}
			})
		})
	}
}

// driveWriter submits b.N entries and waits for the writer to write them, all of it timed (a b.N loop
// rather than b.Loop, whose timer stops with the loop, before the Flush where the writer catches up),
// and reports the process's CPU per entry.
func driveWriter(b *testing.B, w *Writer, entry func(i int) *reqlog.Entry) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for i := range b.N {
		e := entry(i)
		for w.Stats().Buffered > 90000 {
			time.Sleep(time.Millisecond) // measure the database, not the drops
		}
		w.Submit(e)
	}
	if err := w.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	w.Close()
	if st := w.Stats(); st.Written != uint64(b.N) {
		b.Fatalf("wrote %d of %d (%+v)", st.Written, b.N, st)
	}
}

// processCPU is the CPU time of this process (every goroutine, the writer's included): on a shared
// machine wall time per entry says more about the neighbours than about the writer.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
