package app_test

// The fault suite: gemgate between a misbehaving upstream and misbehaving clients. Each case states
// what the client receives, that no goroutine outlives the test (goleak), and how the keys are
// classified: network and protocol faults are never the key's fault.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"

	"github.com/gemgate/gemgate/internal/api"
	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/testutil"
)

// leakCheck fails the test if goroutines it started are still running after every cleanup (the
// harness's included: it is registered first, so it runs last).
func leakCheck(t *testing.T) {
	t.Helper()
	opts := []goleak.Option{
		goleak.IgnoreCurrent(),
		// Idle keep-alive connections of clients outside the test's control close asynchronously.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	}
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, opts...)
	})
}

// newFaultHarness is newHarness with fault injection between gemgate and the fake upstream.
func newFaultHarness(t *testing.T, fcfg fakeupstream.Config, env map[string]string) (*harness, *fakeupstream.Faults) {
	t.Helper()
	fake := fakeupstream.New(fcfg)
	faults := fakeupstream.NewFaults(fake)
	up := httptest.NewServer(faults)
	t.Cleanup(up.Close)
	h := &harness{t: t, fake: fake, up: up, dbDir: t.TempDir()}
	h.env = map[string]string{
		"SQLITE_DATABASE": filepath.Join(h.dbDir, "gemgate.db"),
		"BASE_URL":        up.URL + "/v1beta",
		"ALLOWED_TOKENS":  `["` + clientToken + `"]`,
		"AUTH_TOKEN":      adminToken,
		"API_KEYS":        goodKey(0) + "," + goodKey(1),
	}
	for k, v := range env {
		h.env[k] = v
	}
	h.start()
	return h, faults
}

const (
	nativeStream = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
	chatPath     = "/v1/chat/completions"
)

func chatBody(stream bool, text string) map[string]any {
	return map[string]any{"model": "gemini-2.5-flash", "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": text}}}
}

var chatHeader = map[string]string{"Authorization": "Bearer " + clientToken}

// sseEvents splits an event stream into the data of its events.
func sseEvents(body []byte) []string {
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

// endsWithError reports a stream whose last event (before OpenAI's [DONE]) is an error object.
func endsWithError(events []string) bool {
	if n := len(events); n > 0 && events[n-1] == "[DONE]" {
		events = events[:n-1]
	}
	if len(events) == 0 {
		return false
	}
	var v struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	return json.Unmarshal([]byte(events[len(events)-1]), &v) == nil && v.Error != nil && v.Error.Message != ""
}

// completed reports a native stream that ended with its finish reason, or an OpenAI one with [DONE]
// after a finish reason.
func completed(events []string) bool {
	if len(events) == 0 {
		return false
	}
	last := events[len(events)-1]
	if last == "[DONE]" {
		return len(events) > 1 && strings.Contains(events[len(events)-2], `"finish_reason"`) && !endsWithError(events)
	}
	return strings.Contains(last, `"finishReason":"STOP"`)
}

// streamText joins the text of a native stream's events.
func streamText(events []string) string {
	var b strings.Builder
	for _, e := range events {
		var v struct {
			Candidates []struct {
				Content struct{ Parts []struct{ Text string } }
			}
		}
		if json.Unmarshal([]byte(e), &v) == nil {
			for _, c := range v.Candidates {
				for _, p := range c.Content.Parts {
					b.WriteString(p.Text)
				}
			}
		}
	}
	return b.String()
}

// keysUnblamed asserts that no key was disabled or charged a failure.
func keysUnblamed(t *testing.T, h *harness) {
	t.Helper()
	for _, k := range h.app.Pool.Keys() {
		if k.Disabled() || k.Failures() != 0 {
			t.Errorf("key %s blamed for an upstream fault (disabled %v, failures %d)", k.Masked(), k.Disabled(), k.Failures())
		}
	}
}

func openAIError(t *testing.T, r result, code int) string {
	t.Helper()
	var env struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if r.status != code || json.Unmarshal(r.body, &env) != nil || env.Error.Message == "" || env.Error.Type == "" {
		t.Fatalf("want OpenAI's error object with status %d, got %d: %s", code, r.status, r.body)
	}
	return env.Error.Message
}

func TestFaultConnectionRefused(t *testing.T) {
	leakCheck(t)
	dead := testutil.ClosedAddr(t)
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"BASE_URL": "http://" + dead + "/v1beta", "MAX_RETRIES": "2"})

	r := h.generate("gemini-2.5-flash", "hi")
	r.googleError(t, http.StatusBadGateway)
	if msg := string(r.body); !strings.Contains(msg, "could not reach Gemini") || !strings.Contains(msg, "refused") {
		t.Fatalf("the message must say what failed: %s", msg)
	}
	if r := h.do("POST", nativeStream, hello("hi"), tokenHeader); r.status != http.StatusBadGateway {
		t.Fatalf("a stream that never started must get a status, not an empty 200: %d %s", r.status, r.body)
	}
	if msg := openAIError(t, h.do("POST", chatPath, chatBody(true, "hi"), chatHeader), http.StatusBadGateway); !strings.Contains(msg, "could not reach Gemini") {
		t.Fatalf("OpenAI message: %s", msg)
	}
	keysUnblamed(t, h)
}

