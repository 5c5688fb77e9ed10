package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/jobs"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/logs"
	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// Logs serves the request and error logs, the statistics and the scheduled jobs. Paths and query
// parameters follow the reference's where it had them, so its habits (and scripts) carry over; keys
// appear masked and by id, never in full.
type Logs struct {
	Settings *config.Manager
	Store    *logs.Store
	Writer   *logs.Writer    // optional: its counters appear in /api/logs/status
	Pool     *keypool.Pool   // optional: "keys needing attention" lists only keys still in the pool
	Jobs     *jobs.Scheduler // optional
}

// Register mounts the routes on h.
func (l *Logs) Register(h *Handler) {
	h.Handle("GET /api/logs/errors", l.listErrors)
	h.Handle("GET /api/logs/errors/lookup", l.lookupError)
	h.Handle("GET /api/logs/errors/{id}", l.getError)
	h.Handle("GET /api/logs/errors/{id}/details", l.getError)
	h.Handle("DELETE /api/logs/errors", l.deleteSelected(logs.ErrorTable))
	h.Handle("DELETE /api/logs/errors/all", l.deleteAll(logs.ErrorTable))
	h.Handle("DELETE /api/logs/errors/{id}", l.deleteOne(logs.ErrorTable))
	h.Handle("GET /api/logs/requests", l.listRequests)
	h.Handle("GET /api/logs/requests/{id}", l.getRequest)
	h.Handle("DELETE /api/logs/requests", l.deleteSelected(logs.RequestTable))
	h.Handle("DELETE /api/logs/requests/all", l.deleteAll(logs.RequestTable))
	h.Handle("DELETE /api/logs/requests/{id}", l.deleteOne(logs.RequestTable))
	h.Handle("GET /api/logs/status", l.status)
	h.Handle("GET /api/stats/summary", l.summary)
	h.Handle("GET /api/stats/details", l.details)
	h.Handle("GET /api/stats/key-details", l.keyDetails)
	h.Handle("GET /api/stats/attention-keys", l.attentionKeys)
	h.Handle("GET /api/stats/series", l.series)
	h.Handle("GET /api/stats/models", l.models)
	h.Handle("GET /api/stats/keys", l.keys)
	h.Handle("GET /api/stats/tokens", l.tokens)
	if l.Jobs != nil {
		h.Handle("GET /api/jobs", l.listJobs)
		h.Handle("POST /api/jobs/{name}/run", l.runJob)
	}
}

// badRequest is a client mistake in a query parameter, reported as 400 with its text.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

// fail answers err: 400 for the caller's mistakes, 404 for a missing row, 500 (logged by nobody but
// the caller's eyes, and without internals beyond the message) for the database's trouble.
func fail(w http.ResponseWriter, err error) {
	var br badRequest
	switch {
	case errors.As(err, &br), errors.Is(err, logs.ErrBadSort):
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, logs.ErrNotFound):
		rpcstatus.Write(w, http.StatusNotFound, err.Error())
	default:
		rpcstatus.Write(w, http.StatusInternalServerError, "reading the logs failed: "+err.Error())
	}
}

// location is TIMEZONE, in which times without a zone are read and months begin.
func (l *Logs) location() *time.Location {
	if loc, err := time.LoadLocation(config.Timezone.Get(l.Settings.Current())); err == nil {
		return loc
	}
	return time.UTC
}

var timeLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

// parseTime reads RFC 3339, or a wall time (the admin page's datetime-local) in TIMEZONE.
func (l *Logs) parseTime(q url.Values, name string) (time.Time, error) {
	s := strings.TrimSpace(q.Get(name))
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, l.location()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, badRequest{name + ": " + strconv.Quote(s) + " is not a time (use 2025-01-31T13:45 or RFC 3339)"}
}

func intParam(q url.Values, name string) (int, error) {
	s := strings.TrimSpace(q.Get(name))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest{name + ": " + strconv.Quote(s) + " is not a whole number"}
	}
	return n, nil
}

// page reads limit (1–1000, default 10), offset, sort_by and sort_order (default desc).
func page(q url.Values) logs.Page {
	return logs.Page{Limit: clampInt(q.Get("limit"), 10, 1, 1000), Offset: clampInt(q.Get("offset"), 0, 0, 1<<30),
		SortBy: q.Get("sort_by"), Desc: !strings.EqualFold(q.Get("sort_order"), "asc")}
}

// filter reads the filters both logs share.
func (l *Logs) filter(q url.Values) (logs.Filter, error) {
	f := logs.Filter{KeyID: q.Get("key_id"), KeySearch: q.Get("key_search"), TokenID: q.Get("token_id"),
		Model: q.Get("model"), Route: q.Get("route"), RequestID: q.Get("request_id")}
	var err error
	if f.Start, err = l.parseTime(q, "start_date"); err != nil {
		return f, err
	}
	if f.End, err = l.parseTime(q, "end_date"); err != nil {
		return f, err
	}
	return f, nil
}

