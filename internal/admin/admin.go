// Package admin serves the administration API: settings and key status. Calls authenticate with the
// admin token (AUTH_TOKEN) as "Authorization: Bearer"; being a header, it cannot be forged cross-site.
package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/secret"
)

// Handler serves /api/.
type Handler struct {
	Settings *config.Manager
	Pool     *keypool.Pool
	mux      *http.ServeMux
}

// New builds the admin API.
func New(settings *config.Manager, pool *keypool.Pool) *Handler {
	h := &Handler{Settings: settings, Pool: pool, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /api/config", h.getConfig)
	h.mux.HandleFunc("PUT /api/config", h.putConfig)
	h.mux.HandleFunc("POST /api/config/revert", h.revert)
	h.mux.HandleFunc("GET /api/keys/status", h.keyStatus)
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		rpcstatus.Write(w, http.StatusNotFound, "No such admin route: "+r.Method+" "+r.URL.Path)
	})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := auth.BearerToken(r)
	if token == "" || !secret.Equal(token, config.AuthToken.Get(h.Settings.Current())) {
		rpcstatus.Write(w, http.StatusUnauthorized, "Admin API: send the admin token (AUTH_TOKEN) as Authorization: Bearer.")
		return
	}
	h.mux.ServeHTTP(w, r)
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

func (h *Handler) getConfig(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings.Current()
	reveal := r.URL.Query().Get("reveal") == "1"
	out := make([]settingView, 0, len(config.All()))
	for _, d := range config.All() {
		v := snap.Value(d)
		if d.Secret && !reveal {
			v = maskValue(v)
		}
		out = append(out, settingView{Name: d.Name, Value: v, Source: snap.Source(d).String(), Group: string(d.Group),
			Type: d.Kind.String(), Secret: d.Secret, Bootstrap: d.Bootstrap})
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": out, "version": snap.Version()})
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
	for name, raw := range body {
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
	ID             string    `json:"id"`
	Key            string    `json:"key"`
	Disabled       bool      `json:"disabled"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	Failures       int       `json:"failure_count"`
	LastError      string    `json:"last_error,omitempty"`
	LastErrorCode  int       `json:"last_error_code,omitempty"`
	LastErrorAt    time.Time `json:"last_error_at,omitzero"`
	LastUsedAt     time.Time `json:"last_used_at,omitzero"`
}

// keyStatus lists keys (masked) with their state; ?status=usable|disabled filters, ?limit and
// ?offset page through large pools.
func (h *Handler) keyStatus(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := clampInt(q.Get("limit"), 100, 1, 10000)
	offset := clampInt(q.Get("offset"), 0, 0, 1<<30)
	want := strings.ToLower(q.Get("status"))
	keys := h.Pool.Keys()
	total, usable := h.Pool.Counts()
	out := []keyView{}
	seen := 0
	for _, k := range keys {
		if (want == "usable" && k.Disabled()) || (want == "disabled" && !k.Disabled()) {
			continue
		}
		seen++
		if seen <= offset || len(out) >= limit {
			continue
		}
		s := keypool.StateOf(k)
		out = append(out, keyView{ID: k.ID(), Key: k.Masked(), Disabled: s.Disabled, DisabledReason: s.DisabledReason,
			Failures: s.FailureCount, LastError: s.LastError, LastErrorCode: s.LastErrorCode, LastErrorAt: s.LastErrorAt, LastUsedAt: s.LastUsedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "usable": usable, "disabled": total - usable, "matching": seen, "keys": out})
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
