package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/upstream"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/testutil"
)

func TestHealthNeedsNoToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	r := h.do("GET", "/health", nil, nil)
	if r.status != 200 || !strings.Contains(string(r.body), "healthy") {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestRotationSpreadsCallsEvenly(t *testing.T) {
	t.Parallel()
	keys := []string{goodKey(0), goodKey(1), goodKey(2), goodKey(3)}
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": strings.Join(keys, ",")})
	for i := range 40 {
		if r := h.generate("gemini-2.5-flash", fmt.Sprint("hi ", i)); r.status != 200 {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	for _, k := range keys {
		if n := h.fake.Calls(k); n != 10 {
			t.Errorf("key %s got %d calls, want 10", k[len(k)-4:], n)
		}
	}
}

func TestTokenPlacesAndRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	path := "/v1beta/models/gemini-2.5-flash:generateContent"
	for name, hdr := range map[string]map[string]string{
		"x-goog-api-key": {"x-goog-api-key": clientToken},
		"bearer":         {"Authorization": "Bearer " + clientToken},
	} {
		if r := h.do("POST", path, hello("hi"), hdr); r.status != 200 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := h.do("POST", path+"?key="+clientToken, hello("hi"), nil); r.status != 200 {
		t.Errorf("?key=: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/gemini/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), tokenHeader); r.status != 200 {
		t.Errorf("/gemini prefix: %d %s", r.status, r.body)
	}
	calls := h.fake.TotalCalls()
	if st := h.do("POST", path, hello("hi"), nil).googleError(t, 401); st != "UNAUTHENTICATED" {
		t.Errorf("missing token status %s", st)
	}
	if st := h.do("POST", path, hello("hi"), map[string]string{"x-goog-api-key": "sk-wrong"}).googleError(t, 403); st != "PERMISSION_DENIED" {
		t.Errorf("wrong token status %s", st)
	}
	h.do("GET", "/v1beta/models?key=wrong", nil, nil).googleError(t, 403)
	if h.fake.TotalCalls() != calls {
		t.Fatal("a refused request reached the upstream")
	}
}

func TestKeyTravelsInHeaderAndBodyPassesThroughUnchanged(t *testing.T) {
	t.Parallel()
	// SHOW_THINKING_PROCESS would add includeThoughts (TestNativeHonoursChatSettings); here nothing may be added.
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": goodKey(0), "SHOW_THINKING_PROCESS": "false"})
	body := `{"contents":[{"role":"user","parts":[{"text":"faithful"}]}],"toolConfig":{"functionCallingConfig":{"mode":"NONE"}},` +
		`"cachedContent":"cachedContents/abc","safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_ONLY_HIGH"}],` +
		`"generationConfig":{"brandNewField":{"x":1},"temperature":0.2}}`
	// The fake holds no context cache, so Google's refusal of the unknown one comes back as it is.
	r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent?key="+clientToken, body, nil)
	if r.googleError(t, 403); !strings.Contains(string(r.body), "CachedContent not found") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	rec, ok := h.fake.LastRequest()
	if !ok {
		t.Fatal("nothing reached the upstream")
	}
	if string(rec.Body) != body {
		t.Fatalf("body changed on the way:\n got %s\nwant %s", rec.Body, body)
	}
	if rec.Header.Get("x-goog-api-key") != goodKey(0) || strings.Contains(rec.RawQuery, "key=") {
		t.Fatalf("key not in header only: query %q header %q", rec.RawQuery, rec.Header.Get("x-goog-api-key"))
	}
	if strings.Contains(string(rec.Body)+rec.RawQuery+fmt.Sprint(rec.Header), clientToken) {
		t.Fatal("the client token reached Google")
	}
}

func TestSafetySettingsAddedOnlyWhenAbsent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": goodKey(0)})
	h.generate("gemini-2.5-flash", "hi")
	rec, _ := h.fake.LastRequest()
	var sent struct {
		SafetySettings []map[string]string `json:"safetySettings"`
		Contents       []any               `json:"contents"`
	}
	if err := json.Unmarshal(rec.Body, &sent); err != nil || len(sent.SafetySettings) != 5 || len(sent.Contents) != 1 {
		t.Fatalf("safety settings not added: %s", rec.Body)
	}
	h.do("POST", "/v1beta/models/gemini-2.5-flash-preview-tts:generateContent", hello("say hi"), tokenHeader)
	rec, _ = h.fake.LastRequest()
	if strings.Contains(string(rec.Body), "safetySettings") {
		t.Fatalf("safety settings sent to a TTS model: %s", rec.Body)
	}
	h.do("PUT", "/api/config", map[string]any{"SAFETY_SETTINGS": []any{}}, adminHeader)
	h.generate("gemini-2.5-flash", "hi")
	rec, _ = h.fake.LastRequest()
	if strings.Contains(string(rec.Body), "safetySettings") {
		t.Fatalf("empty SAFETY_SETTINGS still added: %s", rec.Body)
	}
}

func TestInvalidKeyIsRetriedAwayAndDisabled(t *testing.T) {
	t.Parallel()
	bad := "AIzaSyBad000000000000000000000000000000"
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{bad: fakeupstream.Invalid}},
		map[string]string{"API_KEYS": bad + "," + goodKey(0), "MAX_FAILURES": "3"})
	for i := range 6 {
		if r := h.generate("gemini-2.5-flash", "hi"); r.status != 200 {
			t.Fatalf("call %d failed although a good key exists: %d %s", i, r.status, r.body)
		}
	}
	if n := h.fake.Calls(bad); n != 1 {
		t.Fatalf("invalid key called %d times; API_KEY_INVALID must disable it at once", n)
	}
	st := h.do("GET", "/api/keys/status?status=disabled", nil, adminHeader).json(t)
	keys := st["keys"].([]any)
	if st["disabled"].(float64) != 1 || len(keys) != 1 {
		t.Fatalf("status %v", st)
	}
	k := keys[0].(map[string]any)
	if k["key"] != "AIza…0000" || !strings.Contains(k["disabled_reason"].(string), "API_KEY_INVALID") {
		t.Fatalf("disabled key %v", k)
	}
}

func TestRateLimitedKeyCoolsDownForThatModelOnly(t *testing.T) {
	t.Parallel()
	limited := "AIzaSyLimited0000000000000000000000000"
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{limited: fakeupstream.RateLimitMinute}},
		map[string]string{"API_KEYS": limited + "," + goodKey(0), "MAX_FAILURES": "1"})
	for range 6 {
		if r := h.generate("gemini-2.5-flash", "hi"); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	if n := h.fake.Calls(limited); n != 1 {
		t.Fatalf("rate-limited key called %d times for the model it is cooling for", n)
	}
	// The quota is per model: the same key still serves another model.
	h.fake.SetBehavior(limited, fakeupstream.OK)
	for range 4 {
		h.generate("gemini-2.5-pro", "hi")
	}
	if n := h.fake.Calls(limited); n != 3 {
		t.Fatalf("cooling key not used for another model: %d calls", n)
	}
	st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t)
	if st["usable"].(float64) != 2 {
		t.Fatalf("a 429 disabled a key: %v", st)
	}
	var cds []any
	for _, k := range st["keys"].([]any) {
		if c, ok := k.(map[string]any)["cooldowns"].([]any); ok {
			cds = append(cds, c...)
		}
	}
	if len(cds) != 1 || cds[0].(map[string]any)["model"] != "gemini-2.5-flash" {
		t.Fatalf("cooldowns %v", cds)
	}
}

