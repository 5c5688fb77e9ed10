package logs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/store/storetest"
	"github.com/gemgate/gemgate/internal/testutil"
)

var (
	keyA   = "AIzaSyTestKeyA" + strings.Repeat("a", 25)
	keyB   = "AIzaSyTestKeyB" + strings.Repeat("b", 25)
	keyC   = "demo-key-c-without-google-shape"
	tokenX = "sk-client-token-xxxxxxxxxxxxxxxx"
	tokenY = "plain-token-yyyyyy"
	// now is the fixed "present" of the fixture, so that windows never straddle a real month or day.
	now = time.Date(2025, 6, 15, 12, 0, 30, 0, time.UTC)
)

func attempt(key string, status int, class string, at time.Time, latency time.Duration, errText, body string) reqlog.Attempt {
	return reqlog.Attempt{KeyID: secret.ID(key), KeyMasked: secret.Mask(key), Status: status, Class: class, Latency: latency,
		Error: errText, ErrorBody: []byte(body), Started: at}
}

type fixture struct {
	ok, retried, refused, failed, older, oldest *reqlog.Entry
}

func newFixture() fixture {
	var f fixture
	t1 := now.Add(-30 * time.Second)
	f.ok = &reqlog.Entry{ID: "req-ok", Start: t1, Route: "gemini", Method: "POST",
		Path: "/v1beta/models/gemini-2.5-flash:generateContent", TokenID: secret.ID(tokenX), Model: "gemini-2.5-flash",
		Status: 200, Latency: 100 * time.Millisecond, Usage: reqlog.Usage{Prompt: 10, Output: 20, Thoughts: 5},
		Attempts: []reqlog.Attempt{attempt(keyA, 200, "ok", t1, 90*time.Millisecond, "", "")}}
	t2 := now.Add(-20 * time.Second)
	f.retried = &reqlog.Entry{ID: "req-retried", Start: t2, Route: "gemini", Method: "POST",
		Path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent", TokenID: secret.ID(tokenX), Model: "gemini-2.5-flash",
		Stream: true, Status: 200, Latency: 300 * time.Millisecond, Usage: reqlog.Usage{Prompt: 100, Output: 50, Cached: 10},
		Attempts: []reqlog.Attempt{
			attempt(keyB, 429, "key_failure", t2, 50*time.Millisecond, "429 RESOURCE_EXHAUSTED: quota",
				`{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"quota exceeded, try `+keyC+` or token `+tokenX+`"}}`),
			attempt(keyA, 200, "ok", t2.Add(60*time.Millisecond), 200*time.Millisecond, "", ""),
		}}
	f.refused = &reqlog.Entry{ID: "req-refused", Start: now.Add(-10 * time.Second), Route: "gemini", Method: "POST",
		Path: "/v1beta/models/gemini-2.5-pro:generateContent", Status: 403, Latency: time.Millisecond,
		Rejection: "invalid client token " + tokenY}
	t4 := now.Add(-2 * time.Hour)
	f.failed = &reqlog.Entry{ID: "req-failed", Start: t4, Route: "openai", Method: "POST", Path: "/v1/chat/completions",
		TokenID: secret.ID(tokenY), Model: "gemini-2.0-flash", Status: 400, Latency: 900 * time.Millisecond,
		RequestBody: []byte(`{"contents":[{"parts":[{"text":"my key is ` + keyC + ` and my token ` + tokenY + `"}]}]}`),
		Attempts: []reqlog.Attempt{
			attempt(keyC, 400, "key_invalid", t4, 10*time.Millisecond, "400 INVALID_ARGUMENT API_KEY_INVALID", `{"error":{"code":400,"message":"API key not valid"}}`),
			attempt(keyB, 503, "transient", t4.Add(20*time.Millisecond), 30*time.Millisecond, "503 UNAVAILABLE: overloaded", `{"error":{"code":503}}`),
			attempt(keyA, 400, "client_error", t4.Add(60*time.Millisecond), 40*time.Millisecond, "400 INVALID_ARGUMENT: bad field", `{"error":{"code":400,"message":"bad field"}}`),
		}}
	t5 := now.AddDate(0, 0, -10)
	f.older = &reqlog.Entry{ID: "req-older", Start: t5, Route: "gemini", Method: "POST",
		Path: "/v1beta/models/gemini-2.5-flash:generateContent", TokenID: secret.ID(tokenX), Model: "gemini-2.5-flash",
		Status: 200, Latency: 50 * time.Millisecond, Attempts: []reqlog.Attempt{attempt(keyA, 200, "ok", t5, 40*time.Millisecond, "", "")}}
	t6 := now.AddDate(0, 0, -40)
	f.oldest = &reqlog.Entry{ID: "req-oldest", Start: t6, Route: "gemini", Method: "POST",
		Path: "/v1beta/models/gemini-2.5-flash:generateContent", TokenID: secret.ID(tokenX), Model: "gemini-2.5-flash",
		Status: 200, Latency: 50 * time.Millisecond, Attempts: []reqlog.Attempt{attempt(keyA, 200, "ok", t6, 40*time.Millisecond, "", "")}}
	return f
}

