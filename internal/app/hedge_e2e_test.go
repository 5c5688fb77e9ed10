package app_test

// Hedging (HEDGE_AFTER_MS, issue 20): a call with no answer after the delay is also sent on a second
// key; the first good answer wins and the other call is cancelled, charged to nobody. The fake's
// scripted delays stand for Google's long tail; its OnAbandon event shows the cancellation.

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/logs"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
)

// held is a delay no test waits for: a call held for it ends only when its client cancels it.
const held = time.Hour

// hedgeHarness runs gemgate with hedging after afterMS in front of a fake whose generate calls wait
// delay(n, key); the keys of calls abandoned by their client arrive on the returned channel.
func hedgeHarness(t *testing.T, afterMS string, delay func(n int, key string) time.Duration, env map[string]string,
	fcfg fakeupstream.Config) (*harness, <-chan string) {
	t.Helper()
	abandoned := make(chan string, 64)
	fcfg.Delay = delay
	fcfg.OnAbandon = func(_ int, key string) {
		select {
		case abandoned <- key:
		default: // a test that does not read them
		}
	}
	all := map[string]string{"HEDGE_AFTER_MS": afterMS, "ALLOWED_TOKENS": `["` + clientToken + `","` + otherToken + `"]`}
	for k, v := range env {
		all[k] = v
	}
	return newHarness(t, fcfg, all), abandoned
}

// firstHeld holds the first generate call; every later one answers at once.
func firstHeld(n int, _ string) time.Duration {
	if n == 1 {
		return held
	}
	return 0
}

// keysUntouched asserts that no key was charged, avoided or cooled by what happened so far.
func keysUntouched(t *testing.T, h *harness) {
	t.Helper()
	keysUnblamed(t, h)
	for _, k := range h.app.Pool.Keys() {
		if k.Avoided(time.Now()) {
			t.Errorf("key %s is being avoided after a hedge", k.Masked())
		}
	}
	if r := h.generate("gemini-2.5-flash", "every key still serves"); r.status != http.StatusOK {
		t.Fatalf("after the hedge: %d %s", r.status, r.body)
	}
}

func TestHedgeAnswersFromTheSecondKeyAndCancelsTheSlowCall(t *testing.T) {
	leakCheck(t)
	h, abandoned := hedgeHarness(t, "20", firstHeld, nil, fakeupstream.Config{})
	r := h.generate("gemini-2.5-flash", "hello")
	if r.status != http.StatusOK || answerText(t, r) == "" {
		t.Fatalf("hedged call: %d %s", r.status, r.body)
	}
	calls := keysOf(h, "generateContent")
	if len(calls) != 2 || calls[0] == calls[1] {
		t.Fatalf("want the held call and its hedge on another key, got %d calls", len(calls))
	}
	if k := <-abandoned; k != calls[0] {
		t.Fatal("the cancelled call is not the held one")
	}

	// The loser costs an upstream call, shown in the request's row; it is no failure anywhere.
	h.flushLogs()
	var reqs struct {
		Logs []logs.RequestLog `json:"logs"`
	}
	h.admin("GET", "/api/logs/requests?limit=10", nil, &reqs)
	if len(reqs.Logs) != 1 {
		t.Fatalf("%d request rows, want 1", len(reqs.Logs))
	}
	row := reqs.Logs[0]
	if !row.Success || len(row.Attempts) != 2 || row.KeyID != secret.ID(calls[1]) {
		t.Fatalf("row %+v", row)
	}
	if lost, won := row.Attempts[0], row.Attempts[1]; lost.Class != reqlog.ClassHedgeLost || lost.KeyID != secret.ID(calls[0]) ||
		won.Class != "ok" || won.KeyID != secret.ID(calls[1]) {
		t.Fatalf("attempts %+v", row.Attempts)
	}
	var errs struct{ Total int64 }
	h.admin("GET", "/api/logs/errors", nil, &errs)
	if errs.Total != 0 {
		t.Fatalf("the cancelled hedge left %d error rows", errs.Total)
	}
	var stats []logs.KeyStats
	h.admin("GET", "/api/stats/keys?period=1h", nil, &stats)
	for _, k := range stats {
		if k.Failure != 0 {
			t.Fatalf("key statistics count the cancelled hedge as a failure: %+v", stats)
		}
	}
	var sum logs.Summary
	h.admin("GET", "/api/stats/summary", nil, &sum)
	if sum.Hour.Failure != 0 || sum.Hour.Success != 1 {
		t.Fatalf("summary %+v", sum.Hour)
	}
	keysUntouched(t, h)
}

