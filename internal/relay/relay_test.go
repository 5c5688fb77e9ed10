package relay

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/testutil"
)

const testKey = "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"

// seen is what the fake Google received.
type seen struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies []string
}

func (s *seen) add(r *http.Request, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r)
	s.bodies = append(s.bodies, body)
}

func (s *seen) last(t *testing.T) (*http.Request, string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("the target got no request")
	}
	return s.reqs[len(s.reqs)-1], s.bodies[len(s.bodies)-1]
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// echoTarget answers every request with 200 and CORS headers of its own.
func echoTarget(t *testing.T) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.add(r, string(body))
		w.Header().Set("Access-Control-Allow-Origin", "https://aistudio.google.com")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

// startRelay returns the relay and a function that waits for its requests to finish and returns its log.
func startRelay(t *testing.T, target string, secret string) (*httptest.Server, func() string) {
	t.Helper()
	u, err := ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	r := New(Options{Target: u, Secret: secret, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, func() string {
		srv.Close() // waits for the handlers, which log after answering
		return logs.String()
	}
}

func TestForwardsKeyHeaderAndBody(t *testing.T) {
	target, got := echoTarget(t)
	relay, logs := startRelay(t, target.URL, "")
	req, _ := http.NewRequest(http.MethodPost, relay.URL+"/v1beta/models/gemini-2.5-flash:generateContent", strings.NewReader(`{"contents":[]}`))
	req.Header.Set("x-goog-api-key", testKey)
	req.Header.Set("Content-Type", "application/json")
	resp := do(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r, body := got.last(t)
	if r.Header.Get("x-goog-api-key") != testKey || body != `{"contents":[]}` || r.URL.Path != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Fatalf("target got key %q, body %q, path %q", r.Header.Get("x-goog-api-key"), body, r.URL.Path)
	}
	if u, _ := url.Parse(target.URL); r.Host != u.Host {
		t.Fatalf("Host %q, want the target's %q", r.Host, u.Host)
	}
	if strings.Contains(logs(), testKey) {
		t.Fatal("the log holds the key")
	}
}

func TestForwardsQueryKey(t *testing.T) {
	target, got := echoTarget(t)
	relay, logs := startRelay(t, target.URL, "")
	resp := get(t, relay.URL+"/v1beta/models?key="+testKey+"&pageSize=50")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r, _ := got.last(t)
	if r.URL.RawQuery != "key="+testKey+"&pageSize=50" {
		t.Fatalf("target got query %q", r.URL.RawQuery)
	}
	if strings.Contains(logs(), testKey) {
		t.Fatal("the log holds the key")
	}
}

func TestTargetPathPrefix(t *testing.T) {
	target, got := echoTarget(t)
	relay, _ := startRelay(t, target.URL+"/google/", "")
	get(t, relay.URL+"/v1beta/models")
	if r, _ := got.last(t); r.URL.Path != "/google/v1beta/models" {
		t.Fatalf("target got path %q", r.URL.Path)
	}
}

func TestStreamsEventByEvent(t *testing.T) {
	next := make(chan struct{})
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range 3 {
			fmt.Fprintf(w, "data: {\"n\":%d}\n\n", i)
			_ = rc.Flush()
			if i < 2 {
				// The next event is written only once the client has read this one: a relay that
				// buffered would deadlock here.
				select {
				case <-next:
				case <-time.After(testutil.GiveUp):
					return
				}
			}
		}
	}))
	defer target.Close()
	relay, _ := startRelay(t, target.URL, "")
	resp := get(t, relay.URL+"/v1beta/models/m:streamGenerateContent?alt=sse")
	rd := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if want := fmt.Sprintf("data: {\"n\":%d}\n", i); line != want {
			t.Fatalf("event %d = %q, want %q", i, line, want)
		}
		_, _ = rd.ReadString('\n')
		if i < 2 {
			next <- struct{}{}
		}
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("streamed answer has no CORS header")
	}
}

func TestPreflight(t *testing.T) {
	target, got := echoTarget(t)
	relay, _ := startRelay(t, target.URL, "s3cret")
	req, _ := http.NewRequest(http.MethodOptions, relay.URL+"/v1beta/models/m:generateContent", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type, x-goog-api-key, x-relay-secret")
	resp := do(t, req)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight status %d", resp.StatusCode)
	}
	h := resp.Header
	if h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		h.Get("Access-Control-Allow-Headers") != "content-type, x-goog-api-key, x-relay-secret" || h.Get("Access-Control-Max-Age") == "" {
		t.Fatalf("preflight headers %v", h)
	}
	if got.count() != 0 {
		t.Fatal("the preflight was forwarded")
	}
}

func TestCORSReplacesTargets(t *testing.T) {
	target, _ := echoTarget(t)
	relay, _ := startRelay(t, target.URL, "")
	resp := get(t, relay.URL+"/v1beta/models")
	if v := resp.Header.Values("Access-Control-Allow-Origin"); len(v) != 1 || v[0] != "*" {
		t.Fatalf("Access-Control-Allow-Origin = %q", v)
	}
}

