package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genai"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// fileRequest is a generate body naming a file by URI.
func fileRequest(uri string) map[string]any {
	return map[string]any{"contents": []any{map[string]any{"role": "user", "parts": []any{
		map[string]any{"fileData": map[string]any{"fileUri": uri, "mimeType": "text/plain"}},
		map[string]any{"text": "x"},
	}}}}
}

// generateCalls counts the generate calls the fake upstream saw.
func generateCalls(h *harness) int { return len(keysOf(h, "generateContent")) }

// The attack of the issue: a file that does not exist (or is another project's) makes Google answer
// 403 on every key. Repeated 100 times by one token it must leave every key enabled and uncharged,
// reach Google once per request, and show the client Google's own 403.
func TestUnknownFileChargesNoKey(t *testing.T) {
	t.Parallel()
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": strings.Join(keys, ","), "MAX_FAILURES": "3"})
	body := fileRequest("https://generativelanguage.googleapis.com/v1beta/files/zzzznotmine01")
	for i := range 100 {
		r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent?key="+clientToken, body, nil)
		if st := r.googleError(t, http.StatusForbidden); st != "PERMISSION_DENIED" || !strings.Contains(string(r.body), "zzzznotmine01") {
			t.Fatalf("request %d: want Google's 403 about the file, got %s", i, r.body)
		}
	}
	if n := generateCalls(h); n != 100 {
		t.Fatalf("an unknown file must reach Google exactly once per request: %d calls for 100 requests", n)
	}
	keysUnblamed(t, h)
	// The same request on the OpenAI route: Google's 403 in OpenAI's shape, nobody charged.
	chat := map[string]any{"model": "gemini-2.5-flash", "messages": []any{map[string]any{"role": "user", "content": []any{
		map[string]any{"type": "text", "text": "x"}, map[string]any{"type": "file", "file": map[string]any{"file_id": "files/zzzznotmine02"}}}}}}
	if msg := openAIError(t, h.do("POST", chatPath, chat, chatHeader), http.StatusForbidden); !strings.Contains(msg, "zzzznotmine02") {
		t.Fatalf("OpenAI route: %s", msg)
	}
	// A context cache the key cannot see is the same class of answer.
	cache := hello("x")
	cache["cachedContent"] = "cachedContents/notmine"
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", cache, tokenHeader).googleError(t, http.StatusForbidden)
	keysUnblamed(t, h)
	if r := h.generate("gemini-2.5-flash", "still serving"); r.status != http.StatusOK {
		t.Fatalf("the pool stopped serving: %d %s", r.status, r.body)
	}
}

// An ambiguous 403 ("The caller does not have permission", no reason) on a key that is really broken is
// confirmed by the key check and charged; the client's call moves on to a good key.
func TestAmbiguousRefusalConfirmedByCheck(t *testing.T) {
	t.Parallel()
	broken := goodKey(0)
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{broken: fakeupstream.Denied}},
		map[string]string{"API_KEYS": broken + "," + goodKey(1), "MAX_FAILURES": "1"})
	for range 2 {
		if r := h.generate("gemini-2.5-flash", "hi"); r.status != http.StatusOK {
			t.Fatalf("a broken key must be passed over: %d %s", r.status, r.body)
		}
	}
	k, _ := h.app.Pool.Lookup(broken)
	if !k.Disabled() {
		t.Fatal("a key whose check failed was not charged")
	}
	var checked bool
	for _, r := range h.fake.Requests() {
		if r.Key == broken && r.Action == "countTokens" && strings.Contains(r.Path, "gemini-2.5-flash-lite") {
			checked = true
		}
	}
	if !checked {
		t.Fatal("no key check (countTokens on TEST_MODEL) was made before the charge")
	}
}

