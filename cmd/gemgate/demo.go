package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// demoToken is the client token of demo mode; the demo holds no real key, so a known token is harmless.
const demoToken = "sk-demo"

// demoKeys show every kind of key a real pool has: good ones, and ones the fake Gemini answers as
// invalid, rate-limited or suspended, so the rotation and auto-disable can be watched.
var demoKeys = []string{
	"AIzaDemoKey-good-000000000000000000001",
	"AIzaDemoKey-good-000000000000000000002",
	"AIzaDemoKey-good-000000000000000000003",
	"AIzaDemoKey-00000000000000000000-invalid",
	"AIzaDemoKey-0000000000000000000-ratelimit",
	"AIzaDemoKey-000000000000000000-suspended",
}

type demoUpstream struct {
	srv *http.Server
	url string
}

// startDemo starts the fake Gemini on a loopback port and fills in demo defaults for settings the
// operator did not set.
func startDemo(env map[string]string) (*demoUpstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the fake Gemini: %w", err)
	}
	fake := fakeupstream.New(fakeupstream.Config{
		KeysByName:     true,
		Latency:        150 * time.Millisecond,
		StreamChunks:   6,
		StreamInterval: 200 * time.Millisecond,
	})
	d := &demoUpstream{srv: &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}, url: "http://" + ln.Addr().String() + "/v1beta"}
	go d.srv.Serve(ln)
	keys, _ := json.Marshal(demoKeys)
	defaults := map[string]string{
		config.SQLiteDatabase.Name(): "data/demo.db",
		config.APIKeys.Name():        string(keys),
		config.AllowedTokens.Name():  `["` + demoToken + `"]`,
		config.MaxFailures.Name():    "2",
	}
	for k, v := range defaults {
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	return d, nil
}

// Attach points the gateway at the fake Gemini. It is stored like any setting because the database
// wins over env, and the fake's port changes on every run.
func (d *demoUpstream) Attach(ctx context.Context, a *app.App) error {
	return a.Settings.Update(ctx, map[string]string{config.BaseURL.Name(): d.url})
}

func (d *demoUpstream) Announce(out io.Writer, base string) {
	fmt.Fprintf(out, `
Demo mode: a built-in fake Gemini answers at %s; no real key is used.
Sample keys: 3 good, 1 invalid, 1 rate-limited, 1 suspended. Client token: %s
A burst of sample requests is on its way, so the admin panel (log in at %s/ with the
AUTH_TOKEN) shows keys in every state, logs and charts right away.

Try:
  curl -s %s/v1beta/models/gemini-2.5-flash:generateContent -H 'x-goog-api-key: %s' \
       -H 'Content-Type: application/json' -d '{"contents":[{"parts":[{"text":"Hello"}]}]}'
  curl -sN '%s/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=%s' \
       -H 'Content-Type: application/json' -d '{"contents":[{"parts":[{"text":"Stream to me"}]}]}'
  curl -s %s/api/keys/status -H "Authorization: Bearer $AUTH_TOKEN"

`, d.url, demoToken, base, base, demoToken, base, demoToken, base)
}

func (d *demoUpstream) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return d.srv.Shutdown(ctx)
}

// demoCall is one request of the demo's opening burst.
type demoCall struct {
	path, body string
	openAI     bool
}

// demoCalls fill a first look at the panel: successes and streams in both API formats, which rotate
// over every key and so meet the invalid and suspended keys (disabled on the spot) and the rate-limited
// one (cooled down); a model that does not exist; and one malformed request.
func demoCalls() []demoCall {
	hello := `{"contents":[{"role":"user","parts":[{"text":"Hello from the gemgate demo"}]}]}`
	chat := func(stream bool) string {
		return fmt.Sprintf(`{"model":"gemini-2.5-flash","stream":%t,"messages":[{"role":"user","content":"Hello from the gemgate demo"}]}`, stream)
	}
	var calls []demoCall
	for i := range 24 {
		calls = append(calls, demoCall{path: "/v1beta/models/gemini-2.5-flash:generateContent", body: hello})
		if i%3 == 0 {
			calls = append(calls, demoCall{path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body: hello})
		}
		if i%4 == 0 {
			calls = append(calls, demoCall{path: "/v1/chat/completions", body: chat(i%8 == 0), openAI: true})
		}
	}
	return append(calls,
		demoCall{path: "/v1beta/models/gemini-2.5-pro:generateContent", body: hello},
		demoCall{path: "/v1beta/models/gemini-9-imaginary:generateContent", body: hello},
		demoCall{path: "/v1beta/models/gemini-2.5-flash:generateContent", body: `{"contents": [ this is not JSON`})
}

// Traffic sends the opening burst through the gateway at addr, a few requests at a time over some
// seconds, so the dashboard shows keys in every state, logs and a chart right away.
func (d *demoUpstream) Traffic(ctx context.Context, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	base := "http://" + net.JoinHostPort("127.0.0.1", port)
	client := &http.Client{Timeout: time.Minute}
	sem := make(chan struct{}, 4)
	for _, c := range demoCalls() {
		select {
		case <-ctx.Done():
			return
		case sem <- struct{}{}:
		}
		go func() {
			defer func() { <-sem }()
			d.send(ctx, client, base, c)
		}()
		time.Sleep(150 * time.Millisecond)
	}
}

func (d *demoUpstream) send(ctx context.Context, client *http.Client, base string, c demoCall) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+c.path, strings.NewReader(c.body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if c.openAI {
		req.Header.Set("Authorization", "Bearer "+demoToken)
	} else {
		req.Header.Set("x-goog-api-key", demoToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return // the demo is shutting down
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
