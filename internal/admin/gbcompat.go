package admin

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/jobs"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/logs"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/version"
)

// GeminiBalance serves Gemini Balance's admin routes with Gemini Balance's shapes (reference §2.1,
// §2.7), so monitoring and admin scripts written for it keep working. They authenticate like every
// admin route (docs: "Compatibility with Gemini Balance"); gemgate's own routes are the richer ones.
type GeminiBalance struct {
	Settings *config.Manager
	Pool     *keypool.Pool
	Keys     *Keys
	Panel    *Panel
	Logs     *logs.Store
	Jobs     *jobs.Scheduler
	Releases *version.Checker
}

// Register mounts the routes on h.
func (g *GeminiBalance) Register(h *Handler) {
	// Outside /api/: the API mounts these paths on the admin handler too (api.AdminPaths).
	h.Handle("GET /v1/keys/list", g.keysList)
	h.Handle("GET /hf/v1/keys/list", g.keysList)
	h.Handle("GET /api/keys", g.keysPage)
	h.Handle("GET /api/keys/all", g.keysAll)
	h.Handle("POST /api/config/reset", g.reset)
	h.Handle("DELETE /api/config/keys/{key}", g.deleteKey)
	h.Handle("POST /api/config/keys/delete-selected", g.deleteSelected)
	h.Handle("GET /api/config/ui/models", g.uiModels)
	h.Handle("GET /api/config/proxy/cache-stats", g.proxyCacheStats)
	h.Handle("POST /api/config/proxy/clear-cache", g.proxyClearCache)
	h.Handle("GET /api/key-usage-details/{key}", g.keyUsage)
	h.Handle("POST /api/scheduler/start", g.schedulerStart)
	h.Handle("POST /api/scheduler/stop", g.schedulerStop)
	h.Handle("GET /api/version/check", g.versionCheck)
}

// valid is Gemini Balance's split of the keys: a valid key is one in rotation (not disabled).
func valid(k *keypool.Key) bool { return !keypool.StateOf(k).Disabled }

func failures(k *keypool.Key) int { return keypool.StateOf(k).FailureCount }

// keysList is GET /v1/keys/list: {"status":"success","data":{"valid_keys":{key:fails},"invalid_keys":{...}},"total":n}.
func (g *GeminiBalance) keysList(w http.ResponseWriter, _ *http.Request) {
	ok, bad := map[string]int{}, map[string]int{}
	keys := g.Pool.Keys()
	for _, k := range keys {
		if valid(k) {
			ok[k.Value()] = failures(k)
		} else {
			bad[k.Value()] = failures(k)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success",
		"data": map[string]any{"valid_keys": ok, "invalid_keys": bad}, "total": len(keys)})
}

// keysPage is GET /api/keys: page, limit, search, fail_count_threshold and status=valid|invalid|all.
func (g *GeminiBalance) keysPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page := clampInt(q.Get("page"), 1, 1, 1<<30)
	limit := clampInt(q.Get("limit"), 10, 1, 10000)
	search := strings.ToLower(q.Get("search"))
	threshold, hasThreshold := 0, false
	if n, err := strconv.Atoi(q.Get("fail_count_threshold")); err == nil {
		threshold, hasThreshold = n, true
	}
	status := q.Get("status")
	var match []*keypool.Key
	for _, k := range g.Pool.Keys() {
		switch {
		case status == "valid" && !valid(k), status == "invalid" && valid(k):
			continue
		case search != "" && !strings.Contains(strings.ToLower(k.Value()), search):
			continue
		case hasThreshold && failures(k) < threshold:
			continue
		}
		match = append(match, k)
	}
	pages := (len(match) + limit - 1) / limit
	out := map[string]int{}
	if from := (page - 1) * limit; from < len(match) {
		for _, k := range match[from:min(from+limit, len(match))] {
			out[k.Value()] = failures(k)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out, "total_items": len(match), "total_pages": pages, "current_page": page})
}

