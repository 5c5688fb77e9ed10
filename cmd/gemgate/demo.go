package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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

Try:
  curl -s %s/v1beta/models/gemini-2.5-flash:generateContent -H 'x-goog-api-key: %s' \
       -H 'Content-Type: application/json' -d '{"contents":[{"parts":[{"text":"Hello"}]}]}'
  curl -sN '%s/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=%s' \
       -H 'Content-Type: application/json' -d '{"contents":[{"parts":[{"text":"Stream to me"}]}]}'
  curl -s %s/api/keys/status -H "Authorization: Bearer $AUTH_TOKEN"

`, d.url, demoToken, base, demoToken, base, demoToken, base)
}

func (d *demoUpstream) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return d.srv.Shutdown(ctx)
}