// An answer that comes before the delay is the only call: the hedge waits for the whole delay.
func TestHedgeWaitsForTheDelay(t *testing.T) {
	h, _ := hedgeHarness(t, "3600000", func(int, string) time.Duration { return 30 * time.Millisecond }, nil, fakeupstream.Config{})
	for range 3 {
		if r := h.generate("gemini-2.5-flash", "hello"); r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	if n := generateCalls(h); n != 3 {
		t.Fatalf("%d upstream calls for 3 answers that came before the delay", n)
	}
}

// Off by default: a held call is not hedged, and its client's departure cancels it.
func TestHedgeOffByDefault(t *testing.T) {
	arrived := make(chan struct{})
	h, abandoned := hedgeHarness(t, "0", func(n int, key string) time.Duration {
		if n == 1 {
			close(arrived)
		}
		return firstHeld(n, key)
	}, nil, fakeupstream.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "POST", h.srv.URL+"/v1beta/models/gemini-2.5-flash:generateContent",
			strings.NewReader(`{"contents":[{"parts":[{"text":"hi"}]}]}`))
		req.Header.Set("x-goog-api-key", clientToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-arrived
	cancel()
	<-abandoned
	<-done
	if n := generateCalls(h); n != 1 {
		t.Fatalf("hedging is off, yet %d upstream calls", n)
	}
}

// An empty answer does not win: the other half's answer is awaited and returned, even with no empty
// retries left (without the hedge, the empty answer would be the client's).
func TestHedgeEmptyAnswerDoesNotWin(t *testing.T) {
	var fake *fakeupstream.Server
	delay := func(n int, key string) time.Duration {
		if n == 1 {
			fake.SetBehavior(key, fakeupstream.Empty) // the first call's key answers empty
			return 300 * time.Millisecond
		}
		return 600 * time.Millisecond
	}
	h, _ := hedgeHarness(t, "20", delay, map[string]string{"EMPTY_RESPONSE_RETRIES": "0"}, fakeupstream.Config{})
	fake = h.fake
	r := h.generate("gemini-2.5-flash", "hello")
	if r.status != http.StatusOK || answerText(t, r) == "" {
		t.Fatalf("want the good key's answer, got %d %s", r.status, r.body)
	}
	if calls := keysOf(h, "generateContent"); len(calls) != 2 {
		t.Fatalf("want the call and its hedge only, got %d calls", len(calls))
	}
}

// A call naming a file goes to the key holding it and is never hedged to another key.
func TestHedgeNeverMovesAPinnedCall(t *testing.T) {
	slow := func(int, string) time.Duration { return 300 * time.Millisecond }
	h, _ := hedgeHarness(t, "20", slow, nil, fakeupstream.Config{})
	f, err := genaiClient(t, h, clientToken).Files.Upload(context.Background(), strings.NewReader("notes"),
		&genai.UploadFileConfig{MIMEType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := h.fake.FileOwner(f.Name)
	if r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", fileRequest(f.URI), tokenHeader); r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if calls := keysOf(h, "generateContent"); len(calls) != 1 || calls[0] != owner {
		t.Fatalf("a pinned call was hedged: calls on %d keys", len(calls))
	}
	// The same slow answer without a file is hedged: the delay above was long enough to hedge.
	h.generate("gemini-2.5-flash", "no file")
	if n := generateCalls(h); n != 3 {
		t.Fatalf("the unpinned control call made %d upstream calls, want 2", n-1)
	}
}

// A stream is hedged while it has sent nothing; once its first byte is relayed it is the answer,
// however slow its next events.
func TestHedgeStreamsOnlyBeforeTheFirstByte(t *testing.T) {
	h, abandoned := hedgeHarness(t, "20", firstHeld, nil, fakeupstream.Config{})
	r := h.do("POST", nativeStream, hello("stream"), tokenHeader)
	if r.status != http.StatusOK || !completed(sseEvents(r.body)) {
		t.Fatalf("hedged stream: %d %s", r.status, r.body)
	}
	calls := keysOf(h, "streamGenerateContent")
	if len(calls) != 2 {
		t.Fatalf("%d stream calls, want the held one and its hedge", len(calls))
	}
	if k := <-abandoned; k != calls[0] {
		t.Fatal("the cancelled stream is not the held one")
	}
	keysUntouched(t, h)
}

// After its first event a stream waits longer than the hedge delay for its next one: not hedged. (The
// delay leaves a second for the first byte to cross loopback.)
func TestHedgeLeavesAStreamThatBegan(t *testing.T) {
	// The hedge delay is far above any loopback first byte, even on a loaded machine, and the pause
	// between events twice the delay: a hedge armed by mistake would fire inside it.
	h, _ := hedgeHarness(t, "1000", func(int, string) time.Duration { return 0 }, nil, fakeupstream.Config{})
	var once sync.Once
	h.fake.SetStreamHook(func(ctx context.Context, _ int) {
		once.Do(func() {
			select {
			case <-time.After(2 * time.Second):
			case <-ctx.Done():
			}
		})
	})
	r := h.do("POST", nativeStream, hello("slow events"), tokenHeader)
	if r.status != http.StatusOK || !completed(sseEvents(r.body)) {
		t.Fatalf("slow stream: %d %s", r.status, r.body)
	}
	if n := len(keysOf(h, "streamGenerateContent")); n != 1 {
		t.Fatalf("a stream that had begun was hedged: %d calls", n)
	}
}

// slowCalls runs gemgate (HEDGE_AFTER_MS=5, HEDGE_MAX_PERCENT=10, four keys) in front of a fake whose
// every call takes 60 ms, and makes n calls with the client token.
func slowCalls(t *testing.T, n int) *harness {
	t.Helper()
	slow := func(int, string) time.Duration { return 60 * time.Millisecond }
	keys := []string{goodKey(0), goodKey(1), goodKey(2), goodKey(3)}
	h, _ := hedgeHarness(t, "5", slow, map[string]string{"HEDGE_MAX_PERCENT": "10", "API_KEYS": strings.Join(keys, ",")},
		fakeupstream.Config{})
	for range n {
		if r := h.generate("gemini-2.5-flash", "slow"); r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	return h
}

// When every call is slow, HEDGE_MAX_PERCENT bounds the hedges: over n calls at most
// percent × (1 + n/100), where hedging every call would double them.
func TestHedgeShareIsCapped(t *testing.T) {
	const n = 40
	h := slowCalls(t, n)
	hedges := generateCalls(h) - n
	if hedges < 1 || hedges > 10*(100+n)/100 {
		t.Fatalf("%d hedges for %d slow calls, want between 1 and %d", hedges, n, 10*(100+n)/100)
	}
	keysUnblamed(t, h)
}

// Hedges are a second key's quota, so each client token earns its own share: a token whose every call
// is slow (long answers on purpose) spends its own hedges, and another token's slow calls are still
// hedged afterwards.
func TestHedgeShareIsPerToken(t *testing.T) {
	const n = 40
	h := slowCalls(t, n)
	first := generateCalls(h) - n
	if first > 10*(100+n)/100 {
		t.Fatalf("one token was hedged %d times in %d calls, want at most %d", first, n, 10*(100+n)/100)
	}
	const m = 5
	for range m {
		r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("slow"),
			map[string]string{"x-goog-api-key": otherToken})
		if r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	if hedged := generateCalls(h) - n - first - m; hedged != m {
		t.Fatalf("after one token spent its share, another token's %d slow calls were hedged %d times, want %d", m, hedged, m)
	}
	keysUnblamed(t, h)
}