func (f fixture) all() []*reqlog.Entry {
	return []*reqlog.Entry{f.ok, f.retried, f.refused, f.failed, f.older, f.oldest}
}

func scrubber() *secret.Scrubber {
	return secret.NewScrubber([]string{keyA, keyB, keyC}, []string{tokenX, tokenY})
}

// load writes entries through a real Writer and waits until they are in the database.
func load(t *testing.T, s *Store, mode Mode, entries ...*reqlog.Entry) *Writer {
	t.Helper()
	w := NewWriter(s, WriterOptions{Mode: func() Mode { return mode }, Scrub: scrubber()})
	for _, e := range entries {
		w.Submit(e)
	}
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if st := w.Stats(); st.Written != uint64(len(entries)) {
		t.Fatalf("writer stats %+v, want %d written", st, len(entries))
	}
	return w
}

func ids(rows []RequestLog) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.RequestID
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func TestRequestLog(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		s := NewStore(st)
		f := newFixture()
		load(t, s, ModeAll, f.all()...)

		all, total, err := s.ListRequests(ctx, Filter{}, Page{Limit: 100, Desc: true})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"req-refused", "req-retried", "req-ok", "req-failed", "req-older", "req-oldest"}; total != 6 || !equal(ids(all), want) {
			t.Fatalf("listing %v (total %d), want %v", ids(all), total, want)
		}
		r := all[1]
		if r.Key != secret.Mask(keyA) || r.KeyID != secret.ID(keyA) || r.TokenID != secret.ID(tokenX) || !r.Stream || !r.Success ||
			r.Status != 200 || r.LatencyMS != 300 || r.Route != "gemini" || r.Model != "gemini-2.5-flash" || r.AttemptCount != 2 ||
			r.Usage != (UsageView{Prompt: 100, Output: 50, Cached: 10}) || !r.Time.Equal(f.retried.Start) {
			t.Fatalf("retried row %+v", r)
		}
		if len(r.Attempts) != 2 || r.Attempts[0].KeyID != secret.ID(keyB) || r.Attempts[0].Status != 429 ||
			r.Attempts[0].Class != "key_failure" || r.Attempts[1].Key != secret.Mask(keyA) || r.Attempts[1].Status != 200 ||
			r.Attempts[1].LatencyMS != 200 {
			t.Fatalf("retry story %+v", r.Attempts)
		}
		if refused := all[0]; refused.Key != "" || refused.Success || refused.Status != 403 ||
			strings.Contains(refused.Error, tokenY) || !strings.Contains(refused.Error, secret.Mask(tokenY)) {
			t.Fatalf("refused row %+v", refused)
		}

		one, err := s.Request(ctx, r.ID)
		if err != nil || one.RequestID != "req-retried" || len(one.Attempts) != 2 {
			t.Fatalf("Request(%d) = %+v, %v", r.ID, one, err)
		}
		if _, err := s.Request(ctx, 1<<40); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing row: %v", err)
		}

		no := false
		for name, c := range map[string]struct {
			f    Filter
			want []string
		}{
			"key":      {Filter{KeyID: secret.ID(keyA)}, []string{"req-retried", "req-ok", "req-failed", "req-older", "req-oldest"}},
			"never":    {Filter{KeyID: secret.ID(keyB)}, []string{}},
			"masked":   {Filter{KeySearch: strings.ToLower(keyA[len(keyA)-4:])}, []string{"req-retried", "req-ok", "req-failed", "req-older", "req-oldest"}},
			"model":    {Filter{Model: "gemini-2.5-pro"}, []string{"req-refused"}},
			"status":   {Filter{Status: 400}, []string{"req-failed"}},
			"failures": {Filter{Success: &no}, []string{"req-refused", "req-failed"}},
			"route":    {Filter{Route: "openai"}, []string{"req-failed"}},
			"token":    {Filter{TokenID: secret.ID(tokenY)}, []string{"req-failed"}},
			"request":  {Filter{RequestID: "req-ok"}, []string{"req-ok"}},
			"window":   {Filter{Start: now.Add(-time.Hour), End: now.Add(-15 * time.Second)}, []string{"req-retried", "req-ok"}},
			"wildcard": {Filter{KeySearch: "%"}, []string{}},
		} {
			got, n, err := s.ListRequests(ctx, c.f, Page{Limit: 100, Desc: true})
			if err != nil || !equal(ids(got), c.want) || n != int64(len(c.want)) {
				t.Errorf("%s: %v (total %d, %v), want %v", name, ids(got), n, err, c.want)
			}
		}
		page, n, err := s.ListRequests(ctx, Filter{}, Page{Limit: 2, Offset: 2, SortBy: "latency_ms"})
		if err != nil || n != 6 || !equal(ids(page), []string{"req-oldest", "req-ok"}) {
			t.Fatalf("page by latency: %v (total %d, %v)", ids(page), n, err)
		}
		if _, _, err := s.ListRequests(ctx, Filter{}, Page{SortBy: "id; DROP TABLE t_request_log"}); !errors.Is(err, ErrBadSort) {
			t.Fatalf("unlisted sort column: %v", err)
		}

		n, err = s.DeleteIDs(ctx, RequestTable, []int64{all[0].ID, all[1].ID, 1 << 40})
		if err != nil || n != 2 {
			t.Fatalf("DeleteIDs = %d, %v", n, err)
		}
		if n, err = s.DeleteBefore(ctx, RequestTable, now.AddDate(0, 0, -1)); err != nil || n != 2 {
			t.Fatalf("DeleteBefore = %d, %v", n, err)
		}
		if n, err = s.DeleteAll(ctx, RequestTable); err != nil || n != 2 {
			t.Fatalf("DeleteAll = %d, %v", n, err)
		}
		if _, err := s.DeleteAll(ctx, "t_settings"); err == nil {
			t.Fatal("DeleteAll accepted a table that is not a log")
		}
	})
}