func TestFaultResetBeforeAnswerIsRetried(t *testing.T) {
	leakCheck(t)
	h, faults := newFaultHarness(t, fakeupstream.Config{}, nil)
	faults.Set(goodKey(0), fakeupstream.Fault{Kind: fakeupstream.FaultReset})
	for range 4 { // whichever key the pool starts with, every request ends on the healthy one
		if r := h.generate("gemini-2.5-flash", "hi"); r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		r := h.do("POST", nativeStream, hello("hi"), tokenHeader)
		if ev := sseEvents(r.body); r.status != http.StatusOK || !completed(ev) {
			t.Fatalf("stream %d: %s", r.status, r.body)
		}
	}
	faults.Set(goodKey(1), fakeupstream.Fault{Kind: fakeupstream.FaultReset})
	h.generate("gemini-2.5-flash", "hi").googleError(t, http.StatusBadGateway)
	keysUnblamed(t, h)
}

func TestFaultResetMidStreamEndsWithErrorEvent(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, fakeupstream.Config{StreamChunks: 4, UnknownKeys: fakeupstream.StreamCut}, nil)
	r := h.do("POST", nativeStream, hello("hi"), tokenHeader)
	ev := sseEvents(r.body)
	if r.status != http.StatusOK || len(ev) != 2 || !endsWithError(ev) {
		t.Fatalf("native: a cut stream must keep what was sent and end with an error event: %s", r.body)
	}
	r = h.do("POST", chatPath, chatBody(true, "hi"), chatHeader)
	ev = sseEvents(r.body)
	if r.status != http.StatusOK || ev[len(ev)-1] != "[DONE]" || !endsWithError(ev) {
		t.Fatalf("OpenAI: %s", r.body)
	}
	keysUnblamed(t, h)
}

func TestFaultStallBeforeFirstByte(t *testing.T) {
	leakCheck(t)
	h, faults := newFaultHarness(t, fakeupstream.Config{}, map[string]string{"TIME_OUT": "1"})
	faults.Set(goodKey(0), fakeupstream.Fault{Kind: fakeupstream.FaultStall})
	for _, path := range []string{"/v1beta/models/gemini-2.5-flash:generateContent", nativeStream} {
		for range 2 { // one of the two starts on the stalling key, which stalls until cancelled
			if r := h.do("POST", path, hello("hi"), tokenHeader); r.status != http.StatusOK {
				t.Fatalf("%s: %d: %s", path, r.status, r.body)
			}
		}
	}
	if faults.Stalled() == 0 {
		t.Fatal("the stalling key was never tried")
	}
	testutil.Eventually(t, "every stalled upstream call to be cancelled", func() bool { return faults.Cancelled() == faults.Stalled() })

	faults.Set(goodKey(1), fakeupstream.Fault{Kind: fakeupstream.FaultStall})
	h.restart(map[string]string{"MAX_RETRIES": "1"})
	stalled := faults.Stalled()
	start := time.Now()
	r := h.generate("gemini-2.5-flash", "hi")
	if r.googleError(t, http.StatusGatewayTimeout); !strings.Contains(string(r.body), "TIME_OUT") {
		t.Fatalf("the message must name the setting: %s", r.body)
	}
	if n := faults.Stalled() - stalled; n != 2 {
		t.Fatalf("%d stalled attempts, want two (MAX_RETRIES=1)", n)
	}
	// A lower bound only: a busy machine makes the wait longer, never shorter than the two timeouts.
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("two attempts of TIME_OUT=1 gave up after %s", took)
	}
	testutil.Eventually(t, "both stalled attempts to be cancelled", func() bool { return faults.Cancelled() == faults.Stalled() })
	keysUnblamed(t, h)
}

