package api

import (
	"net/http"
	"sync/atomic"

	"github.com/gemgate/gemgate/internal/config"
)

// securityHeaders goes on every response. Nothing but a panel page is meant to load or run anything,
// so the policy is default-src 'none' (a JSON answer opened in a browser cannot become a page), and
// only gemgate itself and FRAME_ANCESTORS may frame it. The panel's pages set their own,
// stricter-for-pages policy over these (scripts from gemgate's own files only, no inline script).
//
// The values are shared by every response instead of built for each (Header.Set allocates a slice per
// value): they are only ever replaced (Set) or appended to (Add copies a full slice), never written in
// place. The policy is rebuilt when the settings change.
func securityHeaders(settings func() *config.Snapshot, next http.Handler) http.Handler {
	var csp atomic.Pointer[policyOf]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = noReferrer
		h["Content-Security-Policy"] = policyFor(&csp, settings())
		next.ServeHTTP(w, r)
	})
}

var (
	nosniff    = []string{"nosniff"}
	noReferrer = []string{"no-referrer"}
)

// policyOf is the Content-Security-Policy value of one settings snapshot.
type policyOf struct {
	snap  *config.Snapshot
	value []string
}

func policyFor(cache *atomic.Pointer[policyOf], snap *config.Snapshot) []string {
	if p := cache.Load(); p != nil && p.snap == snap {
		return p.value
	}
	p := &policyOf{snap: snap, value: []string{"default-src 'none'; " + config.FrameAncestorsPolicy(snap)}}
	cache.Store(p)
	return p.value
}