func TestDailyQuotaKeyWaitsForPacificMidnight(t *testing.T) {
	t.Parallel()
	daily := "AIzaSyDaily00000000000000000000000000000"
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{daily: fakeupstream.RateLimitDay}},
		map[string]string{"API_KEYS": daily + "," + goodKey(0)})
	for range 5 {
		h.generate("gemini-2.5-pro", "hi")
	}
	if n := h.fake.Calls(daily); n != 1 {
		t.Fatalf("daily-exhausted key retried %d times", n)
	}
	k, _ := h.app.Pool.Lookup(daily)
	cds := k.Cooldowns()
	if len(cds) != 1 || !cds[0].Until.Equal(upstream.NextPacificMidnight(time.Now())) {
		t.Fatalf("cooldown %+v, want until %v", cds, upstream.NextPacificMidnight(time.Now()))
	}
	// A restart does not forget it.
	h.restart(nil)
	h.generate("gemini-2.5-pro", "hi")
	if n := h.fake.Calls(daily); n != 1 {
		t.Fatalf("cooldown forgotten across restart: %d calls", n)
	}
}

func TestAllKeysCoolingAnswers429WithRetryAfter(t *testing.T) {
	t.Parallel()
	a, b := "AIzaSyLimitedA000000000000000000000000", "AIzaSyLimitedB000000000000000000000000"
	h := newHarness(t, fakeupstream.Config{RetryDelay: "40s", Keys: map[string]fakeupstream.Behavior{
		a: fakeupstream.RateLimitMinute, b: fakeupstream.RateLimitMinute}}, map[string]string{"API_KEYS": a + "," + b})
	r := h.generate("gemini-2.5-flash", "hi")
	r.googleError(t, 429)
	// A 40 s wait is longer than a client should sleep on one request: Retry-After is capped and the
	// SDKs are told not to retry; the real wait and Google's quota details stay in the body, where
	// gemini-cli reads them.
	if r.header.Get("Retry-After") != strconv.Itoa(int(upstream.MaxClientWait/time.Second)) || r.header.Get("x-should-retry") != "false" {
		t.Fatalf("retry advice %v", r.header)
	}
	var env struct {
		Error struct {
			Details []struct {
				Type       string                     `json:"@type"`
				RetryDelay string                     `json:"retryDelay"`
				Violations []struct{ QuotaID string } `json:"violations"`
			}
		}
	}
	_ = json.Unmarshal(r.body, &env)
	var delay, quotaID string
	for _, d := range env.Error.Details {
		switch {
		case strings.HasSuffix(d.Type, "RetryInfo"):
			delay = d.RetryDelay
		case strings.HasSuffix(d.Type, "QuotaFailure") && len(d.Violations) > 0:
			quotaID = d.Violations[0].QuotaID
		}
	}
	secs, err := strconv.Atoi(strings.TrimSuffix(delay, "s"))
	if err != nil || secs < 40 || secs > 49 || !strings.Contains(quotaID, "PerMinute") {
		t.Fatalf("RetryInfo %q / QuotaFailure %q not kept in gemgate's 429: %s", delay, quotaID, r.body)
	}
	calls := h.fake.TotalCalls()
	r = h.generate("gemini-2.5-flash", "hi")
	r.googleError(t, 429)
	if h.fake.TotalCalls() != calls || r.header.Get("Retry-After") == "" {
		t.Fatal("a request burned attempts although every key is cooling")
	}
}

