package logs

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/store"
)

// Statistics read the counter tables only (and the request log through its time and key indexes for
// the lists of recent calls), so their cost follows the number of minutes, hours and keys asked about,
// not the number of requests logged. Windows have the resolution of their counters: "the last hour" is
// the buckets that started at most an hour ago, plus the current one.

// Totals counts client requests; success is a 2xx final status, as in the reference. Refused are the
// requests gemgate answered with a client error without asking Google (wrong route, wrong token, bad
// request); failure is every other unsuccessful request, so total = success + failure + refused and a
// client's mistakes never make the keys look unhealthy.
type Totals struct {
	Total   int64 `json:"total"`
	Success int64 `json:"success"`
	Failure int64 `json:"failure"`
	Refused int64 `json:"refused"`
}

// Summary is the dashboard's call counts, under the reference's names.
type Summary struct {
	Minute Totals `json:"calls_1m"`
	Hour   Totals `json:"calls_1h"`
	Day    Totals `json:"calls_24h"`
	Month  Totals `json:"calls_month"`
}

// sum is SUM(expr) as a BIGINT on every engine, 0 rather than NULL over no rows: PostgreSQL sums
// BIGINT into NUMERIC and MySQL into DECIMAL.
func (s *Store) sum(expr string) string {
	switch s.st.Dialect() {
	case store.Postgres:
		return "CAST(COALESCE(SUM(" + expr + "), 0) AS BIGINT)"
	case store.MySQL:
		return "CAST(COALESCE(SUM(" + expr + "), 0) AS SIGNED)"
	}
	return "COALESCE(SUM(" + expr + "), 0)"
}

const okStatus = "status_code >= 200 AND status_code < 300"

// Summary counts calls in the last minute, hour and day, and since the first of the month at midnight
// in loc (to the hour: zones with a half-hour offset see the month start half an hour off).
func (s *Store) Summary(ctx context.Context, now time.Time, loc *time.Location) (Summary, error) {
	m1, h1, d1 := floorTo(now.Add(-time.Minute), minuteSecs), floorTo(now.Add(-time.Hour), minuteSecs), floorTo(now.Add(-24*time.Hour), minuteSecs)
	var out Summary
	cols := []string{}
	args := []any{}
	for _, from := range []int64{m1, h1} {
		cols = append(cols, s.sum("CASE WHEN bucket >= ? THEN requests ELSE 0 END"),
			s.sum("CASE WHEN bucket >= ? AND "+okStatus+" THEN requests ELSE 0 END"),
			s.sum("CASE WHEN bucket >= ? THEN refused ELSE 0 END"))
		args = append(args, from, from, from)
	}
	cols = append(cols, s.sum("requests"), s.sum("CASE WHEN "+okStatus+" THEN requests ELSE 0 END"), s.sum("refused"))
	q := "SELECT " + strings.Join(cols, ", ") + " FROM gg_stats_minute WHERE bucket >= ?"
	err := s.queryRow(ctx, q, append(args, d1)...).Scan(
		&out.Minute.Total, &out.Minute.Success, &out.Minute.Refused, &out.Hour.Total, &out.Hour.Success, &out.Hour.Refused,
		&out.Day.Total, &out.Day.Success, &out.Day.Refused)
	if err != nil {
		return Summary{}, fmt.Errorf("reading call counts: %w", err)
	}
	local := now.In(loc)
	month := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc)
	q = "SELECT " + s.sum("requests") + ", " + s.sum("CASE WHEN "+okStatus+" THEN requests ELSE 0 END") + ", " + s.sum("refused") +
		" FROM gg_stats_hour WHERE bucket >= ?"
	if err := s.queryRow(ctx, q, floorTo(month, hourSecs)).Scan(&out.Month.Total, &out.Month.Success, &out.Month.Refused); err != nil {
		return Summary{}, fmt.Errorf("reading call counts: %w", err)
	}
	for _, t := range []*Totals{&out.Minute, &out.Hour, &out.Day, &out.Month} {
		t.Failure = t.Total - t.Success - t.Refused
	}
	return out, nil
}

