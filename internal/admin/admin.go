// Package admin serves the administration API: settings and key status. Calls authenticate with the
// admin token (AUTH_TOKEN) as "Authorization: Bearer"; being a header, it cannot be forged cross-site.
package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/upstream"
)

// Handler serves /api/.
type Handler struct {
	Settings *config.Manager
	Pool     *keypool.Pool
	// VertexPool answers the key list for ?pool=vertex (the Vertex AI Express keys); nil: Gemini only.
	VertexPool *keypool.Pool
	Session    Session // the panel's cookie check, when the panel is mounted
	// Alerts lists client tokens whose requests charged more keys than their share (may be nil).
	Alerts func() []upstream.BlameAlert
	mux    *http.ServeMux
	routes []string
}

// New builds the admin API.
func New(settings *config.Manager, pool *keypool.Pool) *Handler {
	h := &Handler{Settings: settings, Pool: pool, mux: http.NewServeMux()}
	h.Handle("GET /api/config", h.getConfig)
	h.Handle("PUT /api/config", h.putConfig)
	h.Handle("POST /api/config/revert", h.revert)
	h.Handle("GET /api/keys/status", h.keyStatus)
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		rpcstatus.Write(w, http.StatusNotFound, "No such admin route: "+r.Method+" "+r.URL.Path)
	})
	return h
}

// Handle adds a route; features outside this file register their admin routes through it.
func (h *Handler) Handle(pattern string, fn http.HandlerFunc) {
	h.mux.HandleFunc(pattern, fn)
	h.routes = append(h.routes, pattern)
}

// Routes lists every registered pattern, so tests can check that each one demands authentication.
func (h *Handler) Routes() []string { return slices.Clone(h.routes) }

// Session checks the admin panel's session cookie: whether r belongs to a logged-in admin, and whether
// it carries that session's CSRF token. Set by the web panel; nil means Bearer tokens only.
type Session func(r *http.Request) (loggedIn, csrfOK bool)

// ServeHTTP authenticates every admin call: the admin token as "Authorization: Bearer" (scripts; a
// header cannot be forged cross-site), or the panel's session cookie, which for every state-changing
// method must come with the session's CSRF token.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if token := auth.BearerToken(r); token != "" {
		if !secret.Equal(token, config.AuthToken.Get(h.Settings.Current())) {
			rpcstatus.Write(w, http.StatusUnauthorized, "Admin API: the Bearer token is not the admin token (AUTH_TOKEN).")
			return
		}
		h.mux.ServeHTTP(w, r)
		return
	}
	if h.Session != nil {
		loggedIn, csrfOK := h.Session(r)
		switch {
		case !loggedIn:
			rpcstatus.Write(w, http.StatusUnauthorized, "Admin API: log in again (no session or it expired), or send AUTH_TOKEN as Authorization: Bearer.")
			return
		case !csrfOK && r.Method != http.MethodGet && r.Method != http.MethodHead:
			rpcstatus.Write(w, http.StatusForbidden, "Admin API: missing or wrong CSRF token; reload the page.")
			return
		}
		h.mux.ServeHTTP(w, r)
		return
	}
	rpcstatus.Write(w, http.StatusUnauthorized, "Admin API: send the admin token (AUTH_TOKEN) as Authorization: Bearer.")
}

// settingView is one setting as the admin API shows it. Secrets are masked unless ?reveal=1.
type settingView struct {
	Name      string `json:"name"`
	Value     any    `json:"value"`
	Source    string `json:"source"`
	Group     string `json:"group"`
	Type      string `json:"type"`
	Secret    bool   `json:"secret"`
	Bootstrap bool   `json:"env_only"`
}

// getConfig answers Gemini Balance's flat object {"NAME": value, ...} (secrets masked unless
// ?reveal=1); ?detailed=1 gives gemgate's list with each setting's source, group and type, which the
// panel reads.
func (h *Handler) getConfig(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings.Current()
	reveal := r.URL.Query().Get("reveal") == "1"
	if r.URL.Query().Get("detailed") != "1" {
		writeJSON(w, http.StatusOK, flatConfig(snap, reveal))
		return
	}
	out := make([]settingView, 0, len(config.All()))
	for _, d := range config.All() {
		v := snap.Value(d)
		// ENCRYPTION_KEY stays masked even then: it would decrypt every copy of the database.
		if d.Secret && (!reveal || d == config.EncryptionKey.Def()) {
			v = maskValue(v)
		}
		out = append(out, settingView{Name: d.Name, Value: v, Source: snap.Source(d).String(), Group: string(d.Group),
			Type: d.Kind.String(), Secret: d.Secret, Bootstrap: d.Bootstrap})
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": out, "version": snap.Version()})
}

// flatConfig is every setting by name, as Gemini Balance's GET /api/config; secrets masked unless
// reveal (ENCRYPTION_KEY always).
func flatConfig(snap *config.Snapshot, reveal bool) map[string]any {
	out := make(map[string]any, len(config.All()))
	for _, d := range config.All() {
		v := snap.Value(d)
		if d.Secret && (!reveal || d == config.EncryptionKey.Def()) {
			v = maskValue(v)
		}
		out[d.Name] = v
	}
	return out
}

func maskValue(v any) any {
	switch t := v.(type) {
	case string:
		if t == "" {
			return ""
		}
		return secret.Mask(t)
	case []string:
		out := make([]string, len(t))
		for i, s := range t {
			out[i] = secret.Mask(s)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(t))
		for k, s := range t {
			out[k] = secret.Mask(s)
		}
		return out
	}
	return v
}

// putConfig takes {"NAME": value, ...}; values may be JSON-typed (numbers, arrays) or strings. All or
// nothing: one invalid value rejects the whole update.
func (h *Handler) putConfig(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if err := decode(r, &body); err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	changes := make(map[string]string, len(body))
	snap := h.Settings.Current()
	for name, raw := range body {
		if d, ok := config.Lookup(name); ok && echo(d, snap.Value(d), raw) {
			continue // a value read from GET /api/config and sent back unchanged
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			changes[name] = s
		} else {
			changes[name] = string(raw)
		}
	}
	if err := h.Settings.Update(r.Context(), changes); err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"updated": len(changes), "version": h.Settings.Current().Version()})
}