func TestAllKeysFailingReturnsGoogleErrorWithoutLeakingKey(t *testing.T) {
	t.Parallel()
	suspended := "AIzaSySuspended00000000000000000000000"
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{suspended: fakeupstream.Suspended}},
		map[string]string{"API_KEYS": suspended})
	r := h.generate("gemini-2.5-flash", "hi")
	// A refused key is gemgate's trouble, not the client's credentials: 502, not Google's 403.
	r.googleError(t, 502)
	if !strings.Contains(string(r.body), "CONSUMER_SUSPENDED") {
		t.Fatalf("the cause is not named: %s", r.body)
	}
	if strings.Contains(string(r.body), suspended) || !strings.Contains(string(r.body), "AIza…0000") {
		t.Fatalf("key not masked in the error: %s", r.body)
	}
	// No usable key left: Google's 400 FAILED_PRECONDITION (what it answers for account-side conditions)
	// rather than a 503, which gemini-cli retries for minutes.
	r = h.generate("gemini-2.5-flash", "hi")
	if r.googleError(t, 400) != "FAILED_PRECONDITION" || r.header.Get("x-should-retry") != "false" {
		t.Fatalf("no-usable-key answer invites retries: %v %s", r.header, r.body)
	}
	if !strings.Contains(string(r.body), "disabled") {
		t.Fatalf("no-usable-key message unclear: %s", r.body)
	}
}

