package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/native"
	"github.com/gemgate/gemgate/internal/openai"
)

// servedPath runs a request through the normalizer in front of gemgate's real route table and
// returns the path the router was given.
func servedPath(t *testing.T, enabled bool, method, target string) string {
	t.Helper()
	snap, err := config.FromEnv(map[string]string{"URL_NORMALIZATION_ENABLED": map[bool]string{true: "true", false: "false"}[enabled]})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", health)
	(&native.Handler{}).Register(mux)
	(&openai.Handler{}).Register(mux)
	mux.Handle("/api/", http.NotFoundHandler())
	mux.HandleFunc("/", notFound)
	var got string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.URL.Path + "?" + r.URL.RawQuery })
	normalizeURLs(func() *config.Snapshot { return snap }, mux, next).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, target, nil))
	return got
}

func TestNormalizeURLs(t *testing.T) {
	cases := []struct{ method, in, want string }{
		// Already right: never touched.
		{"POST", "/v1/chat/completions", "/v1/chat/completions?"},
		{"POST", "/hf/v1/embeddings", "/hf/v1/embeddings?"},
		{"POST", "/gemini/v1beta/models/gemini-2.5-flash:generateContent?key=k", "/gemini/v1beta/models/gemini-2.5-flash:generateContent?key=k"},
		{"GET", "/v1/models/models/gemini-2.5-flash", "/v1/models/models/gemini-2.5-flash?"},
		{"GET", "/health", "/health?"},
		// Doubled or missing version.
		{"POST", "/v1/v1/chat/completions", "/v1/chat/completions?"},
		{"POST", "/chat/completions", "/v1/chat/completions?"},
		{"POST", "/v1/v1/embeddings", "/v1/embeddings?"},
		{"GET", "/v1/v1/models", "/v1/models?"},
		{"GET", "/models", "/v1/models?"},
		{"GET", "/v1beta/v1beta/models", "/v1beta/models?"},
		{"GET", "/v1beta/v1beta/models/gemini-2.5-pro", "/v1beta/models/gemini-2.5-pro?"},
		{"POST", "/v1beta/v1beta/models/gemini-2.5-flash:generateContent", "/v1beta/models/gemini-2.5-flash:generateContent?"},
		// OpenAI paths on a wrong prefix.
		{"POST", "/api/v1/chat/completions", "/v1/chat/completions?"},
		{"POST", "/hf/chat/completions", "/hf/v1/chat/completions?"},
		{"POST", "/openai/chat/completions", "/openai/v1/chat/completions?"},
		{"POST", "/v1beta/openai/chat/completions", "/openai/v1/chat/completions?"},
		{"GET", "/v1beta/openai/models", "/openai/v1/models?"},
		// Gemini calls on /v1 or without a version keep their method (the reference turned them all
		// into generateContent) and their query.
		{"POST", "/v1/models/gemini-2.5-flash:generateContent", "/v1beta/models/gemini-2.5-flash:generateContent?"},
		{"POST", "/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"},
		{"POST", "/v1/models/gemini-2.5-flash:countTokens", "/v1beta/models/gemini-2.5-flash:countTokens?"},
		{"POST", "/models/text-embedding-004:embedContent", "/v1beta/models/text-embedding-004:embedContent?"},
		{"POST", "/v1/models/text-embedding-004:batchEmbedContents", "/v1beta/models/text-embedding-004:batchEmbedContents?"},
		// Trailing and doubled slashes.
		{"POST", "/v1/chat/completions/", "/v1/chat/completions?"},
		{"GET", "/v1beta/models/", "/v1beta/models?"},
		{"POST", "/v1//embeddings", "/v1/embeddings?"},
		{"POST", "/v1/images/generations/", "/v1/images/generations?"},
		// Left alone: the admin API, unknown shapes, and repairs that reach no route either.
		{"GET", "/api/config", "/api/config?"},
		{"GET", "/api/models", "/api/models?"},
		{"GET", "/nothing/here", "/nothing/here?"},
		{"POST", "/v1/images/edits/", "/v1/images/edits/?"},
		{"GET", "/v1/chat/completions", "/v1/chat/completions?"},
	}
	for _, c := range cases {
		if got := servedPath(t, true, c.method, c.in); got != c.want {
			t.Errorf("%s %s: served %s, want %s", c.method, c.in, got, c.want)
		}
	}
}

func TestNormalizeURLsOff(t *testing.T) {
	if got := servedPath(t, false, "POST", "/v1/v1/chat/completions"); got != "/v1/v1/chat/completions?" {
		t.Fatalf("rewritten while disabled: %s", got)
	}
}