func TestErrorLog(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		s := NewStore(st)
		f := newFixture()
		load(t, s, ModeAll, f.all()...)

		all, total, err := s.ListErrors(ctx, Filter{}, Page{Limit: 100})
		if err != nil || total != 5 || len(all) != 5 {
			t.Fatalf("errors: %d rows (total %d), %v", len(all), total, err)
		}
		byKey := map[string][]ErrorLog{}
		for _, e := range all {
			byKey[e.RequestID] = append(byKey[e.RequestID], e)
		}
		fail := byKey["req-failed"]
		if len(fail) != 3 || fail[0].Attempt != 1 || fail[0].KeyID != secret.ID(keyC) || fail[0].Key != secret.Mask(keyC) ||
			fail[0].Class != "key_invalid" || fail[0].Code != 400 || fail[0].Type != "openai-chat-non-stream" ||
			fail[1].Class != "transient" || fail[1].Code != 503 || fail[2].Class != "client_error" || fail[0].Model != "gemini-2.0-flash" {
			t.Fatalf("failed request's error rows %+v", fail)
		}
		if ref := byKey["req-refused"]; len(ref) != 1 || ref[0].Class != "refused" || ref[0].Type != "auth-refused" ||
			ref[0].Code != 403 || ref[0].Key != "" || ref[0].Model != "gemini-2.5-pro" {
			t.Fatalf("refusal row %+v", ref)
		}
		if r := byKey["req-retried"]; len(r) != 1 || r[0].Type != "gemini-chat-stream" || r[0].Code != 429 {
			t.Fatalf("retried request's error row %+v", r)
		}

		withBody, err := s.Error(ctx, fail[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(withBody.RequestMsg, "my key is "+secret.Mask(keyC)) || strings.Contains(withBody.RequestMsg, keyC) ||
			strings.Contains(withBody.RequestMsg, tokenY) || !strings.Contains(withBody.Log, "API key not valid") {
			t.Fatalf("stored body %q / log %q", withBody.RequestMsg, withBody.Log)
		}
		quoted, err := s.Error(ctx, byKey["req-retried"][0].ID)
		if err != nil || strings.Contains(quoted.Log, keyC) || strings.Contains(quoted.Log, tokenX) ||
			!strings.Contains(quoted.Log, secret.Mask(keyC)) || quoted.RequestMsg != "" {
			t.Fatalf("upstream body kept a secret: %q (%v)", quoted.Log, err)
		}
		if _, err := s.Error(ctx, 1<<40); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing error row: %v", err)
		}

		for name, c := range map[string]struct {
			f    Filter
			want int
		}{
			"code":   {Filter{Status: 400}, 2},
			"search": {Filter{Search: "resource_exhausted"}, 1},
			"type":   {Filter{Search: "CHAT-NON"}, 3},
			"exact":  {Filter{ErrorType: "auth-refused"}, 1},
			"class":  {Filter{Class: "transient"}, 1},
			"key":    {Filter{KeyID: secret.ID(keyB)}, 2},
			"masked": {Filter{KeySearch: secret.Mask(keyC)}, 1},
			"model":  {Filter{Model: "gemini-2.5-flash"}, 1},
			"window": {Filter{Start: now.Add(-3 * time.Hour), End: now.Add(-time.Hour)}, 3},
		} {
			got, n, err := s.ListErrors(ctx, c.f, Page{Limit: 100})
			if err != nil || len(got) != c.want || n != int64(c.want) {
				t.Errorf("%s: %d rows (total %d, %v), want %d", name, len(got), n, err, c.want)
			}
		}
		sorted, _, err := s.ListErrors(ctx, Filter{}, Page{Limit: 100, SortBy: "error_code", Desc: true})
		if err != nil || sorted[0].Code != 503 {
			t.Fatalf("sorted by code: %+v %v", sorted, err)
		}

		found, err := s.LookupError(ctx, secret.Mask(keyB), f.failed.Start, 503, 100*time.Second)
		if err != nil || found.RequestID != "req-failed" || found.Code != 503 || found.Log == "" {
			t.Fatalf("lookup by masked key: %+v %v", found, err)
		}
		found, err = s.LookupError(ctx, secret.ID(keyB), f.retried.Start.Add(time.Second), 0, 100*time.Second)
		if err != nil || found.RequestID != "req-retried" {
			t.Fatalf("lookup by key id: %+v %v", found, err)
		}
		if _, err := s.LookupError(ctx, secret.ID(keyB), now.AddDate(0, 0, -5), 0, 100*time.Second); !errors.Is(err, ErrNotFound) {
			t.Fatalf("lookup far away: %v", err)
		}

		if n, err := s.DeleteIDs(ctx, ErrorTable, []int64{fail[0].ID}); err != nil || n != 1 {
			t.Fatalf("DeleteIDs = %d, %v", n, err)
		}
		if n, err := s.DeleteBefore(ctx, ErrorTable, now.Add(-time.Hour)); err != nil || n != 2 {
			t.Fatalf("DeleteBefore = %d, %v", n, err)
		}
		if n, err := s.DeleteAll(ctx, ErrorTable); err != nil || n != 2 {
			t.Fatalf("DeleteAll = %d, %v", n, err)
		}
	})
}

