package app_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/api"
	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// serveBounded serves h's gemgate the way serve does (api.NewServer on api.Listen) and returns its
// address.
func serveBounded(t *testing.T, h *harness) string {
	t.Helper()
	srv := api.NewServer(h.app.Handler, nil, h.app.Settings.Current)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(api.Listen(ln, h.app.Settings.Current))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// fromAddress is a client whose connections come from another loopback address than the tests'
// other clients, so that the per-address cap sees a different client.
func fromAddress(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	return &http.Client{Transport: tr}
}

// The reproduction: 200 connections send POST /auth with Content-Length 16000 and trickle the
// body a byte at a time. Every one of them is cut (by the per-address cap at once, or by the body
// pace once the window runs out), while /health and a real API call from another address are served
// meanwhile. Before the bounds, all 200 stayed open for as long as the client liked.
func TestTricklingBodiesAreCut(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, fakeupstream.Config{}, map[string]string{
		"CLIENT_BODY_TIMEOUT":           "1",
		"CLIENT_BODY_MIN_RATE":          "100",
		"CLIENT_MAX_CONNECTIONS_PER_IP": "50",
	})
	addr := serveBounded(t, h)

	const slow = 200
	type outcome struct {
		answer string // the status line the server sent, if any
		err    error
	}
	dialed := make(chan struct{}, slow)
	ended := make(chan outcome, slow)
	stop := make(chan struct{})
	defer close(stop)
	for range slow {
		go func() {
			c, err := net.Dial("tcp", addr)
			dialed <- struct{}{}
			if err != nil {
				ended <- outcome{err: err}
				return
			}
			defer c.Close()
			_, _ = io.WriteString(c, "POST /auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 16000\r\n\r\nt")
			go func() { // one byte every 100 ms: 10 B/s, under the 100 B/s asked for
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := c.Write([]byte{'x'}); err != nil {
							return
						}
					}
				}
			}()
			// A safety net for today's code, which never cuts: not a timing assertion.
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			_, err = io.Copy(io.Discard, c)
			ended <- outcome{answer: strings.TrimSpace(line), err: err}
		}()
	}
	for range slow {
		<-dialed
	}
	// Meanwhile another client is served at once.
	other := fromAddress("127.0.0.2")
	defer other.CloseIdleConnections()
	for range 3 {
		resp, err := other.Get("http://" + addr + "/health")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("/health next to trickling clients: %v", err)
		}
		resp.Body.Close()
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1beta/models/gemini-2.5-flash:generateContent",
			strings.NewReader(`{"contents":[{"parts":[{"text":"hi"}]}]}`))
		req.Header.Set("x-goog-api-key", clientToken)
		resp, err = other.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("an API call next to trickling clients: %v", err)
		}
		resp.Body.Close()
	}
	refused := 0
	for range slow {
		o := <-ended
		var ne net.Error
		if o.err != nil && (!errorsAs(o.err, &ne) || ne.Timeout()) {
			t.Fatalf("a trickling connection was not cut: %v (answer %q)", o.err, o.answer)
		}
		if strings.Contains(o.answer, " 429 ") {
			refused++
		}
	}
	if refused < slow-50-20 {
		t.Fatalf("only %d of %d connections over the cap of 50 were refused", refused, slow)
	}
}

func errorsAs(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

// The pace is a rate, not a total time: a body that takes several windows to arrive, but keeps the
// rate, goes through, on the API as on the login form.
func TestSlowButSteadyBodyIsServed(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, fakeupstream.Config{}, map[string]string{
		"CLIENT_BODY_TIMEOUT":  "1",
		"CLIENT_BODY_MIN_RATE": "100",
	})
	addr := serveBounded(t, h)
	text := strings.Repeat("steady ", 170) // ~1.2 KB at ~500 B/s: more than two windows
	body := []byte(`{"contents":[{"parts":[{"text":"` + text + `"}]}]}`)
	pr, pw := io.Pipe()
	go func() {
		for rest := body; len(rest) > 0; {
			n := min(50, len(rest))
			if _, err := pw.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1beta/models/gemini-2.5-flash:generateContent", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("x-goog-api-key", clientToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a slow but steady body was refused: %d %s", resp.StatusCode, got)
	}
}

// streamingUpstream stands in for Google: it reads each body as it arrives (so the test measures
// gemgate, not a copy of the fake's own), notes its size and whether a cut-out marker was left in
// it, and answers with one short candidate.
type streamingUpstream struct {
	mu     sync.Mutex
	size   int64
	marker bool
}

