package applog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
)

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

func TestGuardScrubsAndAddsRequestID(t *testing.T) {
	key := "AIzaSy" + strings.Repeat("K", 33)
	token := "my-own-client-token-123"
	var buf bytes.Buffer
	level := new(slog.LevelVar)
	sw := NewSwitch(&buf, level, Text)
	logger := slog.New(NewGuard(sw, secret.NewScrubber([]string{token})))
	ctx := reqlog.WithID(context.Background(), "abc123")

	logger.With("key", key).InfoContext(ctx, "using "+key, "token", token, "err", errors.New("bad token "+token),
		slog.Group("g", "nested", "Bearer "+token), "s", stringer{key}, "n", 3)
	line := buf.String()
	if strings.Contains(line, key) || strings.Contains(line, token) {
		t.Fatalf("secret in log line: %s", line)
	}
	for _, want := range []string{"request_id=abc123", secret.Mask(key), secret.Mask(token), "n=3", "g.nested="} {
		if !strings.Contains(line, want) {
			t.Errorf("line lacks %q: %s", want, line)
		}
	}

	buf.Reset()
	sw.SetFormat(JSON)
	level.Set(slog.LevelWarn)
	logger.InfoContext(ctx, "hidden")
	logger.WarnContext(ctx, "visible", "token", token)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	if m["msg"] != "visible" || m["request_id"] != "abc123" || m["token"] != secret.Mask(token) {
		t.Fatalf("JSON line %v", m)
	}

	buf.Reset()
	logger.Warn("no request")
	if strings.Contains(buf.String(), "request_id") {
		t.Fatalf("request_id without a request: %s", buf.String())
	}
	if ParseFormat("json") != JSON || ParseFormat("text") != Text || ParseFormat("") != Text {
		t.Fatal("ParseFormat")
	}
}