// keysAll is GET /api/keys/all: {"valid_keys":[...],"invalid_keys":[...],"total_count":n}.
func (g *GeminiBalance) keysAll(w http.ResponseWriter, _ *http.Request) {
	ok, bad := []string{}, []string{}
	keys := g.Pool.Keys()
	for _, k := range keys {
		if valid(k) {
			ok = append(ok, k.Value())
		} else {
			bad = append(bad, k.Value())
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid_keys": ok, "invalid_keys": bad, "total_count": len(keys)})
}

// reset is POST /api/config/reset: every setting that env (or .env) sets takes its env value again;
// settings env does not name keep their stored value. Gemini Balance reloaded .env into memory only,
// so the database values came back at the next start; here the env value is stored, so the reset lasts.
func (g *GeminiBalance) reset(w http.ResponseWriter, r *http.Request) {
	var names []string
	for _, d := range config.All() {
		if _, ok := g.Settings.Env(d.Name); ok && !d.Bootstrap {
			names = append(names, d.Name)
		}
	}
	if len(names) > 0 {
		if err := g.Settings.Revert(r.Context(), names); err != nil {
			rpcstatus.Write(w, http.StatusInternalServerError, "could not reset the settings: "+err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, flatConfig(g.Settings.Current(), false))
}

// deleteKeys removes values from API_KEYS and forgets their state; it returns those it did not find.
func (g *GeminiBalance) deleteKeys(r *http.Request, values []string) (deleted int, notFound []string, err error) {
	drop := map[string]bool{}
	var found []string
	for _, v := range values {
		if _, ok := g.Pool.Lookup(v); ok && !drop[v] {
			drop[v] = true
			found = append(found, v)
		} else if !ok {
			notFound = append(notFound, v)
		}
	}
	if len(found) == 0 {
		return 0, notFound, nil
	}
	next := slices.DeleteFunc(slices.Clone(config.APIKeys.Get(g.Settings.Current())), func(s string) bool { return drop[s] })
	if err := g.Settings.Update(r.Context(), map[string]string{config.APIKeys.Name(): config.APIKeys.Def().Format(next)}); err != nil {
		return 0, notFound, err
	}
	// The keys are out of rotation; a leftover state row is harmless and ignored on load.
	_ = g.Keys.Store.DeleteKeyStates(r.Context(), found)
	return len(found), notFound, nil
}

// deleteKey is DELETE /api/config/keys/{key}. The key travels in the path, as Gemini Balance's did;
// gemgate's access log and request log never record admin paths.
func (g *GeminiBalance) deleteKey(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	n, _, err := g.deleteKeys(r, []string{key})
	switch {
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"success": false, "message": "could not save the keys: " + err.Error()})
	case n == 0:
		writeJSON(w, http.StatusNotFound, map[string]any{"success": false, "message": "key " + secret.Mask(key) + " not found"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "key " + secret.Mask(key) + " deleted"})
	}
}

// deleteSelected is POST /api/config/keys/delete-selected {"keys":[...]}.
func (g *GeminiBalance) deleteSelected(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Keys []string `json:"keys"`
	}
	if err := decode(r, &body); err != nil || len(body.Keys) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": `expected {"keys":["AIza...", ...]}`})
		return
	}
	n, notFound, err := g.deleteKeys(r, body.Keys)
	if notFound == nil {
		notFound = []string{}
	}
	masked := make([]string, len(notFound))
	for i, k := range notFound {
		masked[i] = secret.Mask(k)
	}
	switch {
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"success": false, "message": "could not save the keys: " + err.Error()})
	case n == 0:
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "none of the keys was found",
			"deleted_count": 0, "not_found_keys": masked})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": strconv.Itoa(n) + " keys deleted",
			"deleted_count": n, "not_found_keys": masked})
	}
}

// uiModels is GET /api/config/ui/models: the upstream models in OpenAI's list shape.
func (g *GeminiBalance) uiModels(w http.ResponseWriter, r *http.Request) {
	list, err := g.Panel.Models.List(r.Context(), g.Settings.Current())
	if err != nil {
		rpcstatus.Write(w, http.StatusBadGateway, "Could not fetch the model list from Gemini: "+err.Error())
		return
	}
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	out := make([]model, 0, len(list))
	created := time.Now().Unix()
	for _, m := range list {
		var name string
		if raw, ok := m["name"]; ok && len(raw) > 2 {
			name = strings.TrimPrefix(strings.Trim(string(raw), `"`), "models/")
		}
		if name != "" {
			out = append(out, model{ID: name, Object: "model", Created: created, OwnedBy: "google"})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": out})
}

func (g *GeminiBalance) proxyCacheStats(w http.ResponseWriter, _ *http.Request) {
	total, fresh := g.Panel.proxyCache.stats()
	writeJSON(w, http.StatusOK, map[string]int{"total_cached": total, "valid_cached": fresh, "expired_cached": total - fresh})
}

func (g *GeminiBalance) proxyClearCache(w http.ResponseWriter, _ *http.Request) {
	n := g.Panel.proxyCache.clear()
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": strconv.Itoa(n) + " cached proxy checks cleared"})
}

// keyUsage is GET /api/key-usage-details/{key}: {model: calls} of the key in the last 24 hours.
func (g *GeminiBalance) keyUsage(w http.ResponseWriter, r *http.Request) {
	d, err := g.Logs.KeyDetails(r.Context(), secret.ID(r.PathValue("key")), time.Now().Add(-24*time.Hour), 1)
	if err != nil {
		fail(w, err)
		return
	}
	out := map[string]int64{}
	for _, m := range d.ByModel {
		out[m.Model] += m.Attempts
	}
	writeJSON(w, http.StatusOK, out)
}

func (g *GeminiBalance) schedulerStart(w http.ResponseWriter, _ *http.Request) {
	if g.Jobs.Resume() {
		writeJSON(w, http.StatusOK, map[string]string{"message": "Scheduler started successfully."})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Scheduler is already running."})
}

func (g *GeminiBalance) schedulerStop(w http.ResponseWriter, _ *http.Request) {
	g.Jobs.Pause()
	writeJSON(w, http.StatusOK, map[string]string{"message": "Scheduler stopped successfully."})
}

// versionCheck is GET /api/version/check from the background release check (never a GitHub call per
// request, unlike Gemini Balance).
func (g *GeminiBalance) versionCheck(w http.ResponseWriter, _ *http.Request) {
	s := g.Releases.Latest()
	var msg *string
	if s.Repo == "" {
		m := "update check is off (GITHUB_REPO_OWNER or GITHUB_REPO_NAME is empty)"
		msg = &m
	} else if s.CheckedAt.IsZero() {
		m := "no release check has finished yet"
		msg = &m
	}
	var latest *string
	if s.Latest != "" {
		latest = &s.Latest
	}
	writeJSON(w, http.StatusOK, map[string]any{"current_version": s.Current, "latest_version": latest,
		"update_available": s.UpdateAvailable, "error_message": msg})
}