func TestFaultStallAfterFirstByte(t *testing.T) {
	leakCheck(t)
	h, faults := newFaultHarness(t, fakeupstream.Config{StreamChunks: 4}, map[string]string{"TIME_OUT": "1"})
	for _, k := range []string{goodKey(0), goodKey(1)} {
		faults.Set(k, fakeupstream.Fault{Kind: fakeupstream.FaultStallAfterFirst})
	}
	for _, c := range []struct {
		path string
		body any
		hdr  map[string]string
	}{{nativeStream, hello("hi"), tokenHeader}, {chatPath, chatBody(true, "hi"), chatHeader}} {
		r := h.do("POST", c.path, c.body, c.hdr) // the stall lasts until cancelled: only the idle timer ends it
		if ev := sseEvents(r.body); r.status != http.StatusOK || len(ev) < 2 || !endsWithError(ev) {
			t.Fatalf("%s: the idle timer must end a stalled stream with an error event: %s", c.path, r.body)
		}
	}
	testutil.Eventually(t, "the stalled upstream streams to be cancelled", func() bool { return faults.Cancelled() == faults.Stalled() })
	keysUnblamed(t, h)
}

// TIME_OUT bounds the wait for each event of a stream, not the stream: a slow drip that keeps
// sending completes, while the same drip on a non-streamed call runs out of TIME_OUT.
func TestFaultSlowDrip(t *testing.T) {
	leakCheck(t)
	h, faults := newFaultHarness(t, fakeupstream.Config{StreamChunks: 3}, map[string]string{"TIME_OUT": "1", "MAX_RETRIES": "1"})
	for _, k := range []string{goodKey(0), goodKey(1)} {
		faults.Set(k, fakeupstream.Fault{Kind: fakeupstream.FaultDrip, Every: 15 * time.Millisecond, Piece: 8})
	}
	start := time.Now()
	r := h.do("POST", nativeStream, hello("a dripping answer"), tokenHeader)
	took := time.Since(start)
	if ev := sseEvents(r.body); r.status != http.StatusOK || !completed(ev) {
		t.Fatalf("drip stream: %d %s", r.status, r.body)
	}
	if took < 1200*time.Millisecond {
		t.Fatalf("the drip took only %s; it must outlast TIME_OUT to prove the per-event timer", took)
	}
	for _, k := range []string{goodKey(0), goodKey(1)} {
		faults.Set(k, fakeupstream.Fault{Kind: fakeupstream.FaultDrip, Every: 150 * time.Millisecond, Piece: 8})
	}
	h.generate("gemini-2.5-flash", "hi").googleError(t, http.StatusGatewayTimeout)
	keysUnblamed(t, h)
}

