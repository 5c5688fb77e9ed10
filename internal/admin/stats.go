package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/jobs"
	"github.com/gemgate/gemgate/internal/logs"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
)

// periods are the windows the statistics take, by their names in query strings.
var periods = map[string]time.Duration{
	"1m": time.Minute, "1h": time.Hour, "8h": 8 * time.Hour, "24h": 24 * time.Hour,
	"7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour,
}

// period reads a window among allowed (def when absent).
func period(r *http.Request, name, def string, allowed ...string) (time.Duration, error) {
	p := r.URL.Query().Get(name)
	if p == "" {
		p = def
	}
	for _, a := range allowed {
		if a == p {
			return periods[p], nil
		}
	}
	return 0, badRequest{name + ": want one of " + strings.Join(allowed, ", ")}
}

func (l *Logs) summary(w http.ResponseWriter, r *http.Request) {
	s, err := l.Store.Summary(r.Context(), time.Now(), l.location())
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// detailRow is a recent call in the reference's shape, with gemgate's additions; the key is masked.
type detailRow struct {
	ID        int64     `json:"id"`
	Timestamp time.Time `json:"timestamp"`
	Key       string    `json:"key"`
	KeyID     string    `json:"key_id"`
	Model     string    `json:"model"`
	Status    string    `json:"status"` // "success" or "failure"
	Code      int       `json:"status_code"`
	LatencyMS int64     `json:"latency_ms"`
	Route     string    `json:"route"`
	Attempts  int       `json:"attempts"`
	RequestID string    `json:"request_id"`
}

func detailRows(rows []logs.RequestLog) []detailRow {
	out := make([]detailRow, len(rows))
	for i, r := range rows {
		status := "failure"
		if r.Success {
			status = "success"
		}
		out[i] = detailRow{ID: r.ID, Timestamp: r.Time, Key: r.Key, KeyID: r.KeyID, Model: r.Model, Status: status,
			Code: r.Status, LatencyMS: r.LatencyMS, Route: r.Route, Attempts: r.AttemptCount, RequestID: r.RequestID}
	}
	return out
}

// details lists the newest calls of a period (1m, 1h, 8h, 24h), newest first, up to limit (default
// 100, at most 1000); key_id narrows them to the calls a key answered last.
func (l *Logs) details(w http.ResponseWriter, r *http.Request) {
	d, err := period(r, "period", "1h", "1m", "1h", "8h", "24h")
	if err != nil {
		fail(w, err)
		return
	}
	limit := clampInt(r.URL.Query().Get("limit"), 100, 1, 1000)
	rows, err := l.Store.Recent(r.Context(), time.Now().Add(-d), r.URL.Query().Get("key_id"), limit)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, detailRows(rows))
}

