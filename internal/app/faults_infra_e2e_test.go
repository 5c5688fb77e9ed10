package app_test

// Faults of what gemgate depends on besides Google: the database and Redis going away and coming
// back, and the process being stopped in the middle of streams.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/api"
	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/faultproxy"
	"github.com/gemgate/gemgate/internal/logs"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/store/storetest"
	"github.com/gemgate/gemgate/internal/testutil"
)

// logBuffer collects gemgate's application log for assertions, and tells a test when a line appears.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	watches []logWatch
}

type logWatch struct {
	text string
	seen chan struct{}
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.b.Write(p)
	kept := l.watches[:0]
	for _, w := range l.watches {
		if bytes.Contains(l.b.Bytes(), []byte(w.text)) {
			close(w.seen)
		} else {
			kept = append(kept, w)
		}
	}
	l.watches = kept
	return n, err
}

// logged returns a channel closed once the log holds text.
func (l *logBuffer) logged(text string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := logWatch{text: text, seen: make(chan struct{})}
	if bytes.Contains(l.b.Bytes(), []byte(text)) {
		close(w.seen)
	} else {
		l.watches = append(l.watches, w)
	}
	return w.seen
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// postgresBehindProxy returns env for a fresh PostgreSQL schema reached through a proxy the test can
// cut (skipping without GEMGATE_TEST_POSTGRES).
func postgresBehindProxy(t *testing.T) (map[string]string, *faultproxy.Proxy) {
	t.Helper()
	cfg := storetest.Config(t, store.Postgres)
	u, err := url.Parse(cfg.PostgresDSN)
	if err != nil {
		t.Fatalf("GEMGATE_TEST_POSTGRES must be a URL for this test: %v", err)
	}
	p := faultproxy.Start(t, u.Host)
	u.Host = p.Addr()
	return map[string]string{"DATABASE_TYPE": "postgres", "POSTGRES_DSN": u.String()}, p
}

func TestFaultDatabaseUnreachableAtStart(t *testing.T) {
	leakCheck(t)
	dead := testutil.ClosedAddr(t)
	var log logBuffer
	start := time.Now()
	_, err := app.New(context.Background(), app.Options{Logger: log.logger(), Env: map[string]string{
		"DATABASE_TYPE": "postgres", "POSTGRES_DSN": "postgres://gg:s3cretpw@" + dead + "/gg?sslmode=disable",
		"DB_CONNECT_TIMEOUT": "2",
	}})
	took := time.Since(start)
	if err == nil {
		t.Fatal("gemgate started without its database")
	}
	msg := err.Error()
	if !strings.Contains(msg, "DB_CONNECT_TIMEOUT") || !strings.Contains(msg, "refused") || !strings.Contains(msg, dead) || strings.Contains(msg, "s3cretpw") {
		t.Fatalf("the error must say where, why and which setting gives it longer, without the password: %s", msg)
	}
	// A lower bound only: a busy machine makes the wait longer, never shorter than the setting.
	if took < 1500*time.Millisecond {
		t.Fatalf("gave up after %s with DB_CONNECT_TIMEOUT=2", took)
	}
	if n := strings.Count(log.String(), "the database does not answer yet"); n < 2 || strings.Contains(log.String(), "s3cretpw") {
		t.Fatalf("each attempt must be logged (%d lines):\n%s", n, log.String())
	}

}

// A database that comes up while gemgate waits: the start goes on once it answers. The database comes
// back only after gemgate logged a failed attempt, so a start that did not wait cannot pass.
func TestFaultDatabaseComesUpDuringStart(t *testing.T) {
	leakCheck(t)
	var log logBuffer
	env, proxy := postgresBehindProxy(t)
	proxy.Cut()
	env["DB_CONNECT_TIMEOUT"] = "60"
	env["API_KEYS"] = goodKey(0)
	started := make(chan struct{})
	restored := make(chan struct{})
	go func() {
		defer close(restored)
		select {
		case <-log.logged("the database does not answer yet"):
		case <-started:
			return
		}
		if err := proxy.Restore(); err != nil {
			t.Errorf("restoring the proxy: %v", err)
		}
	}()
	a, err := app.New(context.Background(), app.Options{Logger: log.logger(), Env: env})
	close(started)
	<-restored
	if err != nil {
		t.Fatalf("the database came up during the wait, yet: %v", err)
	}
	defer a.Close()
}

// With the database gone, requests keep flowing on the last snapshot of settings and keys; the log
// rows of that time are counted as dropped; once it is back, writes resume.
func TestFaultDatabaseLostWhileRunning(t *testing.T) {
	leakCheck(t)
	env, proxy := postgresBehindProxy(t)
	h := newHarness(t, fakeupstream.Config{}, env)
	w := h.app.LogWriter
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if r := h.generate("gemini-2.5-flash", "before"); r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	flush()
	written := w.Stats().Written

	proxy.Cut()
	for i := range 10 {
		if r := h.generate("gemini-2.5-flash", "during"); r.status != http.StatusOK {
			t.Fatalf("request %d without the database: %d %s", i, r.status, r.body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := h.app.Settings.Load(ctx)
	cancel()
	if err == nil {
		t.Fatal("settings reloaded from a database that is gone")
	}
	if r := h.do("GET", "/api/config", nil, adminHeader); r.status != http.StatusOK {
		t.Fatalf("the admin API must serve the settings in force: %d", r.status)
	}
	flush()
	if d := w.Dropped(logs.DropWriteFailed); d < 10 || w.Stats().Written != written {
		t.Fatalf("log rows of the outage: dropped %d, written %d -> %d", d, written, w.Stats().Written)
	}
	metrics := h.do("GET", "/metrics", nil, adminHeader)
	if !strings.Contains(string(metrics.body), `gemgate_log_entries_dropped_total{reason="write_failed"}`) {
		t.Fatal("the dropped rows are not in /metrics")
	}

	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "log writes to resume", func() bool {
		if r := h.generate("gemini-2.5-flash", "after"); r.status != http.StatusOK {
			t.Fatalf("%d", r.status)
		}
		flush()
		return w.Stats().Written > written
	})
	var rows int
	if err := h.app.Store.DB().QueryRow("SELECT COUNT(*) FROM t_request_log WHERE path LIKE '%generateContent'").Scan(&rows); err != nil || rows < 4 {
		t.Fatalf("%d rows after the database came back (%v)", rows, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.app.Settings.Load(ctx); err != nil {
		t.Fatalf("settings reload after the database came back: %v", err)
	}
}

// With Redis gone, each instance keeps serving on its own; when it is back, state changes travel
// between instances again without a restart.
func TestFaultRedisLostAndBack(t *testing.T) {
	raw, prefix := testutil.Redis(t)
	leakCheck(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, u.Host)
	viaProxy := *u
	viaProxy.Host = proxy.Addr()
	keys := goodKey(0) + "," + goodKey(1) + "," + goodKey(2)
	a := newHarness(t, fakeupstream.Config{}, map[string]string{"REDIS_URL": viaProxy.String(), "REDIS_PREFIX": prefix, "API_KEYS": keys})
	bEnv := map[string]string{"REDIS_URL": raw, "REDIS_PREFIX": prefix, "API_KEYS": keys,
		"SQLITE_DATABASE": t.TempDir() + "/b.db", "BASE_URL": a.env["BASE_URL"], "AUTH_TOKEN": adminToken}
	other, err := app.New(context.Background(), app.Options{Env: bEnv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	coolOnB := func(key string) {
		k, _ := other.Pool.Lookup(key)
		other.Pool.CoolDown(k, "gemini-2.5-pro", other.Pool.Now().Add(time.Hour), "test cooldown")
	}
	cooledOnA := func(key string) func() bool {
		return func() bool { k, _ := a.app.Pool.Lookup(key); return len(k.Cooldowns()) == 1 }
	}
	coolOnB(goodKey(0))
	testutil.Eventually(t, "A to learn B's cooldown", cooledOnA(goodKey(0)))

	proxy.Cut()
	for i := range 5 {
		if r := a.generate("gemini-2.5-flash", "hi"); r.status != http.StatusOK {
			t.Fatalf("request %d on A without Redis: %d %s", i, r.status, r.body)
		}
	}
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	// News published while A was cut off is lost (the database and the periodic reload make up for
	// it); news published after A is back in arrives.
	testutil.Eventually(t, "A to hear from B again after Redis came back", func() bool {
		if cooledOnA(goodKey(1))() {
			return true
		}
		coolOnB(goodKey(1)) // again: until A has resubscribed, B's news is lost
		return false
	})
}

// SIGTERM in the middle of 100 streams, by the shutdown path serve uses: every stream either
// completes within the grace period or ends with an error event in its API's shape, and every
// request the server accepted has its log row.
func TestFaultShutdownDuringStreams(t *testing.T) {
	leakCheck(t)
	fake := fakeupstream.New(fakeupstream.Config{StreamChunks: 4})
	up := httptest.NewServer(fake)
	defer up.Close()
	dir := t.TempDir()
	env := map[string]string{
		"SQLITE_DATABASE": dir + "/gemgate.db", "BASE_URL": up.URL + "/v1beta", "ALLOWED_TOKENS": clientToken,
		"AUTH_TOKEN": adminToken, "API_KEYS": goodKey(0) + "," + goodKey(1) + "," + goodKey(2),
	}
	a, err := app.New(context.Background(), app.Options{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	// Every stream waits upstream after its first event. Once the shutdown has begun, half are let go and
	// finish within the grace period; the others hang until cut.
	var seen sync.Map
	var next atomic.Int64
	release := make(chan struct{})
	fake.SetStreamHook(func(ctx context.Context, event int) {
		idx, _ := seen.LoadOrStore(ctx, next.Add(1))
		if idx.(int64)%2 == 0 {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return
		}
		<-ctx.Done()
	})
	srv := api.NewServer(a.Handler, nil, a.Settings.Current)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	base := "http://" + ln.Addr().String()

	const streams = 100
	type outcome struct {
		native bool
		status int
		events []string
		err    error
	}
	results := make(chan outcome, streams)
	firstEvents := make(chan struct{}, streams)
	tr := &http.Transport{MaxIdleConnsPerHost: streams}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for i := range streams {
		native := i%2 == 0
		go func() {
			path, body, hdr, val := nativeStream, `{"contents":[{"parts":[{"text":"hi"}]}]}`, "x-goog-api-key", clientToken
			if !native {
				path, body, hdr, val = chatPath, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer "+clientToken
			}
			req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
			req.Header.Set(hdr, val)
			resp, err := client.Do(req)
			if err != nil {
				firstEvents <- struct{}{}
				results <- outcome{native: native, err: err}
				return
			}
			defer resp.Body.Close()
			var all bytes.Buffer
			buf := make([]byte, 4096)
			signalled := false
			for {
				n, err := resp.Body.Read(buf)
				all.Write(buf[:n])
				if !signalled && (bytes.Contains(all.Bytes(), []byte("\n\n")) || bytes.Contains(all.Bytes(), []byte("\r\n\r\n"))) {
					signalled = true
					firstEvents <- struct{}{}
				}
				if err != nil {
					if !signalled {
						firstEvents <- struct{}{}
					}
					if errors.Is(err, io.EOF) {
						err = nil
					}
					results <- outcome{native: native, status: resp.StatusCode, events: sseEvents(all.Bytes()), err: err}
					return
				}
			}
		}()
	}
	for range streams {
		<-firstEvents
	}
	shutdown := make(chan error, 1)
	go func() { shutdown <- api.Shutdown(srv, 2*time.Second, a.AbortUpstream) }()
	testutil.Eventually(t, "the shutdown to close the listener", func() bool {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(release)
	if err := <-shutdown; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	var done, cut int
	for range streams {
		o := <-results
		switch {
		case o.err != nil || o.status != http.StatusOK:
			t.Errorf("a stream broke instead of ending properly: %d %v", o.status, o.err)
		case completed(o.events):
			done++
		case endsWithError(o.events) && (o.native || o.events[len(o.events)-1] == "[DONE]"):
			cut++
		default:
			t.Errorf("a stream ended without its end and without an error event: %q", o.events)
		}
	}
	if done == 0 || cut == 0 {
		t.Errorf("%d streams completed and %d were cut: the test must see both", done, cut)
	}
	st, err := store.Open(context.Background(), store.Config{SQLitePath: env["SQLITE_DATABASE"]})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rows int
	if err := st.DB().QueryRow("SELECT COUNT(*) FROM t_request_log").Scan(&rows); err != nil || rows != streams {
		t.Fatalf("%d log rows for %d accepted streams (%v)", rows, streams, err)
	}
	if d := a.LogWriter.Stats().Dropped; d[logs.DropShutdown]+d[logs.DropBufferFull]+d[logs.DropWriteFailed] != 0 {
		t.Fatalf("log entries dropped: %v", d)
	}
}