// Token B cannot use token A's file: refused with 404 before anything reaches Google, on the native and
// the OpenAI route. Token A still can, with the uploading key.
func TestAnotherTokensFileIsRefusedBeforeGoogle(t *testing.T) {
	t.Parallel()
	h := filesHarness(t)
	ctx := context.Background()
	f, err := genaiClient(t, h, clientToken).Files.Upload(ctx, strings.NewReader("A's notes"), &genai.UploadFileConfig{MIMEType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	before := h.fake.TotalCalls()
	other := map[string]string{"x-goog-api-key": otherToken}
	r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", fileRequest(f.URI), other)
	if st := r.googleError(t, http.StatusNotFound); st != "NOT_FOUND" {
		t.Fatalf("status %s", st)
	}
	chat := map[string]any{"model": "gemini-2.5-flash", "messages": []any{map[string]any{"role": "user", "content": []any{
		map[string]any{"type": "text", "text": "x"}, map[string]any{"type": "file", "file": map[string]any{"file_id": f.Name}}}}}}
	openAIError(t, h.do("POST", chatPath, chat, map[string]string{"Authorization": "Bearer " + otherToken}), http.StatusNotFound)
	if n := h.fake.TotalCalls(); n != before {
		t.Fatalf("another token's file reached Google: %d calls", n-before)
	}
	owner, _ := h.fake.FileOwner(f.Name)
	if r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", fileRequest(f.URI), tokenHeader); r.status != http.StatusOK {
		t.Fatalf("the owner could not use its file: %d %s", r.status, r.body)
	}
	if last, _ := h.fake.LastRequest(); last.Key != owner {
		t.Fatal("the owner's call did not go to the uploading key")
	}
	keysUnblamed(t, h)
}

// Google refusing the gateway's location is nobody's fault: one attempt, no key charged, Google's 400.
func TestUnsupportedLocationIsNotRetriedOrCharged(t *testing.T) {
	t.Parallel()
	keys := []string{goodKey(0), goodKey(1), goodKey(2)}
	behaviors := map[string]fakeupstream.Behavior{}
	for _, k := range keys {
		behaviors[k] = fakeupstream.LocationBlocked
	}
	h := newHarness(t, fakeupstream.Config{Keys: behaviors}, map[string]string{"API_KEYS": strings.Join(keys, ",")})
	for range 5 {
		if st := h.generate("gemini-2.5-flash", "hi").googleError(t, http.StatusBadRequest); st != "FAILED_PRECONDITION" {
			t.Fatalf("status %s", st)
		}
	}
	if n := generateCalls(h); n != 5 {
		t.Fatalf("an egress refusal was retried across the pool: %d calls", n)
	}
	keysUnblamed(t, h)
}

// A request larger than the per-minute input-token quota fails on every key: the client gets Google's
// 429 after one attempt, and no key is cooled (the pool keeps serving normal requests).
func TestRequestLargerThanTokenQuotaCoolsNoKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{InputTokenLimit: 1000}, map[string]string{"API_KEYS": goodKey(0) + "," + goodKey(1)})
	big := strings.Repeat("word ", 1000) // 5,000 characters, about 1,250 tokens
	for range 10 {
		if st := h.generate("gemini-2.5-flash", big).googleError(t, http.StatusTooManyRequests); st != "RESOURCE_EXHAUSTED" {
			t.Fatalf("status %s", st)
		}
	}
	if n := generateCalls(h); n != 10 {
		t.Fatalf("a request-sized quota answer was retried across the pool: %d calls", n)
	}
	for _, k := range h.app.Pool.Keys() {
		if len(k.Cooldowns()) != 0 {
			t.Fatalf("key %s cooled by a request larger than the quota: %v", k.Masked(), k.Cooldowns())
		}
	}
	if r := h.generate("gemini-2.5-flash", "small"); r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// The user's pool of the issue: 100 good keys, then 10 rate-limited and 20 that answer 503 on every