func TestSecret(t *testing.T) {
	target, got := echoTarget(t)
	relay, logs := startRelay(t, target.URL, "s3cret")

	for _, tc := range []struct{ name, header, query string }{
		{"missing", "", ""},
		{"wrong header", "nope", ""},
		{"wrong query", "", "nope"},
	} {
		u := relay.URL + "/v1beta/models"
		if tc.query != "" {
			u += "?relay_secret=" + tc.query
		}
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if tc.header != "" {
			req.Header.Set(SecretHeader, tc.header)
		}
		resp := do(t, req)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", tc.name, resp.StatusCode)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("%s: refusal has no CORS header, a browser could not read it", tc.name)
		}
	}
	if got.count() != 0 {
		t.Fatal("a request without the secret was forwarded")
	}

	req, _ := http.NewRequest(http.MethodGet, relay.URL+"/v1beta/models?key="+testKey, nil)
	req.Header.Set(SecretHeader, "s3cret")
	if resp := do(t, req); resp.StatusCode != http.StatusOK {
		t.Fatalf("with the secret header: status %d", resp.StatusCode)
	}
	r, _ := got.last(t)
	if r.Header.Get(SecretHeader) != "" {
		t.Fatal("the secret header reached the target")
	}

	if resp := get(t, relay.URL+"/v1beta/models?relay_secret=s3cret&key="+testKey); resp.StatusCode != http.StatusOK {
		t.Fatalf("with the secret parameter: status %d", resp.StatusCode)
	}
	r, _ = got.last(t)
	if r.URL.RawQuery != "key="+testKey {
		t.Fatalf("target got query %q; the secret must be gone and the key kept", r.URL.RawQuery)
	}
	if l := logs(); strings.Contains(l, "s3cret") || strings.Contains(l, testKey) {
		t.Fatalf("the log holds a secret:\n%s", l)
	}
}

func TestStripsHopByHopAndClientAddress(t *testing.T) {
	target, got := echoTarget(t)
	relay, _ := startRelay(t, target.URL, "")
	req, _ := http.NewRequest(http.MethodGet, relay.URL+"/v1beta/models", nil)
	req.Header.Set("Connection", "X-Private")
	req.Header.Set("X-Private", "1")
	req.Header.Set("Proxy-Authorization", "Basic eDp5")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Real-Ip", "203.0.113.9")
	req.Header.Set("X-Goog-Api-Client", "genai-js/1.0")
	do(t, req)
	r, _ := got.last(t)
	for _, h := range []string{"X-Private", "Proxy-Authorization", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			t.Errorf("%s reached the target", h)
		}
	}
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		t.Errorf("X-Forwarded-For %q reached the target: it would reveal the hidden address", xff)
	}
	if r.Header.Get("X-Goog-Api-Client") != "genai-js/1.0" {
		t.Error("an end-to-end header was dropped")
	}
}

func TestUnreachableTargetIs502(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	relay, logs := startRelay(t, deadURL, "")
	resp := get(t, relay.URL+"/v1beta/models?key="+testKey)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	var body struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &body); err != nil || body.Error.Code != 502 || body.Error.Message == "" {
		t.Fatalf("502 body %s (%v)", raw, err)
	}
	if l := logs(); strings.Contains(string(raw), testKey) || strings.Contains(l, testKey) {
		t.Fatalf("the key leaked: body %s, log:\n%s", raw, l)
	} else if !strings.Contains(l, "forwarding failed") || !strings.Contains(l, "path=/v1beta/models") {
		t.Fatalf("the failure is not logged:\n%s", l)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("502 has no CORS header")
	}
}

func TestHealthIsLocal(t *testing.T) {
	target, got := echoTarget(t)
	relay, _ := startRelay(t, target.URL, "s3cret")
	resp := get(t, relay.URL+"/health")
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), "healthy") || got.count() != 0 {
		t.Fatalf("health: %d %s, forwarded %d", resp.StatusCode, raw, got.count())
	}
}

func TestParseTarget(t *testing.T) {
	for _, bad := range []string{"", "generativelanguage.googleapis.com", "ftp://x", "https://x/?a=1", "https://u:p@x"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		}
	}
	u, err := ParseTarget("https://example.com/base/")
	if err != nil || u.Path != "/base" {
		t.Fatalf("ParseTarget = %v, %v", u, err)
	}
}

func TestDropParam(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "",
		"relay_secret=x":                     "",
		"key=a&relay_secret=x&alt=sse":       "key=a&alt=sse",
		"relay%5Fsecret=x&key=a":             "key=a",
		"my_relay_secret=1&relay_secret=2":   "my_relay_secret=1",
		"key=a%20b&relay_secret=x&z=%2Fpath": "key=a%20b&z=%2Fpath",
	} {
		if got := dropParam(in, SecretParam); got != want {
			t.Errorf("dropParam(%q) = %q, want %q", in, got, want)
		}
	}
}

func get(t *testing.T, u string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