func (l *Logs) listErrors(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := l.filter(q)
	if err != nil {
		fail(w, err)
		return
	}
	f.Search, f.ErrorType, f.Class = q.Get("error_search"), q.Get("error_type"), q.Get("error_class")
	// The reference ignored an error_code_search that is not a number rather than refusing it.
	f.Status, _ = strconv.Atoi(strings.TrimSpace(q.Get("error_code_search")))
	p := page(q)
	if p.SortBy == "" {
		p.SortBy = "id"
	}
	rows, total, err := l.Store.ListErrors(r.Context(), f, p)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"logs": rows, "total": total})
}

// errorDetails is an error row with its request body pretty-printed, as the reference showed it.
func errorDetails(e logs.ErrorLog) logs.ErrorLog {
	var pretty strings.Builder
	if e.RequestMsg != "" {
		var v any
		if json.Unmarshal([]byte(e.RequestMsg), &v) == nil {
			enc := json.NewEncoder(&pretty)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if enc.Encode(v) == nil {
				e.RequestMsg = strings.TrimSuffix(pretty.String(), "\n")
			}
		}
	}
	return e
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		rpcstatus.Write(w, http.StatusBadRequest, "the log id must be a positive whole number")
		return 0, false
	}
	return id, true
}

func (l *Logs) getError(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	e, err := l.Store.Error(r.Context(), id)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, errorDetails(e))
}

// lookupError finds the error row behind a failure seen elsewhere (a key's last error): gemini_key (the
// masked key) or key_id, timestamp, optional status_code, window_seconds (1–300, default 100).
func (l *Logs) lookupError(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key := q.Get("key_id")
	if key == "" {
		key = q.Get("gemini_key")
	}
	at, err := l.parseTime(q, "timestamp")
	if err == nil && (key == "" || at.IsZero()) {
		err = badRequest{"gemini_key (or key_id) and timestamp are required"}
	}
	status, serr := intParam(q, "status_code")
	if err == nil {
		err = serr
	}
	if err != nil {
		fail(w, err)
		return
	}
	window := time.Duration(clampInt(q.Get("window_seconds"), 100, 1, 300)) * time.Second
	e, err := l.Store.LookupError(r.Context(), key, at, status, window)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, errorDetails(e))
}

func (l *Logs) listRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := l.filter(q)
	if err == nil {
		f.Status, err = intParam(q, "status_code")
	}
	if err != nil {
		fail(w, err)
		return
	}
	if s := q.Get("success"); s != "" {
		ok, perr := strconv.ParseBool(s)
		if perr != nil {
			fail(w, badRequest{"success: want true or false"})
			return
		}
		f.Success = &ok
	}
	switch f.Outcome = q.Get("outcome"); f.Outcome {
	case "", "success", "failure", "refused":
	default:
		fail(w, badRequest{"outcome: want success, failure or refused"})
		return
	}
	rows, total, err := l.Store.ListRequests(r.Context(), f, page(q))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"logs": rows, "total": total})
}

func (l *Logs) getRequest(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	row, err := l.Store.Request(r.Context(), id)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, row)
}

// deleteSelected takes {"ids":[...]} and answers 204, as the reference did.
func (l *Logs) deleteSelected(table string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			IDs []int64 `json:"ids"`
		}
		if err := decode(r, &body); err != nil || len(body.IDs) == 0 {
			rpcstatus.Write(w, http.StatusBadRequest, `expected {"ids":[1, 2, ...]}`)
			return
		}
		if _, err := l.Store.DeleteIDs(r.Context(), table, body.IDs); err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (l *Logs) deleteAll(table string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := l.Store.DeleteAll(r.Context(), table); err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (l *Logs) deleteOne(table string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		n, err := l.Store.DeleteIDs(r.Context(), table, []int64{id})
		if err == nil && n == 0 {
			err = logs.ErrNotFound
		}
		if err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// status reports the log writer: entries written and dropped, and the buffer.
func (l *Logs) status(w http.ResponseWriter, _ *http.Request) {
	out := map[string]any{"mode": config.RequestLogMode.Get(l.Settings.Current())}
	if l.Writer != nil {
		out["writer"] = l.Writer.Stats()
		out["refusals"] = l.Writer.Refusals()
	}
	if l.Store != nil {
		out["budget"] = map[string]any{"max_rows": config.LogMaxRows.Get(l.Settings.Current()), "last_eviction": l.Store.LastEviction()}
	}
	writeJSON(w, http.StatusOK, out)
}
