package api

import "net/http"

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
