package logs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/store"
)

// ErrNotFound means no row has the id asked for.
var ErrNotFound = errors.New("no such log entry")

// Page bounds a listing.
type Page struct {
	Limit  int // 1–1000, default 10
	Offset int
	SortBy string // a column of the listing's whitelist; anything else is refused
	Desc   bool
}

// Filter selects log rows; zero fields do not filter.
type Filter struct {
	KeyID     string // exact key id
	KeySearch string // substring of the masked key (as shown, e.g. "AIza" or the last four characters)
	TokenID   string
	Model     string
	Route     string
	RequestID string
	Status    int // exact status code (request log) or error code (error log)
	Success   *bool
	Outcome   string // request log: "success", "failure" or "refused" (answered without asking Google)
	Search    string // error log: substring of error_type or error_log (case-insensitive)
	ErrorType string
	Class     string    // error log: error_class
	Start     time.Time // inclusive
	End       time.Time // exclusive
}

// RequestLog is one t_request_log row.
type RequestLog struct {
	ID           int64         `json:"id"`
	Time         time.Time     `json:"request_time"`
	RequestID    string        `json:"request_id"`
	Route        string        `json:"route"`
	Method       string        `json:"method"`
	Path         string        `json:"path"`
	Model        string        `json:"model_name"`
	Key          string        `json:"api_key"` // masked
	KeyID        string        `json:"key_id"`
	TokenID      string        `json:"token_id"`
	Stream       bool          `json:"stream"`
	Success      bool          `json:"is_success"`
	Status       int           `json:"status_code"`
	LatencyMS    int64         `json:"latency_ms"`
	AttemptCount int           `json:"attempt_count"`
	Attempts     []AttemptView `json:"attempts"`
	Error        string        `json:"error,omitempty"`
	Usage        UsageView     `json:"usage"`
}

// UsageView is token usage as the API shows it.
type UsageView struct {
	Prompt   int64 `json:"prompt_tokens"`
	Output   int64 `json:"output_tokens"`
	Thoughts int64 `json:"thought_tokens"`
	Cached   int64 `json:"cached_tokens"`
}

// ErrorLog is one t_error_logs row; Log and RequestMsg are filled only when one row is read.
type ErrorLog struct {
	ID         int64     `json:"id"`
	Key        string    `json:"gemini_key"` // masked
	KeyID      string    `json:"key_id"`
	Type       string    `json:"error_type"`
	Class      string    `json:"error_class"`
	Code       int       `json:"error_code"`
	Model      string    `json:"model_name"`
	Time       time.Time `json:"request_time"`
	RequestID  string    `json:"request_id"`
	TokenID    string    `json:"token_id"`
	Route      string    `json:"route"`
	Attempt    int       `json:"attempt"`
	Log        string    `json:"error_log,omitempty"`
	RequestMsg string    `json:"request_msg,omitempty"`
}

// Sortable columns per listing: sort_by is matched against these and never reaches SQL otherwise.
var (
	requestSorts = map[string]string{"id": "id", "request_time": "request_time", "status_code": "status_code",
		"latency_ms": "latency_ms", "model_name": "model_name", "api_key": "api_key", "key_id": "key_id",
		"route": "route", "attempt_count": "attempt_count"}
	errorSorts = map[string]string{"id": "id", "request_time": "request_time", "error_code": "error_code",
		"error_type": "error_type", "model_name": "model_name", "gemini_key": "gemini_key", "key_id": "key_id",
		"error_class": "error_class"}
)

// ErrBadSort is a sort_by outside the whitelist.
var ErrBadSort = errors.New("cannot sort by that column")

func (p Page) normalize() Page {
	if p.Limit <= 0 {
		p.Limit = 10
	}
	p.Limit = min(p.Limit, 1000)
	p.Offset = max(p.Offset, 0)
	return p
}

func orderBy(p Page, allowed map[string]string, def string) (string, error) {
	col := def
	if p.SortBy != "" {
		c, ok := allowed[p.SortBy]
		if !ok {
			return "", fmt.Errorf("%w %q", ErrBadSort, p.SortBy)
		}
		col = c
	}
	dir := " ASC"
	if p.Desc {
		dir = " DESC"
	}
	if col == "id" {
		return " ORDER BY id" + dir, nil
	}
	return " ORDER BY " + col + dir + ", id" + dir, nil
}

