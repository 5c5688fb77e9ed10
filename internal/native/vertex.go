package native

import (
	"net/http"
	"strings"

	"github.com/gemgate/gemgate/internal/rpcstatus"
)

// VertexPrefix is where Vertex AI Express is served, with the native API's request and answer shapes.
const VertexPrefix = "/vertex-express/v1beta"

// RegisterVertex mounts the Vertex Express routes. h runs on the Vertex executor (VERTEX_API_KEYS
// against VERTEX_EXPRESS_BASE_URL), so generation gets the same retries, cooldowns and logs as Gemini
// keys; the model list is the Gemini one (h.Models), as in the reference, since Vertex Express has no
// listing for API keys.
func (h *Handler) RegisterVertex(mux *http.ServeMux) {
	p := VertexPrefix
	mux.Handle("GET "+p+"/models", h.authorized(h.listModels))
	mux.Handle("POST "+p+"/models/{call}", h.authorized(h.vertexCall))
	mux.Handle(p+"/", http.HandlerFunc(notFound))
}

func (h *Handler) vertexCall(w http.ResponseWriter, r *http.Request) {
	_, action, _ := strings.Cut(r.PathValue("call"), ":")
	if action != "generateContent" && action != "streamGenerateContent" {
		rpcstatus.Write(w, http.StatusNotFound, "Vertex Express serves generateContent and streamGenerateContent, not "+action+".")
		return
	}
	if total, _ := h.Exec.Pool.Counts(); total == 0 {
		rpcstatus.Write(w, http.StatusServiceUnavailable, "gemgate has no Vertex AI Express key configured (set VERTEX_API_KEYS).")
		return
	}
	h.modelCall(w, r)
}