// keyDetails shows one key (key_id) over a period (1h, 8h, 24h, 7d): its attempts by model and status
// and its newest requests and errors.
func (l *Logs) keyDetails(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("key_id")
	if key := r.URL.Query().Get("key"); id == "" && key != "" {
		id = secret.ID(key) // Gemini Balance's scripts name the key itself
	}
	if id == "" {
		rpcstatus.Write(w, http.StatusBadRequest, "key_id (the id the key list shows) or key is required")
		return
	}
	d, err := period(r, "period", "24h", "1h", "8h", "24h", "7d")
	if err != nil {
		fail(w, err)
		return
	}
	out, err := l.Store.KeyDetails(r.Context(), id, time.Now().Add(-d), clampInt(r.URL.Query().Get("limit"), 20, 1, 1000))
	if err != nil {
		fail(w, err)
		return
	}
	if out.Key == "" && l.Pool != nil {
		if k, ok := l.Pool.LookupID(id); ok {
			out.Key = k.Masked()
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// attentionKeys lists the keys with the most 429, 403 and 400 answers in the last 24 hours (or only
// status_code), most first, limit (default 10, at most 1000).
func (l *Logs) attentionKeys(w http.ResponseWriter, r *http.Request) {
	status, err := intParam(r.URL.Query(), "status_code")
	if err != nil {
		fail(w, err)
		return
	}
	var keep func(string) bool
	if l.Pool != nil {
		keep = func(id string) bool { _, ok := l.Pool.LookupID(id); return ok }
	}
	limit := clampInt(r.URL.Query().Get("limit"), 10, 1, 1000)
	out, err := l.Store.AttentionKeys(r.Context(), time.Now().Add(-24*time.Hour), status, limit, keep)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// series returns calls per minute (window 1h or 8h) or per hour (24h, 7d, 30d) for charts.
func (l *Logs) series(w http.ResponseWriter, r *http.Request) {
	d, err := period(r, "window", "24h", "1h", "8h", "24h", "7d", "30d")
	if err != nil {
		fail(w, err)
		return
	}
	perHour := d >= 24*time.Hour
	points, err := l.Store.Series(r.Context(), time.Now(), d, perHour)
	if err != nil {
		fail(w, err)
		return
	}
	step := "1m"
	if perHour {
		step = "1h"
	}
	writeJSON(w, http.StatusOK, map[string]any{"window": r.URL.Query().Get("window"), "step": step, "points": points})
}

// models breaks a period's calls (1h, 24h, 7d, 30d) down by model.
func (l *Logs) models(w http.ResponseWriter, r *http.Request) {
	d, err := period(r, "period", "24h", "1h", "8h", "24h", "7d", "30d")
	if err != nil {
		fail(w, err)
		return
	}
	now := time.Now()
	out, err := l.Store.Models(r.Context(), now, now.Add(-d))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// keys breaks a period's upstream attempts (1h, 8h, 24h, 7d) down by key, busiest first, up to limit.
func (l *Logs) keys(w http.ResponseWriter, r *http.Request) {
	d, err := period(r, "period", "24h", "1h", "8h", "24h", "7d")
	if err != nil {
		fail(w, err)
		return
	}
	out, err := l.Store.Keys(r.Context(), time.Now().Add(-d))
	if err != nil {
		fail(w, err)
		return
	}
	if limit := clampInt(r.URL.Query().Get("limit"), 1000, 1, 100000); len(out) > limit {
		out = out[:limit]
	}
	writeJSON(w, http.StatusOK, out)
}

// tokens sums requests and tokens over the last days (default 30, up to STATS_RETENTION_DAYS) grouped
// by key, model, client token or day.
func (l *Logs) tokens(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	group := q.Get("group_by")
	if group == "" {
		group = "model"
	}
	if _, ok := logs.TokenGroups[group]; !ok {
		rpcstatus.Write(w, http.StatusBadRequest, "group_by: want key, model, token or day")
		return
	}
	keep := config.StatsRetentionDays.Get(l.Settings.Current())
	days := clampInt(q.Get("days"), 30, 1, keep)
	// Day buckets are UTC days; "the last N days" are today and the N-1 before.
	since := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1-days)
	out, err := l.Store.Tokens(r.Context(), group, since)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"group_by": group, "days": days, "since": since, "groups": out})
}

func (l *Logs) listJobs(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, l.Jobs.Jobs())
}

// runJob starts a job now: 202 at once, or with ?wait=true 200 (or 500 with its error) when it ends.
func (l *Logs) runJob(w http.ResponseWriter, r *http.Request) {
	done, err := l.Jobs.RunNow(r.PathValue("name"))
	switch {
	case errors.Is(err, jobs.ErrUnknown):
		rpcstatus.Write(w, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, jobs.ErrRunning):
		rpcstatus.Write(w, http.StatusConflict, err.Error())
		return
	case err != nil:
		rpcstatus.Write(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if wait, _ := strconv.ParseBool(r.URL.Query().Get("wait")); !wait {
		writeJSON(w, http.StatusAccepted, map[string]any{"started": r.PathValue("name")})
		return
	}
	select {
	case err := <-done:
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"job": r.PathValue("name"), "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"job": r.PathValue("name"), "ok": true})
	case <-r.Context().Done():
	}
}