// echo reports a value sent back as GET /api/config showed it, where storing it would be wrong: a
// secret's masked form (it must not replace the real secret) or an env-only setting's current value
// (which cannot be stored, but need not fail the update). Gemini Balance's scripts and its config page
// read the whole config and write it back.
func echo(d *config.Def, current any, raw json.RawMessage) bool {
	shown := current
	switch {
	case d.Secret:
		shown = maskValue(current)
	case !d.Bootstrap:
		return false
	}
	var a, b any
	if json.Unmarshal(mustMarshal(shown), &a) != nil || json.Unmarshal(raw, &b) != nil {
		return false
	}
	same := string(mustMarshal(a)) == string(mustMarshal(b))
	if d.Bootstrap {
		return same
	}
	// A secret equal to its mask is short enough to be shown whole: then it is a real value.
	return same && string(mustMarshal(shown)) != string(mustMarshal(current))
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// revert takes {"names":[...]} and returns those settings to their env or default value.
func (h *Handler) revert(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Names []string `json:"names"`
	}
	if err := decode(r, &body); err != nil || len(body.Names) == 0 {
		rpcstatus.Write(w, http.StatusBadRequest, `expected {"names":["SETTING", ...]}`)
		return
	}
	if err := h.Settings.Revert(r.Context(), body.Names); err != nil {
		rpcstatus.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"reverted": body.Names})
}

type keyView struct {
	ID             string             `json:"id"`
	Key            string             `json:"key"`
	Disabled       bool               `json:"disabled"`
	DisabledReason string             `json:"disabled_reason,omitempty"`
	Failures       int                `json:"failure_count"`
	LastError      string             `json:"last_error,omitempty"`
	LastErrorCode  int                `json:"last_error_code,omitempty"`
	LastErrorAt    time.Time          `json:"last_error_at,omitzero"`
	LastUsedAt     time.Time          `json:"last_used_at,omitzero"`
	Cooldowns      []keypool.Cooldown `json:"cooldowns,omitempty"`
	Usage          []keypool.Usage    `json:"usage,omitempty"` // requests counted against KEY_MODEL_LIMITS
	keypool.Meta
}

// keyStatus lists keys (masked) with their state; ?status=usable|cooling|disabled, ?min_failures=N and
// ?search= (any part of the key, its id, masked form or a tag) filter, ?sort=failures puts the most
// failing first, ?limit and ?offset page through large pools.
func (h *Handler) keyStatus(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := clampInt(q.Get("limit"), 100, 1, 10000)
	offset := clampInt(q.Get("offset"), 0, 0, 1<<30)
	f := newKeyFilter(q)
	byFailures := q.Get("sort") == "failures"
	pool := h.Pool
	if q.Get("pool") == "vertex" && h.VertexPool != nil {
		pool = h.VertexPool
	}
	keys := pool.Keys()
	total, usable := pool.Counts()
	var matches []*keypool.Key
	seen, cooling := 0, 0
	for _, k := range keys {
		isCooling := f.cooling(k)
		if isCooling {
			cooling++
		}
		if !f.match(k, isCooling) {
			continue
		}
		seen++
		// Sorted pages need every match; unsorted ones keep only the page, so a large pool costs one
		// pass and no copy.
		if byFailures || (seen > offset && len(matches) < limit) {
			matches = append(matches, k)
		}
	}
	if byFailures {
		matches = mostFailing(matches)[min(offset, len(matches)):min(offset+limit, len(matches))]
	}
	out := make([]keyView, 0, len(matches))
	for _, k := range matches {
		s := keypool.StateOf(k)
		out = append(out, keyView{ID: k.ID(), Key: k.Masked(), Disabled: s.Disabled, DisabledReason: s.DisabledReason,
			Failures: s.FailureCount, LastError: s.LastError, LastErrorCode: s.LastErrorCode, LastErrorAt: s.LastErrorAt, LastUsedAt: s.LastUsedAt, Cooldowns: s.Cooldowns, Usage: pool.UsageOf(k), Meta: k.Meta()})
	}
	alerts := []upstream.BlameAlert{}
	if h.Alerts != nil {
		alerts = h.Alerts()
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "usable": usable, "cooling": cooling, "disabled": total - usable,
		"matching": seen, "keys": out, "blame_alerts": alerts})
}

// mostFailing sorts keys by failure count, most first, on a snapshot of the counts: live requests
// change them meanwhile, and a comparison must give the same answer twice.
func mostFailing(keys []*keypool.Key) []*keypool.Key {
	type entry struct {
		key      *keypool.Key
		failures int
	}
	entries := make([]entry, len(keys))
	for i, k := range keys {
		entries[i] = entry{k, k.Failures()}
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return b.failures - a.failures })
	for i, e := range entries {
		keys[i] = e.key
	}
	return keys
}

func clampInt(s string, def, lo, hi int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return min(max(n, lo), hi)
}

func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return errors.New("could not read the request body")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errors.New("the request body is not valid JSON: " + err.Error())
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		rpcstatus.Write(w, http.StatusInternalServerError, "could not encode the answer")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
