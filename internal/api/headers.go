package api

import (
	"net/http"
	"strings"

	"github.com/gemgate/gemgate/internal/auth"
)

// FrameAncestors lets the admin panel be embedded by Hugging Face Spaces, where gemgate is often
// hosted, and by no other site.
const FrameAncestors = "frame-ancestors 'self' https://huggingface.co https://*.hf.space"

// apiCSP is the policy of everything that is not a panel page: nothing it returns is meant to load
// or run anything, so a JSON answer opened in a browser cannot become a page.
const apiCSP = "default-src 'none'; " + FrameAncestors

// securityHeaders goes on every response. The panel's pages set their own, stricter-for-pages
// policy over these (scripts from gemgate's own files only, no inline script).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", apiCSP)
		next.ServeHTTP(w, r)
	})
}

// bindGrants finds the request's managed client token (one with limits) and carries it in the
// context to the upstream executor, which applies its model list and quota once the model is known.
// The handlers still decide whether a token is valid; this only attaches limits.
func bindGrants(tokens *auth.Tokens, next http.Handler) http.Handler {
	if tokens == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer, header := auth.BearerToken(r), r.Header.Get("x-goog-api-key")
		var key string
		if strings.Contains(r.URL.RawQuery, "key=") {
			key = r.URL.Query().Get("key")
		}
		// The order each API's handler reads its token in.
		if routeKind(r.URL.Path) == "gemini" {
			r = tokens.Bind(r, key, header, bearer)
		} else {
			r = tokens.Bind(r, bearer, key, header)
		}
		next.ServeHTTP(w, r)
	})
}