func TestMaxRetriesZeroMeansOneAttempt(t *testing.T) {
	t.Parallel()
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	behaviors := map[string]fakeupstream.Behavior{}
	for _, k := range keys {
		behaviors[k] = fakeupstream.Overloaded
	}
	h := newHarness(t, fakeupstream.Config{Keys: behaviors}, map[string]string{"API_KEYS": strings.Join(keys, ","), "MAX_RETRIES": "0"})
	h.generate("gemini-2.5-flash", "hi").googleError(t, 503)
	if n := h.fake.TotalCalls(); n != 1 {
		t.Fatalf("%d upstream calls with MAX_RETRIES=0", n)
	}
	h.do("PUT", "/api/config", map[string]any{"MAX_RETRIES": 2}, adminHeader)
	h.fake.Reset()
	h.generate("gemini-2.5-flash", "hi").googleError(t, 503)
	if n := h.fake.TotalCalls(); n != 3 {
		t.Fatalf("%d upstream calls with MAX_RETRIES=2 (applied live)", n)
	}
	// 503 is Google's overload, not the keys' fault: none may be disabled.
	if st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t); st["usable"].(float64) != 3 {
		t.Fatalf("overload disabled keys: %v", st)
	}
}

func TestClientErrorsAreNotRetriedNorBlamed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"MAX_FAILURES": "1"})
	r := h.generate("no-such-model", "hi")
	r.googleError(t, 404)
	if n := h.fake.TotalCalls(); n != 1 {
		t.Fatalf("a client error was retried: %d calls", n)
	}
	r = h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[]}`, tokenHeader)
	r.googleError(t, 400)
	if st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t); st["usable"].(float64) != 2 {
		t.Fatalf("client errors blamed on keys: %v", st)
	}
}

func TestBadInputGetsGoogleErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"MAX_REQUEST_BODY_MB": "1"})
	base := "/v1beta/models/gemini-2.5-flash"
	h.do("POST", base+":generateContent", `{"contents": [`, tokenHeader).googleError(t, 400)
	h.do("POST", base+":generateContent", `[1,2]`, tokenHeader).googleError(t, 400)
	h.do("POST", base+":generateContent", ``, tokenHeader).googleError(t, 400)
	big := `{"contents":[{"parts":[{"text":"` + strings.Repeat("x", 2<<20) + `"}]}]}`
	h.do("POST", base+":generateContent", big, tokenHeader).googleError(t, 413)
	h.do("POST", base+":fly", hello("hi"), tokenHeader).googleError(t, 404)
	h.do("POST", "/v1beta/models/:generateContent", hello("hi"), tokenHeader).googleError(t, 404)
	h.do("GET", base+":generateContent", nil, tokenHeader).googleError(t, 405)
	h.do("DELETE", "/v1beta/models", nil, tokenHeader).googleError(t, 405)
	h.do("GET", "/v1beta/nothing-here", nil, tokenHeader).googleError(t, 404)
	if n := h.fake.TotalCalls(); n != 0 {
		t.Fatalf("bad input reached the upstream %d times", n)
	}
}

func TestCountTokensAndEmbeddings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	r := h.do("POST", "/v1beta/models/gemini-2.5-flash:countTokens", hello("count these tokens please"), tokenHeader)
	if r.status != 200 || r.json(t)["totalTokens"].(float64) < 1 {
		t.Fatalf("countTokens %d %s", r.status, r.body)
	}
	rec, _ := h.fake.LastRequest()
	if strings.Contains(string(rec.Body), "safetySettings") {
		t.Fatal("safety settings added to countTokens")
	}
	r = h.do("POST", "/v1beta/models/text-embedding-004:embedContent",
		`{"content":{"parts":[{"text":"embed me"}]},"outputDimensionality":16}`, tokenHeader)
	if r.status != 200 || len(r.json(t)["embedding"].(map[string]any)["values"].([]any)) != 16 {
		t.Fatalf("embedContent %d %s", r.status, r.body)
	}
	r = h.do("POST", "/v1beta/models/text-embedding-004:batchEmbedContents",
		`{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]}},{"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]}}]}`, tokenHeader)
	if r.status != 200 || len(r.json(t)["embeddings"].([]any)) != 2 {
		t.Fatalf("batchEmbedContents %d %s", r.status, r.body)
	}
}

