package api

import (
	"net/http"
	"strings"

	"github.com/gemgate/gemgate/internal/auth"
)

// bindGrants finds the request's managed client token (one with limits) and carries it in the
// context to the upstream executor, which applies its model list and quota once the model is known.
// The handlers still decide whether a token is valid; this only attaches limits.
func bindGrants(tokens *auth.Tokens, next http.Handler) http.Handler {
	if tokens == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer, goog, anthropic := auth.BearerToken(r), r.Header.Get("x-goog-api-key"), r.Header.Get("x-api-key")
		var key string
		if strings.Contains(r.URL.RawQuery, "key=") {
			key = r.URL.Query().Get("key")
		}
		// Every place an API reads its token from, in the order its handler reads them.
		if routeKind(r.URL.Path) == "gemini" {
			r = tokens.Bind(r, key, goog, bearer, anthropic)
		} else {
			r = tokens.Bind(r, anthropic, bearer, key, goog)
		}
		next.ServeHTTP(w, r)
	})
}
