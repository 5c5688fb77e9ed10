package openai

import (
	"net/http"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/secret"
)

// fileKey is the key that uploaded the files a translated request references (file_id parts become
// fileData): only that key can read them at Google.
func (h *Handler) fileKey(r *http.Request, payload []byte) (*keypool.Key, error) {
	if h.Files == nil {
		return nil, nil
	}
	token := auth.BearerToken(r)
	if token == "" {
		token = auth.GeminiToken(r)
	}
	key, err := h.Files.KeyFor(r.Context(), secret.ID(token), payload)
	if err != nil {
		return nil, invalidParam("messages", "%v", err)
	}
	return key, nil
}
