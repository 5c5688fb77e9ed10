package api

import (
	"net/http"

	"github.com/gemgate/gemgate/internal/config"
)

// securityHeaders goes on every response. Nothing but a panel page is meant to load or run anything,
// so the policy is default-src 'none' (a JSON answer opened in a browser cannot become a page), and
// only gemgate itself and FRAME_ANCESTORS may frame it. The panel's pages set their own,
// stricter-for-pages policy over these (scripts from gemgate's own files only, no inline script).
func securityHeaders(settings func() *config.Snapshot, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; "+config.FrameAncestorsPolicy(settings()))
		next.ServeHTTP(w, r)
	})
}