func TestModelsListAndGet(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	r := h.do("GET", "/v1beta/models", nil, tokenHeader)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	names := map[string]bool{}
	for _, m := range r.json(t)["models"].([]any) {
		names[m.(map[string]any)["name"].(string)] = true
	}
	if !names["models/gemini-2.5-flash"] || names["models/gemini-1.0-pro-vision-latest"] {
		t.Fatalf("list not filtered by FILTERED_MODELS: %v", names)
	}
	calls := h.fake.TotalCalls()
	h.do("GET", "/gemini/v1beta/models", nil, tokenHeader)
	if h.fake.TotalCalls() != calls {
		t.Fatal("the model list was fetched again instead of cached")
	}
	r = h.do("GET", "/v1beta/models/gemini-2.5-pro", nil, tokenHeader)
	if r.status != 200 || r.json(t)["name"] != "models/gemini-2.5-pro" {
		t.Fatalf("get model %d %s", r.status, r.body)
	}
	h.do("GET", "/v1beta/models/gemini-1.0-pro-vision-latest", nil, tokenHeader).googleError(t, 404)
}

func TestStreamEventsArriveOneByOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{StreamChunks: 3}, nil)
	firstSeen := make(chan struct{})
	var hookCalls atomic.Int32
	h.fake.SetStreamHook(func(ctx context.Context, event int) {
		hookCalls.Add(1)
		if event == 1 {
			// The upstream holds event 1 back until the client has received event 0 through gemgate.
			select {
			case <-firstSeen:
			case <-ctx.Done():
			}
		}
	})
	for _, tc := range []struct{ query, sep string }{{"?alt=sse", "data: "}, {"", "["}} {
		req, _ := http.NewRequest("POST", h.srv.URL+"/v1beta/models/gemini-2.5-flash:streamGenerateContent"+tc.query,
			strings.NewReader(`{"contents":[{"parts":[{"text":"stream this answer please"}]}]}`))
		req.Header.Set("x-goog-api-key", clientToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		// Read until the whole first event is here; event 1 does not exist yet upstream.
		var first string
		buf := make([]byte, 4096)
		for !strings.Contains(first, `"responseId"`) {
			n, err := resp.Body.Read(buf)
			first += string(buf[:n])
			if err != nil {
				t.Fatalf("stream ended before its first event was complete: %q %v", first, err)
			}
		}
		if !strings.HasPrefix(first, tc.sep) {
			t.Fatalf("first event %q", first)
		}
		close(firstSeen)
		rest := new(strings.Builder)
		_, _ = io.Copy(rest, resp.Body)
		resp.Body.Close()
		if tc.query != "" {
			if n := strings.Count(first+rest.String(), "data: "); n != 3 {
				t.Fatalf("%d SSE events, want 3: %s", n, rest)
			}
			if !strings.Contains(rest.String(), `"finishReason":"STOP"`) {
				t.Fatalf("last event missing finishReason: %s", rest)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("content type %q", ct)
			}
		} else if !strings.HasSuffix(strings.TrimSpace(rest.String()), "]") {
			t.Fatalf("JSON array stream not closed: %s", rest)
		}
		firstSeen = make(chan struct{})
	}
}

func TestStreamRetriedBeforeFirstByteOnly(t *testing.T) {
	t.Parallel()
	over := "AIzaSyOver0000000000000000000000000000"
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{over: fakeupstream.Overloaded}},
		map[string]string{"API_KEYS": over + "," + goodKey(0)})
	for range 2 {
		r := h.do("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", hello("hi"), tokenHeader)
		if r.status != 200 || !strings.Contains(string(r.body), `"finishReason":"STOP"`) {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	cut := "AIzaSyCut00000000000000000000000000000"
	h.fake.SetBehavior(cut, fakeupstream.StreamCut)
	h.do("PUT", "/api/config", map[string]any{"API_KEYS": []string{cut}}, adminHeader)
	r := h.do("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", hello("hi there"), tokenHeader)
	body := string(r.body)
	if r.status != 200 || strings.Count(body, "data: ") != 2 || !strings.Contains(body, `"error"`) {
		t.Fatalf("a stream cut after its first event must end with an error event, not be retried: %s", body)
	}
	if n := h.fake.Calls(cut); n != 1 {
		t.Fatalf("stream retried after its first byte: %d calls", n)
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{StreamChunks: 5}, nil)
	release := make(chan struct{})
	h.fake.SetStreamHook(func(ctx context.Context, event int) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", h.srv.URL+"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
		strings.NewReader(`{"contents":[{"parts":[{"text":"a long answer"}]}]}`))
	req.Header.Set("x-goog-api-key", clientToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	testutil.Eventually(t, "the upstream stream to be cancelled", func() bool { return h.fake.Cancelled() == 1 })
	close(release)
}

func TestCustomHeadersReachUpstream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"CUSTOM_HEADERS": `{"X-Team":"blue"}`})
	h.generate("gemini-2.5-flash", "hi")
	rec, _ := h.fake.LastRequest()
	if rec.Header.Get("X-Team") != "blue" {
		t.Fatalf("custom header missing: %v", rec.Header)
	}
}

