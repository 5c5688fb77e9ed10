package openai

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/models"
)

// modelObject is OpenAI's model object.
type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type modelList struct {
	Object string        `json:"object"`
	Data   []modelObject `json:"data"`
}

// openAIModels turns the derived Gemini list (variants already right after their base, aliases last)
// into OpenAI's entries, plus the reference's image-drawing chat model.
func openAIModels(snap *config.Snapshot, list []map[string]json.RawMessage, created int64, allow func(...string) bool) []modelObject {
	derived := models.Allowed(snap, models.Derive(snap, list), allow)
	out := make([]modelObject, 0, len(derived)+1)
	seen := make(map[string]bool, len(derived)+1)
	for _, m := range derived {
		id := models.ID(m)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, modelObject{ID: id, Object: "model", Created: created, OwnedBy: "google"})
	}
	if img := strings.TrimPrefix(config.CreateImageModel.Get(snap), "models/"); img != "" && !seen[img+"-chat"] &&
		models.Listed(snap, img+"-chat", allow) {
		out = append(out, modelObject{ID: img + "-chat", Object: "model", Created: created, OwnedBy: "google"})
	}
	return out
}

// listModels answers GET /v1/models from the cached upstream list, so listing costs no quota.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	list, err := h.Models.List(r.Context(), snap)
	if err != nil {
		WriteUpstreamError(w, err)
		return
	}
	writeJSONBody(w, http.StatusOK, modelList{Object: "list", Data: openAIModels(snap, list, time.Now().Unix(), auth.GrantFrom(r.Context()).Lists)})
}

// getModel answers GET /v1/models/{model} from the same list; OpenAI SDKs may ask for "models/x" too.
func (h *Handler) getModel(w http.ResponseWriter, r *http.Request) {
	snap := h.Settings()
	id := strings.TrimPrefix(r.PathValue("model"), "models/")
	list, err := h.Models.List(r.Context(), snap)
	if err != nil {
		WriteUpstreamError(w, err)
		return
	}
	for _, m := range openAIModels(snap, list, time.Now().Unix(), auth.GrantFrom(r.Context()).Lists) {
		if m.ID == id {
			writeJSONBody(w, http.StatusOK, m)
			return
		}
	}
	WriteError(w, http.StatusNotFound, "The model '"+id+"' does not exist or is not offered by this gateway.",
		TypeInvalidRequest, "model_not_found", "model")
}

// writeJSONBody sends v as JSON with status.
func writeJSONBody(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "could not encode the answer", TypeServer, "", "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
