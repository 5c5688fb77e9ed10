package admin

import (
	"net/http"

	"github.com/gemgate/gemgate/internal/version"
)

// Version shows the running version and the cached result of the background release check; the route
// never asks GitHub itself.
type Version struct {
	Checker *version.Checker
}

// Register mounts GET /api/version on h.
func (v *Version) Register(h *Handler) {
	h.Handle("GET /api/version", v.get)
}

func (v *Version) get(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, v.Checker.Latest())
}