// where builds the WHERE clause of f for a log table.
func where(f Filter, errorLog bool) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	keyCol, statusCol := "api_key", "status_code"
	if errorLog {
		keyCol, statusCol = "gemini_key", "error_code"
	}
	if f.KeyID != "" {
		add("key_id = ?", f.KeyID)
	}
	if f.KeySearch != "" {
		add("LOWER("+keyCol+") LIKE ? ESCAPE '!'", likeArg(f.KeySearch))
	}
	if f.TokenID != "" {
		add("token_id = ?", f.TokenID)
	}
	if f.Model != "" {
		add("model_name = ?", f.Model)
	}
	if f.Route != "" {
		add("route = ?", f.Route)
	}
	if f.RequestID != "" {
		add("request_id = ?", f.RequestID)
	}
	if f.Status != 0 {
		add(statusCol+" = ?", f.Status)
	}
	if f.Success != nil && !errorLog {
		add("is_success = ?", *f.Success)
	}
	if !errorLog {
		switch f.Outcome {
		case "success":
			add("is_success = ?", true)
		case "failure":
			add("is_success = ? AND NOT ("+refusedCond+")", false)
		case "refused":
			add(refusedCond)
		}
	}
	if errorLog && f.Search != "" {
		add("(LOWER(error_type) LIKE ? ESCAPE '!' OR LOWER(error_log) LIKE ? ESCAPE '!')", likeArg(f.Search), likeArg(f.Search))
	}
	if errorLog && f.ErrorType != "" {
		add("error_type = ?", f.ErrorType)
	}
	if errorLog && f.Class != "" {
		add("error_class = ?", f.Class)
	}
	if !f.Start.IsZero() {
		add("request_time >= ?", store.TimeArg(f.Start))
	}
	if !f.End.IsZero() {
		add("request_time < ?", store.TimeArg(f.End))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// refusedCond selects the requests gemgate answered with a client error without asking Google, as the
// counters' refused column counts them.
const refusedCond = "attempt_count = 0 AND status_code >= 400 AND status_code < 500"

// likeArg is a case-insensitive substring pattern with LIKE's wildcards escaped ('!' is the escape
// character: a backslash would need doubling in MySQL string literals and not elsewhere).
func likeArg(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

const requestSelect = "SELECT id, request_time, request_id, route, method, path, model_name, api_key, key_id, token_id, " +
	"stream, is_success, status_code, latency_ms, attempt_count, attempts, error, prompt_tokens, output_tokens, " +
	"thought_tokens, cached_tokens FROM t_request_log"

// ListRequests returns one page of request-log rows and the number of rows matching f.
func (s *Store) ListRequests(ctx context.Context, f Filter, p Page) ([]RequestLog, int64, error) {
	p = p.normalize()
	order, err := orderBy(p, requestSorts, "request_time")
	if err != nil {
		return nil, 0, err
	}
	w, args := where(f, false)
	total, err := s.count(ctx, "t_request_log", w, args)
	if err != nil {
		return nil, 0, fmt.Errorf("counting request logs: %w", err)
	}
	out, err := all(ctx, s, scanRequest, requestSelect+w+order+" LIMIT ? OFFSET ?", append(args, p.Limit, p.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing request logs: %w", err)
	}
	return out, total, nil
}

// Request returns one request-log row.
func (s *Store) Request(ctx context.Context, id int64) (RequestLog, error) {
	out, err := all(ctx, s, scanRequest, requestSelect+" WHERE id = ?", id)
	if err != nil {
		return RequestLog{}, fmt.Errorf("reading request log %d: %w", id, err)
	}
	if len(out) == 0 {
		return RequestLog{}, ErrNotFound
	}
	return out[0], nil
}

func scanRequest(row store.Row) (r RequestLog, err error) {
	var t store.Time
	var reqID, route, method, path, model, key, keyID, tokenID, attempts, errText sql.NullString
	var stream, ok sql.NullBool
	var status, latency, count, prompt, output, thoughts, cached sql.NullInt64
	if err := row.Scan(&r.ID, &t, &reqID, &route, &method, &path, &model, &key, &keyID, &tokenID, &stream, &ok,
		&status, &latency, &count, &attempts, &errText, &prompt, &output, &thoughts, &cached); err != nil {
		return r, err
	}
	r.Time, r.RequestID, r.Route, r.Method, r.Path = t.T, reqID.String, route.String, method.String, path.String
	r.Model, r.Key, r.KeyID, r.TokenID, r.Error = model.String, key.String, keyID.String, tokenID.String, errText.String
	r.Stream, r.Success, r.Status, r.LatencyMS = stream.Bool, ok.Bool, int(status.Int64), latency.Int64
	r.AttemptCount = int(count.Int64)
	r.Usage = UsageView{prompt.Int64, output.Int64, thoughts.Int64, cached.Int64}
	r.Attempts = []AttemptView{}
	if attempts.String != "" {
		_ = json.Unmarshal([]byte(attempts.String), &r.Attempts) // a damaged cell shows no attempts
	}
	return r, nil
}

const errorSelect = "SELECT id, gemini_key, key_id, error_type, error_class, error_code, model_name, request_time, " +
	"request_id, token_id, route, attempt"

// ListErrors returns one page of error-log rows (without their bodies) and the number matching f.
func (s *Store) ListErrors(ctx context.Context, f Filter, p Page) ([]ErrorLog, int64, error) {
	p = p.normalize()
	order, err := orderBy(p, errorSorts, "id")
	if err != nil {
		return nil, 0, err
	}
	w, args := where(f, true)
	total, err := s.count(ctx, "t_error_logs", w, args)
	if err != nil {
		return nil, 0, fmt.Errorf("counting error logs: %w", err)
	}
	q := errorSelect + " FROM t_error_logs" + w + order + " LIMIT ? OFFSET ?"
	out, err := all(ctx, s, scanError(false), q, append(args, p.Limit, p.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing error logs: %w", err)
	}
	return out, total, nil
}

// Error returns one error-log row with its error body and request body.
func (s *Store) Error(ctx context.Context, id int64) (ErrorLog, error) {
	out, err := all(ctx, s, scanError(true), errorSelect+", error_log, request_msg FROM t_error_logs WHERE id = ?", id)
	if err != nil {
		return ErrorLog{}, fmt.Errorf("reading error log %d: %w", id, err)
	}
	if len(out) == 0 {
		return ErrorLog{}, ErrNotFound
	}
	return out[0], nil
}

// scanError reads an error-log row; full rows also hold the error body and the request body.
func scanError(full bool) func(store.Row) (ErrorLog, error) {
	return func(row store.Row) (r ErrorLog, err error) {
		var t store.Time
		var key, keyID, typ, class, model, reqID, tokenID, route, text, msg sql.NullString
		var code, attempt sql.NullInt64
		dest := []any{&r.ID, &key, &keyID, &typ, &class, &code, &model, &t, &reqID, &tokenID, &route, &attempt}
		if full {
			dest = append(dest, &text, &msg)
		}
		err = row.Scan(dest...)
		r.Key, r.KeyID, r.Type, r.Class, r.Code, r.Model = key.String, keyID.String, typ.String, class.String, int(code.Int64), model.String
		r.Time, r.RequestID, r.TokenID, r.Route, r.Attempt = t.T, reqID.String, tokenID.String, route.String, int(attempt.Int64)
		r.Log, r.RequestMsg = text.String, msg.String
		return r, err
	}
}

// LookupError finds the error row of a key (masked key or key id) closest in time to at, within
// ±window; with status set, a row of that status is preferred over a closer one of another.
func (s *Store) LookupError(ctx context.Context, key string, at time.Time, status int, window time.Duration) (ErrorLog, error) {
	q := errorSelect + " FROM t_error_logs WHERE (gemini_key = ? OR key_id = ?) AND request_time >= ? AND request_time <= ? ORDER BY request_time LIMIT 1000"
	found, err := all(ctx, s, scanError(false), q, key, key, store.TimeArg(at.Add(-window)), store.TimeArg(at.Add(window)))
	if err != nil {
		return ErrorLog{}, fmt.Errorf("looking up error log: %w", err)
	}
	best := -1
	for i, r := range found {
		if best < 0 || better(r, found[best], at, status) {
			best = i
		}
	}
	if best < 0 {
		return ErrorLog{}, ErrNotFound
	}
	return s.Error(ctx, found[best].ID)
}

func better(a, b ErrorLog, at time.Time, status int) bool {
	if status != 0 && (a.Code == status) != (b.Code == status) {
		return a.Code == status
	}
	return a.Time.Sub(at).Abs() < b.Time.Sub(at).Abs()
}

func (s *Store) count(ctx context.Context, table, where string, args []any) (int64, error) {
	var n int64
	err := s.queryRow(ctx, "SELECT COUNT(*) FROM "+table+where, args...).Scan(&n)
	return n, err
}