func TestStatistics(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		s := NewStore(st)
		f := newFixture()
		load(t, s, ModeAll, f.all()...)

		sum, err := s.Summary(ctx, now, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		// The 403 for a wrong client token never reached Google: it is refused, not failed.
		want := Summary{Minute: Totals{3, 2, 0, 1}, Hour: Totals{3, 2, 0, 1}, Day: Totals{4, 2, 1, 1}, Month: Totals{5, 3, 1, 1}}
		if sum != want {
			t.Fatalf("summary %+v, want %+v", sum, want)
		}
		// The month starts at midnight of the 1st in the zone asked for; in UTC+14 that is still before
		// every fixture request of June.
		if sum, err := s.Summary(ctx, now, time.FixedZone("UTC+14", 14*3600)); err != nil || sum.Month != want.Month {
			t.Fatalf("summary in UTC+14: %+v %v", sum, err)
		}

		series, err := s.Series(ctx, now, time.Hour, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(series) != 60 || !series[59].Time.Equal(now.Truncate(time.Minute)) {
			t.Fatalf("minute series has %d points ending %v", len(series), series[len(series)-1].Time)
		}
		if p := series[59]; p.Total != 3 || p.Success != 2 || p.Failure != 0 || p.Refused != 1 || p.AvgLatencyMS != (100+300+1)/3 {
			t.Fatalf("last minute %+v", p)
		}
		hourly, err := s.Series(ctx, now, 24*time.Hour, true)
		if err != nil {
			t.Fatal(err)
		}
		var hours int64
		for _, p := range hourly {
			hours += p.Total
		}
		if len(hourly) != 24 || hours != 4 {
			t.Fatalf("hourly series: %d points, %d requests", len(hourly), hours)
		}

		models, err := s.Models(ctx, now, now.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(models) != 3 || models[0].Model != "gemini-2.5-flash" || models[0].Requests != 2 || models[0].Attempts != 3 || models[0].Success != 2 {
			t.Fatalf("models %+v", models)
		}
		weekModels, err := s.Models(ctx, now, now.AddDate(0, 0, -30))
		if err != nil || weekModels[0].Requests != 3 {
			t.Fatalf("models over 30 days %+v %v", weekModels, err)
		}

		keys, err := s.Keys(ctx, now.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 3 || keys[0].KeyID != secret.ID(keyA) || keys[0].Key != secret.Mask(keyA) || keys[0].Attempts != 3 ||
			keys[0].Success != 2 || keys[0].Status400 != 1 {
			t.Fatalf("keys %+v", keys)
		}

		att, err := s.AttentionKeys(ctx, now.Add(-24*time.Hour), 429, 10, nil)
		if err != nil || len(att) != 1 || att[0].KeyID != secret.ID(keyB) || att[0].Count != 1 || att[0].StatusCode != 429 {
			t.Fatalf("attention 429 %+v %v", att, err)
		}
		att, err = s.AttentionKeys(ctx, now.Add(-24*time.Hour), 0, 10, func(id string) bool { return id != secret.ID(keyC) })
		if err != nil || len(att) != 2 {
			t.Fatalf("attention all %+v %v", att, err)
		}
		// Successes are not in the index of failures: asked for, they are still found.
		att, err = s.AttentionKeys(ctx, now.Add(-24*time.Hour), 200, 10, nil)
		if err != nil || len(att) != 1 || att[0].KeyID != secret.ID(keyA) || att[0].Count != 2 {
			t.Fatalf("attention 200 %+v %v", att, err)
		}

		d, err := s.KeyDetails(ctx, secret.ID(keyA), now.Add(-24*time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if d.Attempts != 3 || len(d.ByModel) != 2 || len(d.ByStatus) != 2 || d.ByStatus[0].Status != 200 ||
			!equal(ids(d.Recent), []string{"req-retried", "req-ok", "req-failed"}) || len(d.Errors) != 1 || d.Errors[0].Code != 400 {
			t.Fatalf("key details %+v", d)
		}

		recent, err := s.Recent(ctx, now.Add(-time.Hour), "", 2)
		if err != nil || !equal(ids(recent), []string{"req-refused", "req-retried"}) {
			t.Fatalf("recent %v %v", ids(recent), err)
		}

		byKey, err := s.Tokens(ctx, "key", now.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if byKey[0].Group != secret.ID(keyA) || byKey[0].Key != secret.Mask(keyA) || byKey[0].Requests != 3 ||
			byKey[0].Prompt != 110 || byKey[0].Output != 70 || byKey[0].Thoughts != 5 || byKey[0].Cached != 10 || byKey[0].Total != 185 {
			t.Fatalf("tokens by key %+v", byKey)
		}
		byToken, err := s.Tokens(ctx, "token", now.AddDate(0, 0, -90))
		if err != nil || byToken[0].Group != secret.ID(tokenX) || byToken[0].Requests != 4 {
			t.Fatalf("tokens by client token %+v %v", byToken, err)
		}
		byDay, err := s.Tokens(ctx, "day", now.AddDate(0, 0, -90))
		if err != nil || len(byDay) != 3 || byDay[0].Group != "2025-05-06" || byDay[2].Group != "2025-06-15" {
			t.Fatalf("tokens by day %+v %v", byDay, err)
		}
		if _, err := s.Tokens(ctx, "key_id; --", now); err == nil {
			t.Fatal("Tokens accepted an unknown grouping")
		}

		n, err := s.PruneStats(ctx, now, 30*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		// Minute rows of the 10- and 40-day-old requests, their key rows, and the 40-day-old hourly and
		// daily rows.
		if n != 6 {
			t.Fatalf("pruned %d counter rows, want 6", n)
		}
		if byDay, _ := s.Tokens(ctx, "day", now.AddDate(0, 0, -90)); len(byDay) != 2 {
			t.Fatalf("days after pruning %+v", byDay)
		}
	})
}

func TestModes(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	ctx := t.Context()
	s := NewStore(st)
	f := newFixture()
	load(t, s, ModeFailures, f.ok, f.retried, f.refused)
	got, _, err := s.ListRequests(ctx, Filter{}, Page{Limit: 10, Desc: true})
	if err != nil || !equal(ids(got), []string{"req-refused", "req-retried"}) {
		t.Fatalf("failures mode kept %v (%v)", ids(got), err)
	}
	load(t, s, ModeNone, f.failed)
	if _, n, _ := s.ListErrors(ctx, Filter{RequestID: "req-failed"}, Page{}); n != 0 {
		t.Fatalf("none mode wrote %d error rows", n)
	}
	if sum, _ := s.Summary(ctx, now, time.UTC); sum.Day.Total != 4 {
		t.Fatalf("none mode lost the statistics: %+v", sum)
	}
}

// Gemini Balance's tables hold full keys; gemgate adopts them and masks the keys, also where an
// upstream message quoted one.
func TestAdoptGeminiBalanceLogs(t *testing.T) {
	t.Parallel()
	ddl := map[store.Dialect][]string{
		store.SQLite: {
			`CREATE TABLE t_request_log (id INTEGER NOT NULL, request_time DATETIME, model_name VARCHAR(100), api_key VARCHAR(100), is_success BOOLEAN NOT NULL, status_code INTEGER, latency_ms INTEGER, PRIMARY KEY (id))`,
			`CREATE TABLE t_error_logs (id INTEGER NOT NULL, gemini_key VARCHAR(100), model_name VARCHAR(100), error_type VARCHAR(50), error_log TEXT, error_code INTEGER, request_msg JSON, request_time DATETIME, PRIMARY KEY (id))`,
		},
		store.MySQL: {
			"CREATE TABLE t_request_log (id INTEGER NOT NULL AUTO_INCREMENT, request_time DATETIME, model_name VARCHAR(100), api_key VARCHAR(100), is_success BOOL NOT NULL, status_code INTEGER, latency_ms INTEGER, PRIMARY KEY (id))",
			"CREATE TABLE t_error_logs (id INTEGER NOT NULL AUTO_INCREMENT, gemini_key VARCHAR(100), model_name VARCHAR(100), error_type VARCHAR(50), error_log TEXT, error_code INTEGER, request_msg JSON, request_time DATETIME, PRIMARY KEY (id))",
		},
		store.Postgres: {
			`CREATE TABLE t_request_log (id SERIAL PRIMARY KEY, request_time TIMESTAMP, model_name VARCHAR(100), api_key VARCHAR(100), is_success BOOLEAN NOT NULL, status_code INTEGER, latency_ms INTEGER)`,
			`CREATE TABLE t_error_logs (id SERIAL PRIMARY KEY, gemini_key VARCHAR(100), model_name VARCHAR(100), error_type VARCHAR(50), error_log TEXT, error_code INTEGER, request_msg TEXT, request_time TIMESTAMP)`,
		},
	}
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			cfg := storetest.Config(t, d)
			ctx := t.Context()
			first, err := store.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Rewind to a database Gemini Balance left behind: its two tables, none of gemgate's.
			for _, q := range []string{"DROP TABLE t_request_log", "DROP TABLE t_error_logs", "DROP TABLE gg_stats_minute",
				"DROP TABLE gg_stats_hour", "DROP TABLE gg_key_stats_hour", "DROP TABLE gg_token_daily",
				"DELETE FROM gg_schema_migrations WHERE version IN (4, 5, 6, 12)"} {
				mustExec(t, first, q)
			}
			for _, q := range ddl[d] {
				mustExec(t, first, q)
			}
			mustExec(t, first, "INSERT INTO t_request_log (request_time, model_name, api_key, is_success, status_code, latency_ms) VALUES ('2025-01-01 12:00:00', 'gemini-2.5-pro', '"+keyA+"', true, 200, 812)")
			mustExec(t, first, "INSERT INTO t_request_log (request_time, model_name, api_key, is_success, status_code, latency_ms) VALUES ('2025-01-01 12:00:01', 'gemini-2.5-pro', 'shortkey', false, 429, 10)")
			mustExec(t, first, "INSERT INTO t_error_logs (gemini_key, model_name, error_type, error_log, error_code, request_msg, request_time) VALUES ('"+keyB+"', 'gemini-2.5-pro', 'gemini-chat-stream', 'Permission denied: Consumer api_key:"+keyB+" has been suspended.', 403, '{\"contents\":[]}', '2025-01-01 12:00:00')")
			first.Close()

			st, err := store.Open(ctx, cfg)
			if err != nil {
				t.Fatalf("adopting: %v", err)
			}
			defer st.Close()
			s := NewStore(st)
			reqs, _, err := s.ListRequests(ctx, Filter{}, Page{Limit: 10, SortBy: "id"})
			if err != nil || len(reqs) != 2 {
				t.Fatalf("adopted request rows %+v %v", reqs, err)
			}
			if reqs[0].Key != secret.Mask(keyA) || reqs[0].LatencyMS != 812 || !reqs[0].Success || reqs[1].Key != "••••••••" ||
				!reqs[0].Time.Equal(time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)) || len(reqs[0].Attempts) != 0 {
				t.Fatalf("adopted request rows %+v", reqs)
			}
			errs, _, err := s.ListErrors(ctx, Filter{}, Page{Limit: 10})
			if err != nil || len(errs) != 1 {
				t.Fatalf("adopted error rows %+v %v", errs, err)
			}
			full, err := s.Error(ctx, errs[0].ID)
			if err != nil || full.Key != secret.Mask(keyB) || strings.Contains(full.Log, keyB) ||
				!strings.Contains(full.Log, "api_key:"+secret.Mask(keyB)+" has been suspended") || full.RequestMsg == "" {
				t.Fatalf("adopted error row %+v %v", full, err)
			}
			// New rows go into the adopted tables.
			load(t, s, ModeAll, newFixture().failed)
			if _, n, _ := s.ListErrors(ctx, Filter{}, Page{}); n != 4 {
				t.Fatalf("%d error rows after writing to the adopted table", n)
			}
		})
	}
}

func mustExec(t *testing.T, s *store.Store, q string) {
	t.Helper()
	if _, err := s.DB().ExecContext(t.Context(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// stuck is a database that hangs until released, or fails.
type stuck struct {
	release chan struct{}
	fail    error
	writes  chan int
}

func (s *stuck) write(b *batch) error {
	if s.release != nil {
		<-s.release
	}
	if s.writes != nil {
		s.writes <- len(b.requests)
	}
	return s.fail
}

// Submit never waits for the database: 1000 submits return while a write is stuck. In the bubble a
// Submit that waited would leave every goroutine blocked, which synctest reports as a deadlock.
func TestWriterNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := &stuck{release: make(chan struct{})}
		w := NewWriter(nil, WriterOptions{Buffer: 10, BatchSize: 5, FlushEvery: time.Millisecond, write: db.write})
		for i := range 1000 {
			w.Submit(&reqlog.Entry{ID: "r" + string(rune('a'+i%26)), Start: now, Status: 200})
		}
		// The writer holds one batch (at most 5) inside the stuck write and 10 in the buffer; the rest went.
		if d := w.Dropped(DropBufferFull); d < 1000-15 {
			t.Fatalf("dropped %d, want at least %d", d, 1000-15)
		}
		close(db.release)
		w.Close()
		st := w.Stats()
		if st.Written+st.Dropped[DropBufferFull] != 1000 {
			t.Fatalf("written %d + dropped %d != 1000", st.Written, st.Dropped[DropBufferFull])
		}
		w.Submit(&reqlog.Entry{})
		if w.Dropped(DropShutdown) != 1 {
			t.Fatal("a submit after Close was not counted")
		}
	})
}

func TestWriterCountsFailedBatches(t *testing.T) {
	t.Parallel()
	db := &stuck{fail: errors.New("database is down")}
	w := NewWriter(nil, WriterOptions{BatchSize: 10, write: db.write, Logger: discard()})
	for range 25 {
		w.Submit(&reqlog.Entry{Start: now, Status: 200})
	}
	w.Close()
	if st := w.Stats(); st.Dropped[DropWriteFailed] != 25 || st.Written != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Close writes everything that Submit accepted, even while submitters race with it: every submit is
// either written or counted as dropped.
func TestWriterCloseLosesNothingAccepted(t *testing.T) {
	t.Parallel()
	db := &stuck{writes: make(chan int, 100000)}
	w := NewWriter(nil, WriterOptions{Buffer: 1000, BatchSize: 64, write: db.write})
	ctx, cancel := context.WithCancel(context.Background())
	counts := make(chan uint64)
	for range 8 {
		go func() {
			var n uint64
			for ctx.Err() == nil {
				w.Submit(&reqlog.Entry{Start: now, Status: 200})
				n++
			}
			counts <- n
		}()
	}
	testutil.Eventually(t, "a batch written while the submitters race", func() bool { return w.Stats().Written > 0 })
	w.Close()
	cancel()
	var submitted uint64
	for range 8 {
		submitted += <-counts
	}
	close(db.writes)
	var rows uint64
	for n := range db.writes {
		rows += uint64(n)
	}
	st := w.Stats()
	if rows != st.Written || rows == 0 || st.Written+st.Dropped[DropBufferFull]+st.Dropped[DropShutdown] != submitted {
		t.Fatalf("submitted %d, wrote %d rows, stats %+v", submitted, rows, st)
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// LOG_MAX_ROWS: the oldest rows past the budget go, on every database.
func TestTrimToBudget(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		s := NewStore(st)
		f := newFixture()
		// One batch each: within a batch rows go in by key, so only batches order the ids.
		for _, e := range f.all() {
			load(t, s, ModeAll, e)
		}
		n, err := s.TrimTo(ctx, RequestTable, 4)
		if err != nil || n != 2 {
			t.Fatalf("trimmed %d: %v", n, err)
		}
		// The first rows written go first (ids grow with each batch; the fixture writes out of time order).
		all, total, err := s.ListRequests(ctx, Filter{}, Page{Limit: 100, Desc: true})
		if err != nil || total != 4 || !equal(ids(all), []string{"req-refused", "req-failed", "req-older", "req-oldest"}) {
			t.Fatalf("kept %v (%d): %v", ids(all), total, err)
		}
		if ev := s.LastEviction(); ev == nil || ev.Rows != 2 || ev.Table != RequestTable {
			t.Fatalf("eviction %+v", ev)
		}
		if n, err := s.TrimTo(ctx, RequestTable, 4); err != nil || n != 0 {
			t.Fatalf("a table within budget lost %d rows: %v", n, err)
		}
	})
}

// recorder is a database that keeps every batch it is given.
type recorder struct {
	mu      sync.Mutex
	batches []*batch
}

func (r *recorder) write(b *batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, b)
	return nil
}

// keyAttempts sums the per-key statistics rows of the batches so far, and says how many rows they were.
func (r *recorder) keyAttempts() (attempts int64, rows int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.batches {
		if b.counts == nil {
			continue
		}
		for _, v := range b.counts.keys {
			attempts += v.Attempts
			rows++
		}
	}
	return attempts, rows
}

// Statistics are held in memory for CountEvery while the request rows go out batch by batch: a key
// used in many batches costs one upsert of its hourly row, not one per batch. Flush writes them at once.
func TestWriterHoldsStatisticsForCountEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := &recorder{}
		w := NewWriter(nil, WriterOptions{FlushEvery: 500 * time.Millisecond, CountEvery: 5 * time.Second, write: db.write})
		defer w.Close()
		submit := func() {
			w.Submit(&reqlog.Entry{ID: "r", Start: now, Route: "gemini", Model: "m", Status: 200,
				Attempts: []reqlog.Attempt{{KeyID: "k1", KeyMasked: "AIza...k1", Status: 200, Class: "ok", Started: now}}})
		}
		for range 4 { // four batches, a second apart
			submit()
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if st := w.Stats(); st.Written != 4 || st.Batches != 4 {
			t.Fatalf("the request rows were held back: %+v", st)
		}
		if n, rows := db.keyAttempts(); n != 0 || rows != 0 {
			t.Fatalf("statistics written before CountEvery: %d attempts in %d rows", n, rows)
		}
		time.Sleep(1500 * time.Millisecond) // CountEvery since the first batch (at 0.5 s)
		synctest.Wait()
		if n, rows := db.keyAttempts(); n != 4 || rows != 1 {
			t.Fatalf("after CountEvery: %d attempts in %d key rows, want 4 in 1", n, rows)
		}
		submit()
		if err := w.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n, rows := db.keyAttempts(); n != 5 || rows != 2 {
			t.Fatalf("Flush left statistics in memory: %d attempts in %d key rows, want 5 in 2", n, rows)
		}
	})
}

