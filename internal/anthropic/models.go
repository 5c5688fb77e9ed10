package anthropic

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/models"
	"github.com/gemgate/gemgate/internal/translate"
)

// geminiModel is the Gemini model (or alias) that serves a model name an Anthropic client sent:
// Gemini names and aliases as they are, Claude names by the longest part of ANTHROPIC_MODEL_MAP they
// contain, anything else as it is (and then refused as unknown, naming the setting).
func geminiModel(snap *config.Snapshot, name string) string {
	name = strings.TrimSpace(name)
	lower := strings.ToLower(strings.TrimPrefix(name, "models/"))
	if _, alias := config.ModelAliases.Get(snap)[name]; alias || strings.HasPrefix(lower, "gemini") || strings.HasPrefix(lower, "gemma") {
		return name
	}
	best := ""
	for part := range config.AnthropicModelMap.Get(snap) {
		p := strings.ToLower(part)
		if p != "" && strings.Contains(lower, p) && (len(p) > len(best) || len(p) == len(best) && p < best) {
			best = part
		}
	}
	if best == "" {
		return name
	}
	return config.AnthropicModelMap.Get(snap)[best]
}

// modelInfo is Anthropic's model object.
type modelInfo struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

type modelPage struct {
	Data    []modelInfo `json:"data"`
	HasMore bool        `json:"has_more"`
	FirstID *string     `json:"first_id"`
	LastID  *string     `json:"last_id"`
}

// modelList is what Anthropic clients may pick from: the Gemini models gemgate offers, plus the
// Claude-style names ANTHROPIC_MODEL_MAP serves (so a client that only accepts Claude names still
// finds its names).
func modelList(snap *config.Snapshot, ids []string, allow func(...string) bool) []modelInfo {
	created := time.Unix(0, 0).UTC().Format(time.RFC3339)
	out := make([]modelInfo, 0, len(ids))
	seen := map[string]bool{}
	add := func(id, display string) {
		if id == "" || seen[id] {
			return
		}
		seen[id] = true
		out = append(out, modelInfo{Type: "model", ID: id, DisplayName: display, CreatedAt: created})
	}
	mapped := make([]string, 0)
	for part := range config.AnthropicModelMap.Get(snap) {
		mapped = append(mapped, part)
	}
	sort.Strings(mapped)
	for _, part := range mapped {
		target := config.AnthropicModelMap.Get(snap)[part]
		if allow != nil && !allow("claude-"+part, target, models.Resolve(snap, target).Real) {
			continue
		}
		add("claude-"+part, "Claude "+part+" → "+config.AnthropicModelMap.Get(snap)[part])
	}
	for _, id := range ids {
		add(id, id)
	}
	return out
}

// listModels answers GET /v1/models for Anthropic clients, from the cached upstream list.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	ids, err := h.modelIDs(r, snap)
	if err != nil {
		writeFailure(w, err)
		return
	}
	if id := strings.TrimPrefix(r.PathValue("model"), "models/"); id != "" {
		if m, ok := findModel(snap, ids, id, auth.GrantFrom(r.Context()).Lists); ok {
			writeJSON(w, m)
			return
		}
		writeError(w, http.StatusNotFound, typeNotFound, "model: "+id)
		return
	}
	page := modelPage{Data: modelList(snap, ids, auth.GrantFrom(r.Context()).Lists)}
	if n := len(page.Data); n > 0 {
		page.FirstID, page.LastID = &page.Data[0].ID, &page.Data[n-1].ID
	}
	writeJSON(w, page)
}

// findModel retrieves a model by any name /v1/messages accepts: a listed id, or a Claude name (or alias,
// or derived name) that resolves to a listed Gemini model, under the name asked for.
func findModel(snap *config.Snapshot, ids []string, id string, allow func(...string) bool) (modelInfo, bool) {
	list := modelList(snap, ids, allow)
	for _, m := range list {
		if m.ID == id {
			return m, true
		}
	}
	target := geminiModel(snap, id)
	resolved, err := translate.ResolveModel(snap, target)
	if err != nil || (allow != nil && !allow(id, target, resolved.Real)) {
		return modelInfo{}, false
	}
	for _, m := range list {
		if m.ID == resolved.Real {
			return modelInfo{Type: "model", ID: id, DisplayName: id + " → " + resolved.Real, CreatedAt: m.CreatedAt}, true
		}
	}
	return modelInfo{}, false
}

func (h *Handler) modelIDs(r *http.Request, snap *config.Snapshot) ([]string, error) {
	list, err := h.Models.List(r.Context(), snap)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range models.Allowed(snap, models.Derive(snap, list), auth.GrantFrom(r.Context()).Lists) {
		ids = append(ids, models.ID(m))
	}
	return ids, nil
}
