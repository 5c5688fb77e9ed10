package native

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/models"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	list, err := h.Models.List(r.Context(), snap)
	if err != nil {
		upstream.WriteError(w, err)
		return
	}
	writeJSON(w, map[string]any{"models": models.Allowed(snap, models.Derive(snap, list), auth.GrantFrom(r.Context()).Lists)})
}

func (h *Handler) getModel(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	id := r.PathValue("model")
	if strings.Contains(id, ":") {
		rpcstatus.Write(w, http.StatusMethodNotAllowed, "Model methods such as "+id+" are called with POST.")
		return
	}
	if slices.Contains(config.FilteredModels.Get(snap), id) {
		rpcstatus.Write(w, http.StatusNotFound, "models/"+id+" is hidden by FILTERED_MODELS on this gateway.")
		return
	}
	if !models.Listed(snap, id, auth.GrantFrom(r.Context()).Lists) {
		rpcstatus.Write(w, http.StatusNotFound, "models/"+id+" does not exist or this token may not use it.")
		return
	}
	if res := models.Resolve(snap, id); res.Real != res.Requested {
		h.getDerivedModel(w, r, snap, id)
		return
	}
	resp, err := h.Exec.Do(r.Context(), upstream.Call{Method: http.MethodGet, Path: "models/" + id, Model: id})
	if err != nil {
		upstream.WriteError(w, err)
		return
	}
	writeBody(w, resp)
}

// getDerivedModel answers a variant or alias from the derived list: Google does not know these names,
// and the list is usually cached, so no upstream call is needed.
func (h *Handler) getDerivedModel(w http.ResponseWriter, r *http.Request, snap *config.Snapshot, id string) {
	list, err := h.Models.List(r.Context(), snap)
	if err != nil {
		upstream.WriteError(w, err)
		return
	}
	m, ok := models.Find(models.Derive(snap, list), id)
	if !ok {
		rpcstatus.Write(w, http.StatusNotFound, "models/"+id+" is not offered by this gateway; see the model list.")
		return
	}
	writeJSON(w, m)
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		rpcstatus.Write(w, http.StatusInternalServerError, "could not encode the answer")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(body)
}
