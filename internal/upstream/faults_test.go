package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
	"github.com/gemgate/gemgate/internal/testutil"
)

func testExecutor(t *testing.T, h http.Handler, env map[string]string, keys ...string) *Executor {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if env == nil {
		env = map[string]string{}
	}
	env["BASE_URL"] = srv.URL
	snap, err := config.FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	client := NewClient()
	t.Cleanup(client.CloseIdle)
	return &Executor{Pool: keypool.New(keys, 3), Client: client, Settings: func() *config.Snapshot { return snap },
		Backoff: func(int) time.Duration { return 0 }}
}

// An answer beyond the in-memory bound is refused after reading one byte more than the bound, not
// after reading all of it, and the key is not blamed.
func TestAnswerLargerThanTheBound(t *testing.T) {
	old := maxResponseBytes
	maxResponseBytes = 1 << 20
	t.Cleanup(func() { maxResponseBytes = old })
	sent := make(chan int64, 8)
	e := testExecutor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(strings.Repeat("x", 64<<10))
		var n int64
		defer func() { sent <- n }()
		for n < 64<<20 {
			k, err := w.Write(chunk)
			n += int64(k)
			if err != nil {
				return
			}
		}
	}), map[string]string{"MAX_RETRIES": "0"}, "AIzaSyBoundKey00000000000000000000000001")
	_, err := e.Do(t.Context(), Call{Path: "models/m:generateContent", Body: []byte(`{}`)})
	var ue *Error
	if !errors.As(err, &ue) || ue.StatusCode != http.StatusBadGateway || !strings.Contains(ue.Status.Message, "larger than 1 MiB") {
		t.Fatalf("err = %v", err)
	}
	if n := <-sent; n >= 64<<20 {
		t.Errorf("the upstream sent all %d bytes: gemgate kept reading past its bound", n)
	}
	if k := e.Pool.Keys()[0]; k.Disabled() || k.Failures() != 0 {
		t.Error("an oversized answer was blamed on the key")
	}
}

func TestMalformedJSONIsRetriedOnAnotherKey(t *testing.T) {
	bad, good := "AIzaSyBadKey00000000000000000000000000001", "AIzaSyGoodKey0000000000000000000000000001"
	e := testExecutor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		if r.Header.Get("x-goog-api-key") == bad {
			_, _ = io.WriteString(w, `{"candidates": [{"content": {"par`)
			return
		}
		_, _ = io.WriteString(w, `{"candidates":[]}`)
	}), nil, bad, good)
	for range 4 {
		resp, err := e.Do(t.Context(), Call{Path: "models/m:generateContent", Body: []byte(`{}`)})
		if err != nil || string(resp.Body) != `{"candidates":[]}` {
			t.Fatalf("resp %v, err %v", resp, err)
		}
	}
	for _, k := range e.Pool.Keys() {
		if k.Disabled() || k.Failures() != 0 {
			t.Errorf("key %s blamed for a malformed answer", k.Masked())
		}
	}
}

// Drain ends streams in flight with ErrShuttingDown (so handlers send an error event, not nothing)
// and refuses new calls at once.
func TestDrainEndsCallsInFlight(t *testing.T) {
	first := make(chan struct{})
	var calls atomic.Int32
	e := testExecutor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			<-r.Context().Done() // a call after Drain must never get here
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {}\r\n\r\n")
		http.NewResponseController(w).Flush()
		close(first)
		<-r.Context().Done()
	}), nil, "AIzaSyDrainKey0000000000000000000000000001")
	resp, err := e.Do(t.Context(), Call{Path: "models/m:streamGenerateContent", Stream: true, Body: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Stream.Close()
	<-first
	buf := make([]byte, 64)
	if n, err := resp.Stream.Read(buf); n == 0 || err != nil {
		t.Fatalf("first read: %d, %v", n, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Stream)
		done <- err
	}()
	e.Client.Drain()
	select {
	case err := <-done:
		if !errors.Is(err, ErrShuttingDown) {
			t.Fatalf("read after drain: %v", err)
		}
	case <-time.After(testutil.GiveUp):
		t.Fatal("the stream was not ended by Drain")
	}
	_, err = e.Do(t.Context(), Call{Path: "models/m:generateContent", Body: []byte(`{}`)})
	var ue *Error
	if !errors.As(err, &ue) || !strings.Contains(ue.Status.Message, "shutting down") || calls.Load() != 1 {
		t.Fatalf("a call after drain: %v (%d upstream calls)", err, calls.Load())
	}
}

// The token's limits apply where the model is known: a model off its list is refused before any key
// is spent, and its daily quota counts one per request however many attempts the request makes.
func TestAdmitAppliesTokenLimits(t *testing.T) {
	calls := 0
	e := testExecutor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"candidates":[{"content":{"parts":[{"text":"hi"}]}}]}`)
	}), nil, "AIzaSyAdmitKey0000000000000000000000000001")
	tokens := auth.NewTokens(config.Defaults())
	tokens.SetPolicies([]auth.Policy{{ID: 7, Name: "t", Token: "sk-limited-token-00000000000", Enabled: true,
		Models: []string{"gemini-2.5-*"}, DailyQuota: 2}})
	bind := func() context.Context {
		return auth.WithGrant(context.Background(), tokens.Resolve("sk-limited-token-00000000000"))
	}

	_, err := e.Do(bind(), Call{Path: "models/gemini-2.0-flash:generateContent", Model: "gemini-2.0-flash", Body: []byte(`{}`)})
	var ue *Error
	if !errors.As(err, &ue) || ue.StatusCode != http.StatusNotFound || calls != 0 {
		t.Fatalf("a model off the list: %v (upstream calls %d)", err, calls)
	}
	for i := range 2 {
		ctx := bind()
		for range 2 { // a second call in one request spends no more quota
			if _, err := e.Do(ctx, Call{Path: "models/gemini-2.5-flash:generateContent", Model: "fast-alias", Body: []byte(`{}`)}); err != nil {
				t.Fatalf("request %d within quota: %v", i, err)
			}
		}
	}
	_, err = e.Do(bind(), Call{Path: "models/gemini-2.5-flash:generateContent", Model: "gemini-2.5-flash", Body: []byte(`{}`)})
	if !errors.As(err, &ue) || ue.StatusCode != http.StatusTooManyRequests || ue.RetryAfter <= 0 {
		t.Fatalf("over quota: %v", err)
	}
}
