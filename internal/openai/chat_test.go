package openai

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

const chatTestToken = "sk-chat-test"

// chatTestGateway serves the OpenAI routes in front of the fake Gemini. The settings can be swapped
// while it runs, as the admin panel does.
type chatTestGateway struct {
	srv  *httptest.Server
	fake *fakeupstream.Server
	snap atomic.Pointer[config.Snapshot]
	env  map[string]string
}

func newChatTestGateway(t *testing.T, fcfg fakeupstream.Config, env map[string]string) *chatTestGateway {
	t.Helper()
	g := &chatTestGateway{fake: fakeupstream.New(fcfg)}
	up := httptest.NewServer(g.fake)
	t.Cleanup(up.Close)
	g.env = map[string]string{"BASE_URL": up.URL + "/v1beta", "API_KEYS": "AIzaSyChatTestKey0000000000000000000001", "ALLOWED_TOKENS": chatTestToken}
	for k, v := range env {
		g.env[k] = v
	}
	snap := chatTestSnap(t, g.env)
	g.snap.Store(snap)
	exec := &upstream.Executor{Pool: keypool.New(config.APIKeys.Get(snap), 3), Client: upstream.NewClient(),
		Settings: g.snap.Load, Backoff: func(int) time.Duration { return 0 }}
	h := &Handler{Exec: exec, Settings: g.snap.Load}
	mux := http.NewServeMux()
	h.Register(mux)
	g.srv = httptest.NewServer(auth.NewTokens(snap).Door(func(*http.Request) bool { return true },
		func(w http.ResponseWriter, _ *http.Request, _ auth.Refusal) {
			WriteError(w, 401, "refused", TypeAuthentication, "", "")
		}, mux))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *chatTestGateway) set(t *testing.T, changes map[string]string) {
	t.Helper()
	for k, v := range changes {
		g.env[k] = v
	}
	g.snap.Store(chatTestSnap(t, g.env))
}

func (g *chatTestGateway) post(t *testing.T, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", g.srv.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+chatTestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (g *chatTestGateway) lastBody(t *testing.T) string {
	t.Helper()
	rec, ok := g.fake.LastRequest()
	if !ok {
		t.Fatal("nothing reached the upstream")
	}
	return string(rec.Body)
}

func TestChatFetchesImageURLs(t *testing.T) {
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cat.webp" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/webp")
		w.Write([]byte("RIFF....WEBP"))
	}))
	defer img.Close()
	saved := fetcher
	fetcher = translate.NewFetcher(true)
	defer func() { fetcher = saved }()

	g := newChatTestGateway(t, fakeupstream.Config{}, nil)
	msg := func(url string) string {
		return `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"text","text":"what?"},{"type":"image_url","image_url":{"url":"` + url + `"}}]}]}`
	}
	status, _, body := g.post(t, msg(img.URL+"/cat.webp"))
	if status != 200 || !strings.Contains(body, "echo: what?") {
		t.Fatalf("%d %s", status, body)
	}
	if sent := g.lastBody(t); !strings.Contains(sent, `"inlineData":{"mimeType":"image/webp","data":"UklGRi4uLi5XRUJQ"}`) {
		t.Fatalf("image not inlined: %s", sent)
	}
	calls := g.fake.TotalCalls()
	status, _, body = g.post(t, msg(img.URL+"/missing.png"))
	if status != 400 || !strings.Contains(body, img.URL+"/missing.png") || !strings.Contains(body, `"param":"messages[0].content[1].image_url.url"`) {
		t.Fatalf("%d %s", status, body)
	}
	if g.fake.TotalCalls() != calls {
		t.Fatal("a request with an unreadable image was sent on")
	}
}

func TestChatUpstreamRefusals(t *testing.T) {
	g := newChatTestGateway(t, fakeupstream.Config{}, nil)
	status, _, body := g.post(t, `{"model":"text-embedding-004","messages":[{"role":"user","content":"hi"}]}`)
	var env struct{ Error ErrorBody }
	if err := json.Unmarshal([]byte(body), &env); err != nil || status != 404 || env.Error.Code == nil || *env.Error.Code != "model_not_found" {
		t.Fatalf("%d %s", status, body)
	}
	status, _, body = g.post(t, `{"model":"text-embedding-004","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if status != 404 || !strings.Contains(body, "model_not_found") {
		t.Fatalf("streamed: %d %s", status, body)
	}
}

func TestChatOptimizerSettingIsLive(t *testing.T) {
	g := newChatTestGateway(t, fakeupstream.Config{StreamChunks: 1}, map[string]string{"SHOW_THINKING_PROCESS": "false"})
	req := `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"abcdefgh"}]}`
	_, _, plain := g.post(t, req)
	g.set(t, map[string]string{"STREAM_OPTIMIZER_ENABLED": "true", "STREAM_MIN_DELAY": "0.001", "STREAM_MAX_DELAY": "0.001",
		"STREAM_SHORT_TEXT_THRESHOLD": "1", "STREAM_LONG_TEXT_THRESHOLD": "100"})
	_, _, paced := g.post(t, req)
	// "echo: abcdefgh" is one delta unpaced, one per character paced.
	if n, m := strings.Count(plain, `"content":"`), strings.Count(paced, `"content":"`); n != 2 || m != 1+len("echo: abcdefgh") {
		t.Fatalf("content events: %d unpaced, %d paced\n%s", n, m, paced)
	}
}

func TestChatFakeStreamFailures(t *testing.T) {
	g := newChatTestGateway(t, fakeupstream.Config{UnknownKeys: fakeupstream.RateLimitMinute},
		map[string]string{"FAKE_STREAM_ENABLED": "true", "FAKE_STREAM_EMPTY_DATA_INTERVAL_SECONDS": "1"})
	req := `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	// A failure before the first keep-alive still gets its HTTP status. Google's 37 s wait is more than a
	// client should sleep: OpenAI's insufficient_quota and x-should-retry: false say not to retry.
	status, hdr, body := g.post(t, req)
	if status != 429 || hdr.Get("Retry-After") != "5" || hdr.Get("x-should-retry") != "false" || !strings.Contains(body, `"type":"insufficient_quota"`) {
		t.Fatalf("%d %v %s", status, hdr, body)
	}
}

func TestChatFakeStreamFailureAfterKeepAlive(t *testing.T) {
	g := newChatTestGateway(t, fakeupstream.Config{UnknownKeys: fakeupstream.RateLimitMinute, Latency: 1200 * time.Millisecond},
		map[string]string{"FAKE_STREAM_ENABLED": "true", "FAKE_STREAM_EMPTY_DATA_INTERVAL_SECONDS": "1", "MAX_RETRIES": "0"})
	status, _, body := g.post(t, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if status != 200 || !strings.HasPrefix(body, ": keep-alive\n\n") || !strings.Contains(body, `data: {"error":{`) ||
		!strings.Contains(body, "rate_limit_error") || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("%d %s", status, body)
	}
}

func TestChatEmptyAnswerRetriedOnAnotherKey(t *testing.T) {
	g := newChatTestGateway(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{"AIzaSyChatTestKey0000000000000000000001": fakeupstream.Empty}},
		map[string]string{"API_KEYS": "AIzaSyChatTestKey0000000000000000000001,AIzaSyChatTestKey0000000000000000000002"})
	for range 2 {
		status, _, body := g.post(t, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`)
		if status != 200 || !strings.Contains(body, `"content":"echo: hi"`) {
			t.Fatalf("%d %s", status, body)
		}
	}
}
