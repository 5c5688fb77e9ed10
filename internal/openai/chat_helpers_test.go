package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

func chatTestSnap(t testing.TB, env map[string]string) *config.Snapshot {
	t.Helper()
	snap, err := config.FromEnv(env)
	if err != nil {
		t.Fatalf("settings: %v", err)
	}
	return snap
}

// chatIndentJSON normalises JSON for golden files and diffs.
func chatIndentJSON(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// chatCheckGolden compares got with the golden file, or rewrites it with -update.
func chatCheckGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file missing (run go test -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update to accept)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// testAnswerOptions gives answers fixed ids and times, so golden files are stable.
func testAnswerOptions(candidates int) *answerOptions {
	n := 0
	return &answerOptions{
		ctx: context.Background(), id: "chatcmpl-test", created: 1700000000, model: "gemini-2.5-flash",
		candidates: candidates, showThinking: true, images: imageSink,
		newCallID: func() string { n++; return "call_test" + strconv.Itoa(n) },
	}
}

func chatReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
