package api

import (
	"strings"
	"testing"
)

// FuzzNormalizePath feeds client paths to the URL repair: no panic, a repaired path is absolute and
// repairing it again changes nothing (a request is never bounced between two forms).
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{
		"/v1/v1/chat/completions", "/api/v1beta/models/gemini-2.5-flash:generateContent", "//v1beta//models/",
		"/hf/v1/models/gemini-2.5-pro", "/openai/chat/completions", "/v1beta/openai/v1/embeddings", "/health", "/api/keys",
		"/models/x:y", "/v1beta/models/..", "/%2e%2e/v1/models", "", "/", "/v1beta/models/a/b:c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		target, ok := normalizePath(path)
		if !ok {
			return
		}
		if !strings.HasPrefix(target, "/") {
			t.Fatalf("%q -> %q is not absolute", path, target)
		}
		again, ok := normalizePath(target)
		if ok && again != target {
			t.Fatalf("%q -> %q -> %q: not idempotent", path, target, again)
		}
	})
}