// Point is one bucket of a series.
type Point struct {
	Time         time.Time `json:"time"`
	Total        int64     `json:"total"`
	Success      int64     `json:"success"`
	Failure      int64     `json:"failure"`
	Refused      int64     `json:"refused"`
	AvgLatencyMS int64     `json:"avg_latency_ms"`
}

// Series returns request counts per minute (windows up to a day) or per hour, oldest first, with empty
// buckets included so that a chart needs no gap filling.
func (s *Store) Series(ctx context.Context, now time.Time, window time.Duration, perHour bool) ([]Point, error) {
	table, step := "gg_stats_minute", int64(minuteSecs)
	if perHour {
		table, step = "gg_stats_hour", hourSecs
	}
	first := floorTo(now.Add(-window), step) + step
	last := floorTo(now, step)
	q := "SELECT bucket, " + s.sum("requests") + ", " + s.sum("CASE WHEN "+okStatus+" THEN requests ELSE 0 END") + ", " +
		s.sum("refused") + ", " + s.sum("latency_ms") + " FROM " + table + " WHERE bucket >= ? GROUP BY bucket ORDER BY bucket"
	rows, err := s.query(ctx, q, first)
	if err != nil {
		return nil, fmt.Errorf("reading series: %w", err)
	}
	defer rows.Close()
	byBucket := map[int64]Point{}
	for rows.Next() {
		var b, total, ok, refused, lat int64
		if err := rows.Scan(&b, &total, &ok, &refused, &lat); err != nil {
			return nil, fmt.Errorf("reading series: %w", err)
		}
		byBucket[b] = Point{Total: total, Success: ok, Failure: total - ok - refused, Refused: refused, AvgLatencyMS: avg(lat, total)}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading series: %w", err)
	}
	out := make([]Point, 0, (last-first)/step+1)
	for b := first; b <= last; b += step {
		p := byBucket[b]
		p.Time = time.Unix(b, 0).UTC()
		out = append(out, p)
	}
	return out, nil
}

func avg(sum, n int64) int64 {
	if n == 0 {
		return 0
	}
	return sum / n
}

// ModelStats is one model's requests in a window.
type ModelStats struct {
	Model        string `json:"model"`
	Requests     int64  `json:"requests"`
	Success      int64  `json:"success"`
	Failure      int64  `json:"failure"`
	Refused      int64  `json:"refused"`
	Attempts     int64  `json:"attempts"`
	AvgLatencyMS int64  `json:"avg_latency_ms"`
}

// counterTable picks the per-minute counters for windows they still cover, the hourly ones otherwise.
func counterTable(now, since time.Time) (string, int64) {
	if now.Sub(since) <= 24*time.Hour {
		return "gg_stats_minute", floorTo(since, minuteSecs)
	}
	return "gg_stats_hour", floorTo(since, hourSecs)
}

// Models breaks the requests since since down by model, busiest first.
func (s *Store) Models(ctx context.Context, now, since time.Time) ([]ModelStats, error) {
	table, from := counterTable(now, since)
	q := "SELECT model, " + s.sum("requests") + ", " + s.sum("CASE WHEN "+okStatus+" THEN requests ELSE 0 END") + ", " +
		s.sum("refused") + ", " + s.sum("attempts") + ", " + s.sum("latency_ms") + " FROM " + table + " WHERE bucket >= ? GROUP BY model"
	out, err := all(ctx, s, func(row store.Row) (m ModelStats, err error) {
		var lat int64
		err = row.Scan(&m.Model, &m.Requests, &m.Success, &m.Refused, &m.Attempts, &lat)
		m.Failure, m.AvgLatencyMS = m.Requests-m.Success-m.Refused, avg(lat, m.Requests)
		return m, err
	}, q, from)
	if err != nil {
		return nil, fmt.Errorf("reading model statistics: %w", err)
	}
	slices.SortFunc(out, func(a, b ModelStats) int { return cmp.Compare(b.Requests, a.Requests) })
	return out, nil
}

