package app_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// BenchmarkLiveTurn is one Live API turn on an open session over loopback: a client text frame and
// the four server frames that answer it (text, audio, turnComplete, usage), straight to the fake
// upstream and through gemgate. The difference over five frames is what gemgate's relay adds per frame.
func BenchmarkLiveTurn(b *testing.B) {
	fake := fakeupstream.New(fakeupstream.Config{})
	up := httptest.NewServer(fake)
	defer up.Close()
	a, err := app.New(context.Background(), app.Options{Env: map[string]string{
		"SQLITE_DATABASE": filepath.Join(b.TempDir(), "bench.db"),
		"BASE_URL":        up.URL + "/v1beta",
		"ALLOWED_TOKENS":  clientToken,
		"AUTH_TOKEN":      adminToken,
		"API_KEYS":        goodKey(0),
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	gw := httptest.NewServer(a.Handler)
	defer gw.Close()
	const path = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key="
	for _, c := range []struct{ name, url string }{
		{"direct", up.URL + path + goodKey(0)},
		{"gemgate", gw.URL + path + clientToken},
	} {
		b.Run(c.name, func(b *testing.B) { benchLiveTurns(b, "ws"+strings.TrimPrefix(c.url, "http")) })
	}
}

func benchLiveTurns(b *testing.B, url string) {
	ctx := context.Background()
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"setup":{"model":"models/`+liveModel+`"}}`)); err != nil {
		b.Fatal(err)
	}
	if _, _, err := conn.Read(ctx); err != nil {
		b.Fatal(err)
	}
	turn := []byte(`{"realtimeInput":{"text":"Hello there, how are you today?"}}`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := conn.Write(ctx, websocket.MessageText, turn); err != nil {
			b.Fatal(err)
		}
		for {
			_, msg, err := conn.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if bytes.Contains(msg, []byte("usageMetadata")) {
				break
			}
		}
	}
}