func TestFaultMalformedAnswers(t *testing.T) {
	leakCheck(t)
	h, faults := newFaultHarness(t, fakeupstream.Config{}, nil)
	// One key garbles its answers: retried on the other, invisible to the client.
	faults.Set(goodKey(0), fakeupstream.Fault{Kind: fakeupstream.FaultMalformedJSON})
	for range 3 {
		if r := h.generate("gemini-2.5-flash", "hi"); r.status != http.StatusOK || !json.Valid(r.body) {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	// Every key garbles: a clear error in each API's shape, never a 200 the client cannot parse.
	faults.Set(goodKey(1), fakeupstream.Fault{Kind: fakeupstream.FaultMalformedJSON})
	r := h.generate("gemini-2.5-flash", "hi")
	if r.googleError(t, http.StatusBadGateway); !strings.Contains(string(r.body), "not valid JSON") {
		t.Fatalf("native: %s", r.body)
	}
	openAIError(t, h.do("POST", chatPath, chatBody(false, "hi"), chatHeader), http.StatusBadGateway)

	for _, k := range []string{goodKey(0), goodKey(1)} {
		faults.Set(k, fakeupstream.Fault{Kind: fakeupstream.FaultMalformedSSE})
	}
	// OpenAI streams are translated event by event: a broken event ends the stream with an error.
	r = h.do("POST", chatPath, chatBody(true, "hi"), chatHeader)
	if ev := sseEvents(r.body); r.status != http.StatusOK || !endsWithError(ev) {
		t.Fatalf("OpenAI stream of garbage: %d %s", r.status, r.body)
	}
	// Native streams are relayed byte for byte (the client's SDK parses them): gemgate must neither
	// fail nor hang on them.
	if r := h.do("POST", nativeStream, hello("hi"), tokenHeader); r.status != http.StatusOK || !bytes.Contains(r.body, []byte("nonsense")) {
		t.Fatalf("native stream of garbage: %d %s", r.status, r.body)
	}
	keysUnblamed(t, h)
}

func TestFault429StormOnMostKeys(t *testing.T) {
	leakCheck(t)
	keys := make([]string, 10)
	behaviors := map[string]fakeupstream.Behavior{}
	for i := range keys {
		keys[i] = goodKey(i)
		if i < 8 {
			behaviors[keys[i]] = fakeupstream.RateLimitMinute
		}
	}
	h := newHarness(t, fakeupstream.Config{Keys: behaviors}, map[string]string{"API_KEYS": strings.Join(keys, ","), "MAX_RETRIES": "10"})
	for i := range 30 {
		if r := h.generate("gemini-2.5-flash", "hi"); r.status != http.StatusOK {
			t.Fatalf("request %d: a storm on 8 of 10 keys must be absorbed: %d %s", i, r.status, r.body)
		}
	}
	// Each limited key was tried about once, then rested: the storm did not multiply upstream calls.
	for _, k := range keys[:8] {
		if n := h.fake.Calls(k); n > 2 {
			t.Errorf("a cooling key was called %d times", n)
		}
	}
	keysUnblamed(t, h)
	st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t)
	if st["cooling"].(float64) < 1 || st["disabled"].(float64) != 0 {
		t.Fatalf("keys after the storm: %v", st)
	}
	// With every key limited the client gets 429 with Retry-After, in each API's shape.
	for _, k := range keys[8:] {
		h.fake.SetBehavior(k, fakeupstream.RateLimitMinute)
	}
	for range 3 {
		h.generate("gemini-2.5-flash", "hi")
	}
	r := h.generate("gemini-2.5-flash", "hi")
	if r.googleError(t, http.StatusTooManyRequests); r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	r = h.do("POST", chatPath, chatBody(false, "hi"), chatHeader)
	if openAIError(t, r, http.StatusTooManyRequests); r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After on the OpenAI route")
	}
}

func TestFault503Burst(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{goodKey(0): fakeupstream.Overloaded}}, nil)
	for range 6 {
		if r := h.generate("gemini-2.5-flash", "hi"); r.status != http.StatusOK {
			t.Fatalf("an overloaded key must be retried on another: %d %s", r.status, r.body)
		}
	}
	h.fake.SetBehavior(goodKey(1), fakeupstream.Overloaded)
	if st := h.generate("gemini-2.5-flash", "hi").googleError(t, http.StatusServiceUnavailable); st != "UNAVAILABLE" {
		t.Fatalf("status %s", st)
	}
	openAIError(t, h.do("POST", chatPath, chatBody(false, "hi"), chatHeader), http.StatusServiceUnavailable)
	h.fake.SetBehavior(goodKey(0), fakeupstream.OK)
	h.fake.SetBehavior(goodKey(1), fakeupstream.OK)
	if r := h.generate("gemini-2.5-pro", "hi"); r.status != http.StatusOK {
		t.Fatalf("after the burst: %d", r.status)
	}
	keysUnblamed(t, h)
}

// peakHeap samples the heap while fn runs and returns its growth over the level before.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var s runtime.MemStats
				runtime.ReadMemStats(&s)
				peak = max(peak, s.HeapAlloc)
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak - min(base, peak)
}

