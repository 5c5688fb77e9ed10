//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/testutil"
)

// These tests run long-lived commands in-process and stop them the way a container runtime does: with
// SIGTERM to the process, which the command's signal handler catches.

// startCmd runs gemgate args until it announces its listener; stop sends SIGTERM and returns run's
// result.
func startCmd(t *testing.T, args ...string) (out *testutil.Buffer, stop func() error) {
	t.Helper()
	out = &testutil.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(args, out) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gemgate %s wrote:\n%s", strings.Join(args, " "), out)
		}
	})
	testutil.Eventually(t, "gemgate "+strings.Join(args, " ")+" to listen", func() bool {
		select {
		case err := <-done:
			t.Fatalf("gemgate %s ended before listening: %v", strings.Join(args, " "), err)
		default:
		}
		return strings.Contains(out.String(), "listening on")
	})
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			// The handler is installed for as long as run has not returned; after that the signal would
			// kill the test binary.
			select {
			case result = <-done:
				return
			default:
			}
			if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
				result = err
				return
			}
			select {
			case result = <-done:
			case <-time.After(testutil.GiveUp):
				result = fmt.Errorf("gemgate did not stop within %v of SIGTERM", testutil.GiveUp)
			}
		})
		return result
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

func TestServeGracefulShutdown(t *testing.T) {
	inTempDir(t)
	const chunks = 12
	fake := fakeupstream.New(fakeupstream.Config{StreamChunks: chunks})
	// The stream waits after its first event until the test has seen new connections refused.
	release := make(chan struct{})
	fake.SetStreamHook(func(ctx context.Context, event int) {
		if event == 1 {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	})
	up := httptest.NewServer(fake)
	defer up.Close()
	t.Setenv("BASE_URL", up.URL+"/v1beta")
	t.Setenv("API_KEYS", key1)
	t.Setenv("ALLOWED_TOKENS", `["sk-test-client-token-00000000"]`)
	t.Setenv("AUTH_TOKEN", "sk-test-admin-token-000000000")
	port := strconv.Itoa(testutil.FreePort(t))
	_, stop := startCmd(t, "serve", "--host", "127.0.0.1", "--port", port, "--db", "gg.db")
	base := "http://127.0.0.1:" + port

	req, _ := http.NewRequest(http.MethodPost, base+"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
		strings.NewReader(`{"contents":[{"parts":[{"text":"a long answer please"}]}]}`))
	req.Header.Set("x-goog-api-key", "sk-test-client-token-00000000")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, body)
	}
	events := bufio.NewReader(resp.Body)
	first, err := events.ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "data: ") {
		t.Fatalf("first event %q: %v", first, err)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()

	// New connections are refused while the stream goes on.
	testutil.Eventually(t, "new connections to be refused after SIGTERM", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(release)

	n, last := 1, first
	for {
		line, err := events.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the stream broke after %d events: %v", n, err)
		}
		if strings.HasPrefix(line, "data: ") {
			n, last = n+1, line
		}
	}
	if n != chunks || !strings.Contains(last, `"finishReason":"STOP"`) {
		t.Fatalf("the stream ended after %d of %d events; last: %s", n, chunks, last)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(testutil.GiveUp):
		t.Fatal("serve did not return after the stream ended")
	}

	// Closing wrote what was still in memory: the key's state and the request's log row.
	st, err := store.Open(context.Background(), store.Config{SQLitePath: "data/gg.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	states, err := st.LoadKeyStates(context.Background())
	if err != nil || len(states) != 1 || states[0].LastUsedAt.IsZero() {
		t.Fatalf("key state after shutdown: %+v (%v)", states, err)
	}
	var rows int
	if err := st.DB().QueryRow("SELECT COUNT(*) FROM t_request_log").Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("request log after shutdown: %d rows (%v)", rows, err)
	}
}

func TestDemo(t *testing.T) {
	inTempDir(t)
	port := strconv.Itoa(testutil.FreePort(t))
	out, stop := startCmd(t, "demo", "--host", "127.0.0.1", "--port", port)
	// The demo's own lines follow the "listening on" line that startCmd waits for.
	testutil.Eventually(t, "the demo announcement", func() bool { return strings.Contains(out.String(), "Demo mode") })
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:"+port+"/v1beta/models/gemini-2.5-flash:generateContent",
		strings.NewReader(`{"contents":[{"parts":[{"text":"Hello"}]}]}`))
	req.Header.Set("x-goog-api-key", demoToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "echo: Hello") {
		t.Fatalf("demo answer %d: %s", resp.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestRelayCommand(t *testing.T) {
	inTempDir(t)
	var mu sync.Mutex
	var gotKey, gotSecret string
	google := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotKey, gotSecret = r.Header.Get("x-goog-api-key"), r.Header.Get("X-Relay-Secret")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"models":[]}`))
	}))
	defer google.Close()
	t.Setenv("RELAY_SECRET", "relay-s3cret")
	port := strconv.Itoa(testutil.FreePort(t))
	out, stop := startCmd(t, "relay", "--host", "127.0.0.1", "--port", port, "--target", google.URL)
	if !strings.Contains(out.String(), "forwarding to "+google.URL) || !strings.Contains(out.String(), "secret required") {
		t.Fatalf("relay announcement:\n%s", out)
	}
	base := "http://127.0.0.1:" + port

	req, _ := http.NewRequest(http.MethodGet, base+"/v1beta/models", nil)
	req.Header.Set("x-goog-api-key", key1)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the secret: %d", resp.StatusCode)
	}
	req.Header.Set("X-Relay-Secret", "relay-s3cret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mu.Lock()
	k, s := gotKey, gotSecret
	mu.Unlock()
	if resp.StatusCode != http.StatusOK || string(body) != `{"models":[]}` || k != key1 || s != "" {
		t.Fatalf("with the secret: %d %s; Google got key %q, secret %q", resp.StatusCode, body, k, s)
	}
	// The container health check works against the relay too.
	runOK(t, "check", "--port", port)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// The admin token gemgate generates on its first start cannot be lost: a first start that fails after
// generating it (port busy) prints it, and every start prints it again until someone logs in with it.
func TestGeneratedTokenShownUntilFirstLogin(t *testing.T) {
	inTempDir(t)
	tokenRE := regexp.MustCompile(`sk-[A-Za-z0-9_]{48}`)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var out bytes.Buffer
	err = run([]string{"serve", "--host", "127.0.0.1", "--port", strconv.Itoa(busy.Addr().(*net.TCPAddr).Port), "--db", "gg.db"}, &out)
	if err == nil || !strings.Contains(err.Error(), "listening on") {
		t.Fatalf("a start on a busy port: %v", err)
	}
	token := tokenRE.FindString(out.String())
	if token == "" {
		t.Fatalf("the failed first start did not show the generated token:\n%s", out.String())
	}

	port := strconv.Itoa(testutil.FreePort(t))
	got, stop := startCmd(t, "serve", "--host", "127.0.0.1", "--port", port, "--db", "gg.db")
	if tokenRE.FindString(got.String()) != token {
		t.Fatalf("the second start did not show the generated token again:\n%s", got)
	}
	adminLogin(t, "http://127.0.0.1:"+port, token)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	got, stop = startCmd(t, "serve", "--host", "127.0.0.1", "--port", port, "--db", "gg.db")
	if strings.Contains(got.String(), token) {
		t.Fatalf("the token was shown after an admin logged in with it:\n%s", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// adminLogin logs in to the panel with token as a browser would: the login form's double-submit token
// from the page and its cookie, then the form.
func adminLogin(t *testing.T, base, token string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="login_csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no login form:\n%s", page)
	}
	resp, err = client.PostForm(base+"/auth", url.Values{"login_csrf": {string(m[1])}, "auth_token": {token}, "next": {"/keys"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/keys" {
		t.Fatalf("login with the generated token ended on %s", resp.Request.URL)
	}
}