// Rows that cannot aggregate (every request on another key, as with 100,000 keys in rotation) are not
// held for CountEvery: past CountRows they go with the next batch, so the held statistics stay small.
func TestWriterWritesStatisticsPastCountRows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := &recorder{}
		w := NewWriter(nil, WriterOptions{FlushEvery: 500 * time.Millisecond, CountEvery: time.Hour, CountRows: 10, write: db.write})
		defer w.Close()
		submit := func(key string) {
			w.Submit(&reqlog.Entry{ID: "r", Start: now, Route: "gemini", Model: "m", Status: 200,
				Attempts: []reqlog.Attempt{{KeyID: key, KeyMasked: "AIza..." + key, Status: 200, Class: "ok", Started: now}}})
		}
		submit("k0") // a minute row, an hour row, a key row, a token row: 4 of 10
		time.Sleep(time.Second)
		synctest.Wait()
		if n, _ := db.keyAttempts(); n != 0 {
			t.Fatalf("statistics written below CountRows: %d attempts", n)
		}
		for i := 1; i <= 3; i++ { // two more rows each: 10
			submit("k" + strconv.Itoa(i))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n, rows := db.keyAttempts(); n != 4 || rows != 4 {
			t.Fatalf("past CountRows: %d attempts in %d key rows written, want 4 in 4", n, rows)
		}
	})
}