func (u *streamingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n int64
	marker := false
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Body.Read(buf)
		n += int64(k)
		marker = marker || bytes.Contains(buf[:k], []byte("~gg"))
		if err != nil {
			break
		}
	}
	u.mu.Lock()
	u.size, u.marker = n, marker
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"seen"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2}}`)
}

// A 30 MiB image sent inline (40 MiB of base64) costs about the body and the Gemini request, not
// four copies: on every API it used to grow the heap by 120 to 280 MiB.
func TestLargeInlineImageMemory(t *testing.T) {
	img := make([]byte, 30<<20)
	copy(img, "\x89PNG\r\n\x1a\n")
	for i := 8; i < len(img); i++ {
		img[i] = byte(i * 31)
	}
	b64 := base64.StdEncoding.EncodeToString(img)
	img = nil
	anthropicHeader := map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01"}
	cases := []struct {
		name, path string
		body       []byte
		hdr        map[string]string
	}{
		{"openai", chatPath, []byte(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"text","text":"what is it"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + b64 + `"}}]}]}`), chatHeader},
		{"responses", "/v1/responses", []byte(`{"model":"gemini-2.5-flash","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:image/png;base64,` + b64 + `"}]}]}`), chatHeader},
		{"anthropic", "/v1/messages", []byte(`{"model":"gemini-2.5-flash","max_tokens":9,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + b64 + `"}}]}]}`), anthropicHeader},
		{"gemini", "/v1beta/models/gemini-2.5-flash:generateContent", []byte(`{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"` + b64 + `"}}]}]}`), tokenHeader},
	}
	want := int64(len(b64))
	b64 = ""
	for _, c := range cases {
		// A gemgate of its own for each API, so that nothing another case left behind is measured.
		up := &streamingUpstream{}
		h := newHarnessWith(t, up, nil)
		grew := peakHeap(func() {
			req, _ := http.NewRequest("POST", h.srv.URL+c.path, bytes.NewReader(c.body))
			for k, v := range c.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %.300s", c.name, resp.StatusCode, b)
			}
		})
		up.mu.Lock()
		size, marker := up.size, up.marker
		up.mu.Unlock()
		if size < want || marker {
			t.Fatalf("%s: Google got %d bytes for %d of base64 (marker left: %v)", c.name, size, want, marker)
		}
		t.Logf("%s: body %d MiB, heap grew %d MiB", c.name, len(c.body)>>20, grew>>20)
		if limit := uint64(len(c.body)) * 5 / 2; grew > limit {
			t.Errorf("%s: a %d MiB body grew the heap by %d MiB, want at most %d MiB (the body and the request)", c.name, len(c.body)>>20, grew>>20, limit>>20)
		}
		h.stop()
	}
}

// /api/keys/add takes only strings shaped like Gemini keys, a bounded number per call, and says what
// it refused: 50,000 arbitrary strings used to become 50,000 "keys" in the pool.
func TestKeysAddRefusesWhatIsNoKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	junk := make([]string, 50000)
	for i := range junk {
		junk[i] = fmt.Sprintf("not-a-key-%d", i)
	}
	r := h.do("POST", "/api/keys/add", map[string]any{"keys": junk}, adminHeader)
	if msg := r.googleError(t, http.StatusBadRequest); msg == "" || !strings.Contains(string(r.body), "50000 of the keys are not Gemini API keys") ||
		!strings.Contains(string(r.body), "entries 0, 1, 2") || !strings.Contains(string(r.body), "nothing was added") {
		t.Fatalf("50,000 junk keys: %s", r.body)
	}
	mixed := []string{goodKey(5), "sk-relay-key", goodKey(6)}
	if r := h.do("POST", "/api/keys/add", map[string]any{"keys": mixed}, adminHeader); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "entries 1;") {
		t.Fatalf("a list with one bad entry: %d %s", r.status, r.body)
	}
	many := make([]string, 10001)
	for i := range many {
		many[i] = "AIzaSy" + fmt.Sprintf("%033d", i)
	}
	if r := h.do("POST", "/api/keys/add", map[string]any{"keys": many}, adminHeader); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "at most 10000") {
		t.Fatalf("10,001 keys in one call: %d %s", r.status, r.body)
	}
	if n, _ := h.app.Pool.Counts(); n != 2 {
		t.Fatalf("refused calls changed the pool: %d keys", n)
	}
	r = h.do("POST", "/api/keys/add", map[string]any{"keys": []string{goodKey(5), " " + goodKey(6) + " "}}, adminHeader)
	if v := r.json(t); r.status != http.StatusOK || v["added"] != float64(2) || v["total"] != float64(4) {
		t.Fatalf("two good keys: %d %s", r.status, r.body)
	}
}

// One address holds at most CLIENT_MAX_CONNECTIONS_PER_IP connections; the next is answered 429 with
// the setting named. A proxy in TRUSTED_PROXIES is not capped: its connections carry many clients.
func TestConnectionsPerAddress(t *testing.T) {
	leakCheck(t)
	h := newHarness(t, fakeupstream.Config{}, map[string]string{
		"CLIENT_MAX_CONNECTIONS_PER_IP": "2",
		"TRUSTED_PROXIES":               `["127.0.0.3"]`,
	})
	addr := serveBounded(t, h)
	open := func(from string) (string, net.Conn) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_, _ = io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.Status + " " + string(b), c
	}
	for i := range 2 {
		if got, _ := open("127.0.0.1"); !strings.HasPrefix(got, "200") {
			t.Fatalf("connection %d: %s", i, got)
		}
	}
	got, _ := open("127.0.0.1")
	if !strings.HasPrefix(got, "429") || !strings.Contains(got, "CLIENT_MAX_CONNECTIONS_PER_IP") || !strings.Contains(got, "RESOURCE_EXHAUSTED") {
		t.Fatalf("the third connection from one address: %s", got)
	}
	for i := range 5 {
		if got, _ := open("127.0.0.3"); !strings.HasPrefix(got, "200") {
			t.Fatalf("trusted proxy connection %d: %s", i, got)
		}
	}
	if got, _ := open("127.0.0.2"); !strings.HasPrefix(got, "200") {
		t.Fatalf("another address: %s", got)
	}
}