// KeyStats is one key's upstream attempts in a window.
type KeyStats struct {
	KeyID        string `json:"key_id"`
	Key          string `json:"key"` // masked
	Attempts     int64  `json:"attempts"`
	Success      int64  `json:"success"`
	Failure      int64  `json:"failure"`
	Status400    int64  `json:"status_400"`
	Status403    int64  `json:"status_403"`
	Status429    int64  `json:"status_429"`
	AvgLatencyMS int64  `json:"avg_latency_ms"`
}

// keyStatsSelect sums gg_key_stats_hour per key and model; scanKeyStats merges the models. Grouping
// by (key_id, model), which no index orders, steers SQLite to the bucket range of the primary key: given
// GROUP BY key_id alone, it would rather read the whole (key_id, bucket) index to skip a sort.
func (s *Store) keyStatsSelect() string {
	return "SELECT key_id, MAX(key_masked), " + s.sum("attempts") + ", " +
		s.sum("CASE WHEN "+okStatus+" THEN attempts ELSE 0 END") + ", " +
		s.sum("CASE WHEN status_code = 400 THEN attempts ELSE 0 END") + ", " +
		s.sum("CASE WHEN status_code = 403 THEN attempts ELSE 0 END") + ", " +
		s.sum("CASE WHEN status_code = 429 THEN attempts ELSE 0 END") + ", " + s.sum("latency_ms") +
		" FROM gg_key_stats_hour"
}

func scanKeyStats(rows *sql.Rows) ([]KeyStats, error) {
	defer rows.Close()
	out := []KeyStats{}
	at := map[string]int{}
	latency := map[string]int64{}
	for rows.Next() {
		var k KeyStats
		var lat int64
		if err := rows.Scan(&k.KeyID, &k.Key, &k.Attempts, &k.Success, &k.Status400, &k.Status403, &k.Status429, &lat); err != nil {
			return nil, err
		}
		latency[k.KeyID] += lat
		i, seen := at[k.KeyID]
		if !seen {
			at[k.KeyID] = len(out)
			out = append(out, k)
			continue
		}
		m := &out[i]
		m.Key = max(m.Key, k.Key)
		m.Attempts += k.Attempts
		m.Success += k.Success
		m.Status400 += k.Status400
		m.Status403 += k.Status403
		m.Status429 += k.Status429
	}
	for i := range out {
		k := &out[i]
		k.Failure, k.AvgLatencyMS = k.Attempts-k.Success, avg(latency[k.KeyID], k.Attempts)
	}
	return out, rows.Err()
}

// Keys breaks the upstream attempts since since (to the hour, at most a week back) down by key, busiest
// first.
func (s *Store) Keys(ctx context.Context, since time.Time) ([]KeyStats, error) {
	rows, err := s.query(ctx, s.keyStatsSelect()+" WHERE bucket >= ? GROUP BY key_id, model", floorTo(since, hourSecs))
	if err != nil {
		return nil, fmt.Errorf("reading key statistics: %w", err)
	}
	out, err := scanKeyStats(rows)
	if err != nil {
		return nil, fmt.Errorf("reading key statistics: %w", err)
	}
	slices.SortFunc(out, func(a, b KeyStats) int { return cmp.Compare(b.Attempts, a.Attempts) })
	return out, nil
}

// AttentionKey is a key with many failures of the kinds that point at the key itself.
type AttentionKey struct {
	KeyID      string `json:"key_id"`
	Key        string `json:"key"` // masked
	Count      int64  `json:"count"`
	StatusCode int    `json:"status_code,omitempty"` // set when one status was asked for
	Status400  int64  `json:"status_400"`
	Status403  int64  `json:"status_403"`
	Status429  int64  `json:"status_429"`
}

// failureIndexFrom is the lowest status the partial index of gg_key_stats_hour by status holds.
const failureIndexFrom = 300

