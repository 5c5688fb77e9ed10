package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const envExamplePath = "../../.env.example"

func TestEnvExampleUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteEnvExample(&buf); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.WriteFile(envExamplePath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(envExamplePath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatalf(".env.example is out of date with internal/config/settings.go; regenerate it with\n" +
			"\tUPDATE_DOCS=1 go test ./internal/config -run TestEnvExampleUpToDate")
	}
}

// TestEnvExampleReadsBack loads the generated file the way gemgate reads .env: every setting but the
// env-only ones is there, reads back as its default (secrets as empty), and the whole file is a valid
// configuration.
func TestEnvExampleReadsBack(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteEnvExample(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := ReadEnv(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range registry {
		got, ok := env[d.Name]
		want := d.DefaultText()
		if d.Secret {
			want = ""
		}
		if d.Bootstrap {
			// Commented out, so that an image's own value (SQLITE_DATABASE=/data/...) stays in force.
			if ok {
				t.Errorf("env-only %s is set by the example (%q): it would override the container's value", d.Name, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("%s reads back as %q (present %v), want %q", d.Name, got, ok, want)
		}
	}
	snap, err := FromEnv(env)
	if err != nil {
		t.Fatalf("the example is not a valid configuration: %v", err)
	}
	for _, d := range registry {
		if d.Secret {
			continue
		}
		if got, want := d.Format(snap.Value(d)), d.DefaultText(); got != want {
			t.Errorf("%s = %s, want the default %s", d.Name, got, want)
		}
	}
	// One comment line per setting, in both languages.
	for _, line := range strings.Split(buf.String(), "\n") {
		if name, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") && strings.ToUpper(name) != name {
			t.Errorf("not a setting line: %q", line)
		}
	}
}

func TestWriteEnvExampleError(t *testing.T) {
	if err := WriteEnvExample(failWriter{}); err == nil {
		t.Fatal("want the writer's error")
	}
}
