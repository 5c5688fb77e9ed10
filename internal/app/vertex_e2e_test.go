package app_test

import (
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

const (
	vertexBad  = "AQ.vertex-key-one-invalid"
	vertexGood = "AQ.vertex-key-two-working"
)

func vertexHarness(t *testing.T, keys string) *harness {
	t.Helper()
	h := newHarness(t, fakeupstream.Config{KeysByName: true}, map[string]string{"VERTEX_API_KEYS": keys})
	// The fake's address is known only now; stored settings win over env at a restart, so it is saved.
	if r := h.do("PUT", "/api/config", map[string]any{"VERTEX_EXPRESS_BASE_URL": h.up.URL + "/v1beta1/publishers/google"}, adminHeader); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	return h
}

func TestVertexExpressUsesItsOwnKeysAndRetries(t *testing.T) {
	t.Parallel()
	h := vertexHarness(t, vertexBad+","+vertexGood)
	r := h.do("POST", "/vertex-express/v1beta/models/gemini-2.5-flash:generateContent?key="+clientToken, hello("hi vertex"), nil)
	if r.status != 200 || answerText(t, r) != "echo: hi vertex" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	reqs := h.fake.Requests()
	if len(reqs) != 2 || reqs[0].Key != vertexBad || reqs[1].Key != vertexGood ||
		reqs[1].Path != "/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent" {
		t.Fatalf("upstream calls: %+v", reqs)
	}
	// The refused key is out of the Vertex rotation; the Gemini pool is untouched.
	bad, _ := h.app.Media.VertexPool.Lookup(vertexBad)
	if !bad.Disabled() {
		t.Fatal("the invalid Vertex key is still in rotation")
	}
	if _, usable := h.app.Pool.Counts(); usable != 2 {
		t.Fatalf("Gemini pool changed: %d usable", usable)
	}

	r = h.do("POST", "/vertex-express/v1beta/models/gemini-2.5-flash-search:streamGenerateContent?alt=sse", hello("stream"), tokenHeader)
	if r.status != 200 || !strings.Contains(string(r.body), "data: ") {
		t.Fatalf("stream: %d %s", r.status, r.body)
	}
	last, _ := h.fake.LastRequest()
	if last.Key != vertexGood || !strings.Contains(string(last.Body), "googleSearch") || last.Action != "streamGenerateContent" {
		t.Fatalf("stream call: %s with %s", last.Body, last.Key)
	}

	// The model list is Gemini's, fetched with a Gemini key.
	r = h.do("GET", "/vertex-express/v1beta/models", nil, tokenHeader)
	last, _ = h.fake.LastRequest()
	if r.status != 200 || !strings.Contains(string(r.body), "models/gemini-2.5-flash") || !strings.HasPrefix(last.Key, "AIzaSyGood") {
		t.Fatalf("models: %d (key %s)", r.status, last.Key)
	}
	h.do("POST", "/vertex-express/v1beta/models/gemini-2.5-flash:countTokens", hello("x"), tokenHeader).googleError(t, 404)
}

func TestVertexExpressSettingChanges(t *testing.T) {
	t.Parallel()
	h := vertexHarness(t, "")
	r := h.do("POST", "/vertex-express/v1beta/models/gemini-2.5-flash:generateContent", hello("x"), tokenHeader)
	if r.googleError(t, 503); !strings.Contains(string(r.body), "VERTEX_API_KEYS") {
		t.Fatalf("%s", r.body)
	}
	if r := h.do("PUT", "/api/config", map[string]any{"VERTEX_API_KEYS": []string{vertexGood}}, adminHeader); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = h.do("POST", "/vertex-express/v1beta/models/gemini-2.5-flash:generateContent", hello("now"), tokenHeader)
	if last, _ := h.fake.LastRequest(); r.status != 200 || last.Key != vertexGood {
		t.Fatalf("%d %s (key %s)", r.status, r.body, last.Key)
	}
}
