package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gemgate/gemgate/internal/config"
)

// normalizeURLs repairs the URL shapes clients commonly get wrong (URL_NORMALIZATION_ENABLED, read per
// request so the switch is live): a doubled or missing version segment, an OpenAI path on the wrong
// prefix, Gemini calls on /v1 or without a version, trailing slashes. A path is rewritten only when it
// matches no route as sent and the repaired path does, so working URLs, the admin API and /health are
// never affected. Unlike the reference, a Gemini method keeps its name: :countTokens stays
// :countTokens instead of becoming :generateContent.
func normalizeURLs(settings func() *config.Snapshot, routes *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if settings == nil || !config.URLNormalizationEnabled.Get(settings()) || routed(routes, r, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		target, ok := normalizePath(r.URL.Path)
		if !ok || target == r.URL.Path || !routed(routes, r, target) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, withPath(r, target))
	})
}

// routed reports whether path reaches a real route for r's method, not a catch-all that answers 404 nor
// the redirect ServeMux sends for an unclean path (which would turn a POST into a GET).
func routed(routes *http.ServeMux, r *http.Request, path string) bool {
	if unclean(path) {
		return false
	}
	probe := withPath(r, path)
	_, pattern := routes.Handler(probe)
	return pattern != "" && !strings.HasSuffix(pattern, "/")
}

func unclean(path string) bool {
	return strings.Contains(path, "//") || strings.Contains(path, "/./") || strings.Contains(path, "/../") ||
		strings.HasSuffix(path, "/.") || strings.HasSuffix(path, "/..")
}

func withPath(r *http.Request, path string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = path, ""
	r2.URL = &u
	return r2
}

// openAITails are the OpenAI endpoints, as path segments, that a wrong prefix is repaired for.
var openAITails = [][]string{
	{"chat", "completions"},
	{"embeddings"},
	{"images", "generations"},
	{"audio", "speech"},
	{"models"},
}

// normalizePath returns the canonical form of a mis-shaped API path, or false when it cannot tell
// what was meant.
func normalizePath(path string) (string, bool) {
	segs := splitPath(path)
	if len(segs) == 0 || segs[0] == "health" || (segs[0] == "api" && !apiVersionAfter(segs)) {
		return "", false
	}
	if target, ok := geminiPath(segs); ok {
		return target, true
	}
	return openAIPath(segs)
}

// splitPath drops empty segments, which also removes doubled and trailing slashes.
func splitPath(path string) []string {
	var out []string
	for s := range strings.SplitSeq(path, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// apiVersionAfter tells "/api/v1/chat/completions" (an API path behind a wrong prefix) from the admin
// API under /api/, which never has a version segment.
func apiVersionAfter(segs []string) bool {
	return len(segs) > 1 && slices.Contains([]string{"v1", "v1beta", "openai", "hf"}, segs[1])
}

// geminiPath repairs native calls and listings: ".../models/{model}:{method}" anywhere goes to
// /v1beta with the method kept; a Gemini model listing or lookup under a doubled or odd prefix too.
func geminiPath(segs []string) (string, bool) {
	n := len(segs)
	if n >= 2 && segs[n-2] == "models" && strings.Contains(segs[n-1], ":") {
		return "/v1beta/models/" + segs[n-1], true
	}
	if !slices.Contains(segs, "v1beta") || slices.Contains(segs, "openai") {
		return "", false
	}
	switch {
	case segs[n-1] == "models":
		return "/v1beta/models", true
	case n >= 2 && segs[n-2] == "models":
		return "/v1beta/models/" + segs[n-1], true
	}
	return "", false
}

// openAIPath puts a known OpenAI endpoint under the prefix its family lives at: /openai/v1 for
// Google's compatible endpoint (also reached as Google's own .../v1beta/openai/...), /hf/v1, or /v1.
func openAIPath(segs []string) (string, bool) {
	tail, ok := openAITail(segs)
	if !ok {
		return "", false
	}
	prefix := "/v1"
	switch {
	case slices.Contains(segs, "openai"):
		prefix = "/openai/v1"
	case segs[0] == "hf" || (segs[0] == "api" && len(segs) > 1 && segs[1] == "hf"):
		prefix = "/hf/v1"
	}
	return prefix + "/" + tail, true
}

func openAITail(segs []string) (string, bool) {
	n := len(segs)
	for _, t := range openAITails {
		if n >= len(t) && slices.Equal(segs[n-len(t):], t) {
			return strings.Join(t, "/"), true
		}
	}
	if n >= 2 && segs[n-2] == "models" {
		return "models/" + segs[n-1], true
	}
	return "", false
}