// Answers larger than any buffer pass through in bounded memory, and one event larger than the
// translator's bound ends the stream with an error instead of growing without end.
func TestFaultHugeAnswers(t *testing.T) {
	leakCheck(t)
	h, faults := newFaultHarness(t, fakeupstream.Config{}, nil)
	size := int64(64 << 20)
	if testing.Short() {
		size = 24 << 20
	}
	for _, k := range []string{goodKey(0), goodKey(1)} {
		faults.Set(k, fakeupstream.Fault{Kind: fakeupstream.FaultHuge, Size: size})
	}
	var got int64
	grew := peakHeap(func() {
		req, _ := http.NewRequest("POST", h.srv.URL+nativeStream, strings.NewReader(`{"contents":[{"parts":[{"text":"hi"}]}]}`))
		req.Header.Set("x-goog-api-key", clientToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ = io.Copy(io.Discard, resp.Body)
	})
	if got < size {
		t.Fatalf("the client got %d of %d bytes", got, size)
	}
	if grew > 48<<20 {
		t.Fatalf("relaying %d MiB grew the heap by %d MiB: the relay buffers", size>>20, grew>>20)
	}

	for _, k := range []string{goodKey(0), goodKey(1)} {
		faults.Set(k, fakeupstream.Fault{Kind: fakeupstream.FaultHugeEvent, Size: 70 << 20})
	}
	r := h.do("POST", chatPath, chatBody(true, "hi"), chatHeader)
	if ev := sseEvents(r.body); r.status != http.StatusOK || !endsWithError(ev) || !strings.Contains(ev[len(ev)-2], "64 MiB") {
		t.Fatalf("an endless event must end the stream with an error: %d %.300s", r.status, r.body)
	}
	keysUnblamed(t, h)
}

// When the client goes away mid-stream, the upstream call is cancelled at once: a gateway that kept
// reading would spend the key's quota on an answer nobody reads. The upstream's next event is an hour
// away, so only a cancellation sent when the client leaves (not on the next write) is seen in time.
func TestFaultClientDisconnectCancelsUpstream(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, fakeupstream.Config{StreamChunks: 5, StreamInterval: time.Hour}, nil)
	for _, c := range []struct {
		path, body, header, value string
	}{
		{nativeStream, `{"contents":[{"parts":[{"text":"a long answer"}]}]}`, "x-goog-api-key", clientToken},
		{chatPath, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"a long answer"}]}`, "Authorization", "Bearer " + clientToken},
	} {
		before := h.fake.Cancelled()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", h.srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set(c.header, c.value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		cancel()
		resp.Body.Close()
		testutil.Eventually(t, c.path+": the upstream stream to be cancelled", func() bool { return h.fake.Cancelled() > before })
	}
}

// A client that sends its headers a byte at a time is cut off after ReadHeaderTimeout, while other
// clients are served meanwhile.
func TestFaultSlowlorisHeaders(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, fakeupstream.Config{}, nil)
	if srv := api.NewServer(http.NotFoundHandler(), nil, h.app.Settings.Current); srv.ReadHeaderTimeout != 10*time.Second || srv.MaxHeaderBytes != 64<<10 {
		t.Fatalf("serve's default limits changed: %+v", srv)
	}
	srv := api.NewServer(h.app.Handler, nil, h.app.Settings.Current)
	srv.ReadHeaderTimeout = 300 * time.Millisecond // the 10 s of serve, shortened for the test
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// Each slow client's headers never end, so only the server's timeout can close its connection; the
	// write deadline is not a budget, only how long to wait before calling the connection held.
	const slow = 20
	cut := make(chan error, slow)
	for range slow {
		go func() {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				cut <- err
				return
			}
			defer c.Close()
			_ = c.SetWriteDeadline(time.Now().Add(time.Minute))
			for _, err = c.Write([]byte("POST /v1beta/models HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err == nil; {
				time.Sleep(50 * time.Millisecond)
				_, err = c.Write([]byte("x"))
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				cut <- err
				return
			}
			cut <- nil // the server closed the connection
		}()
	}
	for range 5 {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("a normal client was not served next to slow ones: %v", err)
		}
		resp.Body.Close()
	}
	for range slow {
		if err := <-cut; err != nil {
			t.Fatalf("a slowloris connection was not cut (ReadHeaderTimeout 300 ms): %v", err)
		}
	}
}

// Bodies over MAX_REQUEST_BODY_MB get 413 in the error shape of the API they were sent to.
func TestFaultHugeBodies413(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"MAX_REQUEST_BODY_MB": "1"})
	huge := `{"contents":[{"parts":[{"text":"` + strings.Repeat("a", 2<<20) + `"}]}]}`
	for _, p := range []string{
		"/v1beta/models/gemini-2.5-flash:generateContent",
		nativeStream,
		"/v1beta/models/gemini-2.5-flash:countTokens",
		"/v1beta/models/text-embedding-004:embedContent",
	} {
		h.do("POST", p, huge, tokenHeader).googleError(t, http.StatusRequestEntityTooLarge)
	}
	hugeChat := `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"` + strings.Repeat("a", 2<<20) + `"}]}`
	for _, p := range []string{chatPath, "/v1/embeddings", "/openai/v1/chat/completions", "/v1/responses", "/v1/images/generations", "/v1/audio/speech"} {
		openAIError(t, h.do("POST", p, hugeChat, chatHeader), http.StatusRequestEntityTooLarge)
	}
	anthropicError(t, h.do("POST", "/v1/messages", hugeChat, map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01"}),
		http.StatusRequestEntityTooLarge)
	if n := h.fake.TotalCalls(); n != 0 {
		t.Fatalf("%d oversized requests reached Google", n)
	}
}

// A thousand streams at once all complete: no 500, none cut, none mixed up.
func TestFaultThousandConcurrentStreams(t *testing.T) {
	leakCheck(t)
	n := 1000
	if testing.Short() {
		n = 200
	}
	keys := make([]string, 8)
	for i := range keys {
		keys[i] = goodKey(i)
	}
	h := newHarness(t, fakeupstream.Config{StreamChunks: 3}, map[string]string{"API_KEYS": strings.Join(keys, ","), "REQUEST_LOG_MODE": "failures"})
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	var failed atomic.Int32
	var firstErr sync.Once
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			word := "stream" + string(rune('a'+i%26))
			req, _ := http.NewRequest("POST", h.srv.URL+nativeStream, strings.NewReader(`{"contents":[{"parts":[{"text":"`+word+`"}]}]}`))
			req.Header.Set("x-goog-api-key", clientToken)
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				firstErr.Do(func() { t.Errorf("stream %d: %v", i, err) })
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if ev := sseEvents(body); err != nil || resp.StatusCode != http.StatusOK || !completed(ev) || !strings.Contains(streamText(ev), word) {
				failed.Add(1)
				firstErr.Do(func() { t.Errorf("stream %d: %d %v %.200s", i, resp.StatusCode, err, body) })
			}
		}()
	}
	close(start)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d of %d concurrent streams failed", f, n)
	}
}

// Invalid UTF-8 anywhere a client can put it gets a clear answer, never a 5xx, and what gemgate
// itself writes stays valid UTF-8.
func TestFaultInvalidUTF8(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, fakeupstream.Config{}, nil)
	bad := "caf\xe9 \xff\xfe \xed\xa0\x80"
	body := []byte(`{"contents":[{"parts":[{"text":"` + bad + `"}]}]}`)
	for _, c := range []struct {
		path string
		body any
		hdr  map[string]string
	}{
		{"/v1beta/models/gemini-2.5-flash:generateContent", body, tokenHeader},
		{nativeStream, body, tokenHeader},
		{chatPath, []byte(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"` + bad + `"}]}`), chatHeader},
		{chatPath, []byte(`{"model":"gemini-\xff","messages":[{"role":"user","content":"x"}]}`), chatHeader},
		{"/v1beta/models/gemini-%FF%FE:generateContent", body, tokenHeader},
		{"/v1beta/models/gemini-2.5-flash:generateContent", body, map[string]string{"x-goog-api-key": "sk-\xff\xfe"}},
		{"/v1/messages", []byte(`{"model":"gemini-2.5-flash","max_tokens":9,"messages":[{"role":"user","content":"` + bad + `"}]}`),
			map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01"}},
	} {
		r := h.do("POST", c.path, c.body, c.hdr)
		if r.status >= 500 {
			t.Errorf("%s: %d %s", c.path, r.status, r.body)
		}
		if r.status >= 400 && (!json.Valid(r.body) || !utf8.Valid(r.body)) {
			t.Errorf("%s: the error is not valid JSON in UTF-8: %q", c.path, r.body)
		}
	}
}

// JSON nested deeper than any real request is refused with 400 at once, without exhausting the stack.
func TestFaultDeeplyNestedJSON(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, fakeupstream.Config{}, nil)
	const depth = 100_000
	nested := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":`+nested+`}`, tokenHeader).googleError(t, http.StatusBadRequest)
	h.do("POST", nativeStream, nested, tokenHeader).googleError(t, http.StatusBadRequest)
	openAIError(t, h.do("POST", chatPath, `{"model":"gemini-2.5-flash","messages":`+nested+`}`, chatHeader), http.StatusBadRequest)
	openAIError(t, h.do("POST", chatPath, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[`+strings.Repeat(`{"a":`, depth)+`1`+strings.Repeat("}", depth)+`]}]}`, chatHeader), http.StatusBadRequest)
	anthropicError(t, h.do("POST", "/v1/messages", `{"model":"gemini-2.5-flash","max_tokens":5,"messages":`+nested+`}`,
		map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01"}), http.StatusBadRequest)
	if n := h.fake.TotalCalls(); n != 0 {
		t.Fatalf("%d nested requests reached Google", n)
	}
}