// AttentionKeys returns the keys with the most attempts answered with status (400, 403 and 429 together
// when status is 0) since since, most first; keep, when set, filters the keys (the reference showed only
// keys still in the pool).
func (s *Store) AttentionKeys(ctx context.Context, since time.Time, status, limit int, keep func(keyID string) bool) ([]AttentionKey, error) {
	cond := "status_code IN (400, 403, 429)"
	args := []any{floorTo(since, hourSecs)}
	if status != 0 {
		cond = "status_code = ?"
		args = append([]any{status}, args...)
	}
	if status == 0 || status >= failureIndexFrom {
		// The term the partial index is declared with (migration 0013), written out: planners match it
		// as text, they do not derive it from a bound status.
		cond += " AND status_code >= " + strconv.Itoa(failureIndexFrom)
	}
	rows, err := s.query(ctx, s.keyStatsSelect()+" WHERE "+cond+" AND bucket >= ? GROUP BY key_id, model", args...)
	if err != nil {
		return nil, fmt.Errorf("reading keys needing attention: %w", err)
	}
	stats, err := scanKeyStats(rows)
	if err != nil {
		return nil, fmt.Errorf("reading keys needing attention: %w", err)
	}
	out := []AttentionKey{}
	for _, k := range stats {
		if keep != nil && !keep(k.KeyID) {
			continue
		}
		out = append(out, AttentionKey{KeyID: k.KeyID, Key: k.Key, Count: k.Attempts, StatusCode: status,
			Status400: k.Status400, Status403: k.Status403, Status429: k.Status429})
	}
	slices.SortFunc(out, func(a, b AttentionKey) int { return cmp.Compare(b.Count, a.Count) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// KeyDetail is what one key did in a window.
type KeyDetail struct {
	KeyStats
	ByModel  []KeyBreakdown `json:"by_model"`
	ByStatus []KeyBreakdown `json:"by_status"`
	// Recent are the newest requests this key answered last (at most the limit asked for).
	Recent []RequestLog `json:"recent_requests"`
	// Errors are the newest failed attempts of this key.
	Errors []ErrorLog `json:"recent_errors"`
}

// KeyBreakdown counts a key's attempts by model or by status.
type KeyBreakdown struct {
	Model    string `json:"model,omitempty"`
	Status   int    `json:"status_code,omitempty"`
	Attempts int64  `json:"attempts"`
	Success  int64  `json:"success"`
}

// KeyDetails returns a key's attempts since since by model and status, and its newest requests and
// errors (limit each).
func (s *Store) KeyDetails(ctx context.Context, keyID string, since time.Time, limit int) (KeyDetail, error) {
	from := floorTo(since, hourSecs)
	rows, err := s.query(ctx, s.keyStatsSelect()+" WHERE key_id = ? AND bucket >= ? GROUP BY key_id, model", keyID, from)
	if err != nil {
		return KeyDetail{}, fmt.Errorf("reading key %s: %w", keyID, err)
	}
	stats, err := scanKeyStats(rows)
	if err != nil {
		return KeyDetail{}, fmt.Errorf("reading key %s: %w", keyID, err)
	}
	d := KeyDetail{KeyStats: KeyStats{KeyID: keyID}}
	if len(stats) > 0 {
		d.KeyStats = stats[0]
	}
	for _, g := range []struct {
		col string
		to  *[]KeyBreakdown
	}{{"model", &d.ByModel}, {"status_code", &d.ByStatus}} {
		if *g.to, err = s.keyBreakdown(ctx, keyID, from, g.col); err != nil {
			return KeyDetail{}, err
		}
	}
	f := Filter{KeyID: keyID, Start: since}
	page := Page{Limit: limit, SortBy: "request_time", Desc: true}
	if d.Recent, _, err = s.ListRequests(ctx, f, page); err != nil {
		return KeyDetail{}, err
	}
	if d.Errors, _, err = s.ListErrors(ctx, f, page); err != nil {
		return KeyDetail{}, err
	}
	return d, nil
}

func (s *Store) keyBreakdown(ctx context.Context, keyID string, from int64, col string) ([]KeyBreakdown, error) {
	q := "SELECT " + col + ", " + s.sum("attempts") + ", " + s.sum("CASE WHEN "+okStatus+" THEN attempts ELSE 0 END") +
		" FROM gg_key_stats_hour WHERE key_id = ? AND bucket >= ? GROUP BY " + col
	out, err := all(ctx, s, func(row store.Row) (b KeyBreakdown, err error) {
		dest := any(&b.Model)
		if col == "status_code" {
			dest = &b.Status
		}
		return b, row.Scan(dest, &b.Attempts, &b.Success)
	}, q, keyID, from)
	if err != nil {
		return nil, fmt.Errorf("reading key %s by %s: %w", keyID, col, err)
	}
	slices.SortFunc(out, func(a, b KeyBreakdown) int { return cmp.Compare(b.Attempts, a.Attempts) })
	return out, nil
}

// Recent returns the newest request-log rows since since (optionally of one key), newest first.
func (s *Store) Recent(ctx context.Context, since time.Time, keyID string, limit int) ([]RequestLog, error) {
	out, _, err := s.ListRequests(ctx, Filter{KeyID: keyID, Start: since}, Page{Limit: limit, SortBy: "request_time", Desc: true})
	return out, err
}

// TokenStats is requests and token usage of one group in a window of days.
type TokenStats struct {
	Group    string `json:"group"`         // key id, model, token id or day (YYYY-MM-DD), after group_by
	Key      string `json:"key,omitempty"` // masked, when grouped by key
	Requests int64  `json:"requests"`
	Prompt   int64  `json:"prompt_tokens"`
	Output   int64  `json:"output_tokens"`
	Thoughts int64  `json:"thought_tokens"`
	Cached   int64  `json:"cached_tokens"`
	Total    int64  `json:"total_tokens"`
}

// TokenGroups are the group_by values Tokens accepts, with their column.
var TokenGroups = map[string]string{"key": "key_id", "model": "model", "token": "token_id", "day": "day"}

// Tokens sums requests and tokens per group over the UTC days since since, most tokens first (by day:
// oldest first).
func (s *Store) Tokens(ctx context.Context, groupBy string, since time.Time) ([]TokenStats, error) {
	col, ok := TokenGroups[groupBy]
	if !ok {
		return nil, fmt.Errorf("cannot group tokens by %q (want key, model, token or day)", groupBy)
	}
	q := "SELECT " + col + ", MAX(key_masked), " + s.sum("requests") + ", " + s.sum("prompt_tokens") + ", " +
		s.sum("output_tokens") + ", " + s.sum("thought_tokens") + ", " + s.sum("cached_tokens") +
		" FROM gg_token_daily WHERE day >= ? GROUP BY " + col
	out, err := all(ctx, s, func(row store.Row) (t TokenStats, err error) {
		var group any
		var masked string
		err = row.Scan(&group, &masked, &t.Requests, &t.Prompt, &t.Output, &t.Thoughts, &t.Cached)
		t.Group = groupText(group, groupBy == "day")
		if groupBy == "key" {
			t.Key = masked
		}
		t.Total = t.Prompt + t.Output + t.Thoughts
		return t, err
	}, q, floorTo(since, daySecs))
	if err != nil {
		return nil, fmt.Errorf("reading token usage: %w", err)
	}
	if groupBy == "day" {
		slices.SortFunc(out, func(a, b TokenStats) int { return cmp.Compare(a.Group, b.Group) })
	} else {
		slices.SortFunc(out, func(a, b TokenStats) int { return cmp.Compare(b.Total, a.Total) })
	}
	return out, nil
}

func groupText(v any, day bool) string {
	var text string
	switch x := v.(type) {
	case []byte:
		text = string(x)
	case nil:
	default:
		text = fmt.Sprint(x)
	}
	if day {
		if secs, err := strconv.ParseInt(text, 10, 64); err == nil {
			return time.Unix(secs, 0).UTC().Format(time.DateOnly)
		}
	}
	return text
}