func TestDeadProxyFailsOverToNextProxy(t *testing.T) {
	t.Parallel()
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		target, _ := url.Parse("http://" + r.Host)
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // a proxy whose port refuses connections
	h := newHarness(t, fakeupstream.Config{}, map[string]string{
		"PROXIES": `["` + deadURL + `","` + proxy.URL + `"]`,
	})
	for range 6 {
		if r := h.generate("gemini-2.5-flash", "hi"); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	if proxied.Load() != 6 {
		t.Fatalf("live proxy carried %d of 6 calls", proxied.Load())
	}
	if st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t); st["usable"].(float64) != 2 {
		t.Fatalf("a dead proxy was blamed on keys: %v", st)
	}
}

func TestEmptyAnswerRetriedOnAnotherKey(t *testing.T) {
	t.Parallel()
	empty := "AIzaSyEmpty000000000000000000000000000"
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{empty: fakeupstream.Empty}},
		map[string]string{"API_KEYS": empty + "," + goodKey(0), "MAX_FAILURES": "1"})
	for range 4 {
		r := h.generate("gemini-2.5-pro", "answer me")
		if got := answerText(t, r); !strings.Contains(got, "answer me") {
			t.Fatalf("got %q", got)
		}
	}
	if st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t); st["usable"].(float64) != 2 {
		t.Fatalf("an empty answer was blamed on the key: %v", st)
	}
	// With retries off, the empty answer itself comes back: it is Google's answer, not an error.
	h.do("PUT", "/api/config", map[string]any{"EMPTY_RESPONSE_RETRIES": 0, "API_KEYS": []string{empty}}, adminHeader)
	if r := h.generate("gemini-2.5-pro", "answer me"); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestOverloadedModelTripsTheBreaker(t *testing.T) {
	t.Parallel()
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	behaviors := map[string]fakeupstream.Behavior{}
	for _, k := range keys {
		behaviors[k] = fakeupstream.Overloaded
	}
	h := newHarness(t, fakeupstream.Config{Keys: behaviors}, map[string]string{"API_KEYS": strings.Join(keys, ","), "MAX_RETRIES": "2"})
	// 7 calls of 3 attempts each: 21 failures on every key of the pool and no success.
	for range 7 {
		h.generate("gemini-2.5-pro", "hi").googleError(t, 503)
	}
	calls := h.fake.TotalCalls()
	var r result
	for range 5 {
		r = h.generate("gemini-2.5-pro", "hi")
		r.googleError(t, 503)
	}
	// Paused: at most one trial call (of up to 3 attempts) went out, whatever the machine's speed.
	if n := h.fake.TotalCalls() - calls; n > 3 || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "on 3 different keys") {
		t.Fatalf("the pause did not stop calls to an overloaded model (%d calls): %s", n, r.body)
	}
	// Other models are not affected, and no key was blamed.
	for _, k := range keys {
		h.fake.SetBehavior(k, fakeupstream.OK)
	}
	if r := h.generate("gemini-2.5-flash", "hi"); r.status != 200 {
		t.Fatalf("another model blocked: %d", r.status)
	}
	if st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t); st["usable"].(float64) != 3 {
		t.Fatalf("overload blamed on keys: %v", st)
	}
}