// other call, under 10 concurrent clients. At least 99% of calls must succeed, and no key is disabled
// for 503s.
func TestMixedPoolServesNearlyEveryCall(t *testing.T) {
	t.Parallel()
	var keys []string
	behaviors := map[string]fakeupstream.Behavior{}
	for i := range 130 {
		k := fmt.Sprintf("AIzaSyMixed%029d", i)
		keys = append(keys, k)
		switch {
		case i >= 110:
			behaviors[k] = fakeupstream.Flaky
		case i >= 100:
			behaviors[k] = fakeupstream.RateLimitMinute
		}
	}
	h := newHarness(t, fakeupstream.Config{Keys: behaviors}, map[string]string{"API_KEYS": strings.Join(keys, ",")})
	const clients, each = 10, 150
	var mu sync.Mutex
	failed := 0
	var sample string
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for range each {
				r := h.generate("gemini-2.5-flash", "hi")
				if r.status != http.StatusOK {
					mu.Lock()
					failed++
					sample = fmt.Sprintf("%d %s", r.status, r.body)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	total := clients * each
	t.Logf("%d of %d calls failed (%.2f%%)", failed, total, 100*float64(failed)/float64(total))
	if failed*100 > total {
		t.Fatalf("%d of %d calls failed; last: %s", failed, total, sample)
	}
	for _, k := range h.app.Pool.Keys() {
		if k.Disabled() {
			t.Fatalf("key %s disabled by 503s or 429s", k.Masked())
		}
	}
}

// A model-wide pause needs every call to fail: with one good key left among overloaded ones, nothing
// pauses and the good key serves.
func TestNoModelPauseWhileAnyKeySucceeds(t *testing.T) {
	t.Parallel()
	var keys []string
	behaviors := map[string]fakeupstream.Behavior{}
	for i := range 12 {
		keys = append(keys, goodKey(i))
		if i > 0 {
			behaviors[goodKey(i)] = fakeupstream.Overloaded
		}
	}
	h := newHarness(t, fakeupstream.Config{Keys: behaviors}, map[string]string{"API_KEYS": strings.Join(keys, ","), "MAX_RETRIES": "20"})
	for i := range 40 {
		if r := h.generate("gemini-2.5-flash", "hi"); r.status != http.StatusOK {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	keysUnblamed(t, h)
}

// Property: random client requests against an upstream that answers with random Google errors a
// request can cause (or 5xx/429) never disable or charge a key whose check passes.
func TestRandomGoogleErrorsNeverChargeAHealthyKey(t *testing.T) {
	t.Parallel()
	answers := []string{
		`{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified","status":"INVALID_ARGUMENT"}}`,
		`{"error":{"code":403,"message":"You do not have permission to access the File abc or it may not exist.","status":"PERMISSION_DENIED"}}`,
		`{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}`,
		`{"error":{"code":403,"message":"CachedContent not found (or permission denied)","status":"PERMISSION_DENIED"}}`,
		`{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`,
		`{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}`,
		`{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`,
		`{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`,
		`{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`,
		`{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`,
		`{"error":{"code":413,"message":"Request payload size exceeds the limit.","status":"INVALID_ARGUMENT"}}`,
	}
	fake := fakeupstream.New(fakeupstream.Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	var rngMu sync.Mutex
	chaos := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Key checks (countTokens on TEST_MODEL) reach the real fake and pass; every other call gets a
		// random error.
		if strings.Contains(r.URL.Path, ":countTokens") {
			fake.ServeHTTP(w, r)
			return
		}
		rngMu.Lock()
		body := answers[rng.IntN(len(answers))]
		rngMu.Unlock()
		var code int
		fmt.Sscanf(body, `{"error":{"code":%d`, &code)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	})
	keys := []string{goodKey(0), goodKey(1), goodKey(2), goodKey(3)}
	h := newHarnessWith(t, chaos, map[string]string{"API_KEYS": strings.Join(keys, ","), "MAX_FAILURES": "1"})
	paths := []string{"/v1beta/models/gemini-2.5-flash:generateContent", "/v1beta/models/gemini-2.5-pro:generateContent"}
	for i := range 300 {
		body := hello(fmt.Sprintf("request %d", i))
		if i%3 == 0 {
			body = fileRequest(fmt.Sprintf("files/random%d", i))
		}
		h.do("POST", paths[i%2], body, tokenHeader)
	}
	for _, k := range h.app.Pool.Keys() {
		if k.Disabled() || k.Failures() != 0 {
			t.Fatalf("key %s charged although its check passes (disabled %v, failures %d)", k.Masked(), k.Disabled(), k.Failures())
		}
	}
}

// Last line of defence: an upstream (a hostile relay, a Google bug) that calls every healthy key
// invalid for one token's requests gets that token to disable at most its share of the keys on
// Google's word alone; past it each charge needs a failing check, and healthy keys pass theirs.
func TestOneTokenDisablesAtMostItsShare(t *testing.T) {
	t.Parallel()
	fake := fakeupstream.New(fakeupstream.Config{})
	invalid := `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",` +
		`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`
	liar := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, ":countTokens") {
			fake.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, invalid)
	})
	var keys []string
	for i := range 40 {
		keys = append(keys, fmt.Sprintf("AIzaSyShare%029d", i))
	}
	var logs logBuffer
	h := newHarnessLogged(t, liar, &logs, map[string]string{"API_KEYS": strings.Join(keys, ","), "KEY_BLAME_SHARE_PERCENT": "5"})
	for range 20 {
		h.generate("gemini-2.5-flash", "hi")
	}
	disabled := 0
	for _, k := range h.app.Pool.Keys() {
		if k.Disabled() {
			disabled++
		}
	}
	if disabled != 2 { // 5% of 40
		t.Fatalf("one token disabled %d keys, its share is 2", disabled)
	}
	if !strings.Contains(logs.String(), "KEY_BLAME_SHARE_PERCENT") {
		t.Fatal("the trip was not logged")
	}
	st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t)
	alerts, _ := st["blame_alerts"].([]any)
	if len(alerts) != 1 || !strings.Contains(fmt.Sprint(alerts[0]), "requests") {
		t.Fatalf("the panel's key status does not name the token: %v", st["blame_alerts"])
	}
}

// A body naming thousands of files must not turn into thousands of ownership lookups.
func TestTooManyNamedResourcesAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	var parts []any
	for i := range 65 {
		parts = append(parts, map[string]any{"fileData": map[string]any{"fileUri": fmt.Sprintf("files/f%d", i)}})
	}
	body := map[string]any{"contents": []any{map[string]any{"role": "user", "parts": parts}}}
	if st := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", body, tokenHeader).googleError(t, http.StatusBadRequest); st != "INVALID_ARGUMENT" {
		t.Fatalf("status %s", st)
	}
	if h.fake.TotalCalls() != 0 {
		t.Fatal("sent upstream")
	}
}
