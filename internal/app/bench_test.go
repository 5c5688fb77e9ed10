package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/api"
	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/upstream"
)

// inMemory serves round trips straight from a handler, so the benchmarks measure the gateway's own
// CPU cost and not loopback networking.
type inMemory struct{ h http.Handler }

func (m inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

var benchBody = []byte(`{"contents":[{"role":"user","parts":[{"text":"Hello there, how are you today?"}]}],"generationConfig":{"temperature":0.3}}`)

func benchRequest(b *testing.B, h http.Handler, path string) {
	b.Helper()
	benchCall(b, h, path, benchBody, "x-goog-api-key", clientToken)
}

// benchCall loads h with body at path, the client token in header (with value's prefix).
func benchCall(b *testing.B, h http.Handler, path string, body []byte, header, value string) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	// CPU time per request, the process's own (deferred log writes included, as gemgate-bench counts
	// them): on a machine shared with other work it moves far less than the wall time of ns/op.
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", path, bytes.NewReader(body))
			req.Header.Set(header, value)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}

// benchApp is gemgate with n keys in front of an in-memory fake Gemini.
func benchApp(b *testing.B, n int) *app.App {
	b.Helper()
	return benchAppAt(b, n, "http://fake.invalid/v1beta", upstream.NewClientWith(inMemory{fakeupstream.New(fakeupstream.Config{})}))
}

// benchAppAt is gemgate with n keys calling base through client.
func benchAppAt(b *testing.B, n int, base string, client *upstream.Client) *app.App {
	b.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "AIzaSyBench" + pad(i)
	}
	a, err := app.New(context.Background(), app.Options{
		Env: map[string]string{
			"SQLITE_DATABASE": filepath.Join(b.TempDir(), "bench.db"),
			"BASE_URL":        base,
			"ALLOWED_TOKENS":  clientToken,
			"AUTH_TOKEN":      adminToken,
			"API_KEYS":        strings.Join(keys, ","),
		},
		Client: client,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	return a
}

// BenchmarkHotPath is gemgate's whole native path (auth, body check and rewrite, key pick, retry
// bookkeeping, upstream request, relay) against an in-memory fake Gemini.
func BenchmarkHotPath(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		b.Run(strings.Replace("keys=N", "N", itoa(n), 1), func(b *testing.B) {
			benchRequest(b, benchApp(b, n).Handler, "/v1beta/models/gemini-2.5-flash:generateContent")
		})
	}
}

// BenchmarkHotPathStream is BenchmarkHotPath on the streamed call (streamGenerateContent?alt=sse): the
// first read that decides a retry, the relay with its flushes, the usage read from the events.
func BenchmarkHotPathStream(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		b.Run(strings.Replace("keys=N", "N", itoa(n), 1), func(b *testing.B) {
			benchRequest(b, benchApp(b, n).Handler, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
		})
	}
}

// The smallest realistic request of each translated API, as gemgate-bench sends it: the native
// benchmark's one user message (and its temperature where the API has one).
var (
	benchChatBody      = []byte(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hello there, how are you today?"}],"temperature":0.3}`)
	benchMessagesBody  = []byte(`{"model":"gemini-2.5-flash","max_tokens":1024,"messages":[{"role":"user","content":"Hello there, how are you today?"}],"temperature":0.3}`)
	benchResponsesBody = []byte(`{"model":"gemini-2.5-flash","input":[{"role":"user","content":"Hello there, how are you today?"}],"temperature":0.3}`)
)

// BenchmarkHotPathTranslated is BenchmarkHotPath (10 keys) on the OpenAI chat, Anthropic Messages and
// Responses routes: the translation both ways on top of the native path.
func BenchmarkHotPathTranslated(b *testing.B) {
	routes := []struct {
		name, path    string
		body          []byte
		header, value string
	}{
		{"chat", "/v1/chat/completions", benchChatBody, "Authorization", "Bearer " + clientToken},
		{"messages", "/v1/messages", benchMessagesBody, "x-api-key", clientToken},
		{"responses", "/v1/responses", benchResponsesBody, "Authorization", "Bearer " + clientToken},
	}
	for _, r := range routes {
		b.Run("route="+r.name, func(b *testing.B) {
			benchCall(b, benchApp(b, 10).Handler, r.path, r.body, r.header, r.value)
		})
	}
}

// BenchmarkFloorReverseProxy is the yardstick: a bare httputil.ReverseProxy in front of the same
// in-memory fake, doing nothing but forwarding.
func BenchmarkFloorReverseProxy(b *testing.B) {
	fake := fakeupstream.New(fakeupstream.Config{})
	target, _ := url.Parse("http://fake.invalid")
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = inMemory{fake}
	benchRequest(b, rp, "/v1beta/models/gemini-2.5-flash:generateContent")
}

// BenchmarkHotPathLoopback is BenchmarkHotPath over loopback TCP, as gemgate-bench runs it: gemgate
// behind its own server (api.NewServer) and in front of the fake over its real upstream transport, 50
// clients with keep-alive connections. The client and the fake run in the same process, so cpu-ns/op
// counts them too: read it against BenchmarkFloorLoopback's, the same client and fake around a bare
// ReverseProxy; the difference is what gemgate costs over the floor, system calls included (which
// the in-memory benchmarks do not make).
func BenchmarkHotPathLoopback(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		b.Run(strings.Replace("keys=N", "N", itoa(n), 1), func(b *testing.B) {
			fake := httptest.NewServer(fakeupstream.New(fakeupstream.Config{}))
			defer fake.Close()
			a := benchAppAt(b, n, fake.URL+"/v1beta", upstream.NewClient())
			srv := httptest.NewUnstartedServer(nil)
			srv.Config = api.NewServer(a.Handler, nil, a.Settings.Current)
			srv.Start()
			defer srv.Close()
			benchLoopback(b, srv.URL+"/v1beta/models/gemini-2.5-flash:generateContent")
		})
	}
}

// BenchmarkFloorLoopback is BenchmarkFloorReverseProxy over loopback TCP, the floor of gemgate-bench:
// a ReverseProxy with a keep-alive transport, flushing every write.
func BenchmarkFloorLoopback(b *testing.B) {
	fake := httptest.NewServer(fakeupstream.New(fakeupstream.Config{}))
	defer fake.Close()
	target, _ := url.Parse(fake.URL)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 1024
	transport.DisableCompression = true
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     transport,
		FlushInterval: -1,
	}
	srv := httptest.NewServer(rp)
	defer srv.Close()
	benchLoopback(b, srv.URL+"/v1beta/models/gemini-2.5-flash:generateContent")
}

// benchLoopback loads target with 50 keep-alive clients sending the native benchmark's request.
func benchLoopback(b *testing.B, target string) {
	b.Helper()
	transport := &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	b.ReportAllocs()
	b.SetParallelism((50 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", target, bytes.NewReader(benchBody))
			req.Header.Set("x-goog-api-key", clientToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkFakeUpstreamAlone is the fake's own cost, to subtract from both.
func BenchmarkFakeUpstreamAlone(b *testing.B) {
	fake := fakeupstream.New(fakeupstream.Config{})
	benchRequest(b, fake, "/v1beta/models/gemini-2.5-flash:generateContent")
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}

func pad(i int) string {
	s := itoa(i)
	return strings.Repeat("0", 28-len(s)) + s
}

// reportCPU starts counting the process's CPU time; the function it returns reports it per op.
func reportCPU(b *testing.B) func() {
	cpu0, cpuOK := processCPU()
	return func() {
		if cpu1, ok := processCPU(); ok && cpuOK && b.N > 0 {
			b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
