package gemini

import (
	"context"
	"net/http"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/secret"
)

// FileKeys finds the key a request that references uploaded files must use: Google lets only the key
// (the project) that uploaded a file read it.
type FileKeys interface {
	// KeyFor returns the uploading key of the first file in body that the client (ownerID, its token's
	// secret.ID) may use, or nil when body references none; an error is for the client.
	KeyFor(ctx context.Context, ownerID string, body []byte) (*keypool.Key, error)
}

// fileKey is the key of the files the request references, for the methods that read contents.
func (h *Handler) fileKey(r *http.Request, action string, body []byte) (*keypool.Key, error) {
	if h.Files == nil || (action != "generateContent" && action != "streamGenerateContent" && action != "countTokens") {
		return nil, nil
	}
	return h.Files.KeyFor(r.Context(), secret.ID(auth.GeminiToken(r)), body)
}
