package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const docsPath = "../../docs/settings.md"

func TestSettingsDocUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.MkdirAll(filepath.Dir(docsPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(docsPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(docsPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatalf("docs/settings.md is out of date with internal/config/settings.go; regenerate it with\n" +
			"\tUPDATE_DOCS=1 go test ./internal/config -run TestSettingsDocUpToDate")
	}
}

func TestWriteMarkdownContent(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteMarkdown(&a); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("WriteMarkdown is not deterministic")
	}
	doc := a.String()
	for _, d := range registry {
		if !strings.Contains(doc, "| `"+d.Name+"` |") {
			t.Errorf("%s has no row", d.Name)
		}
	}
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		// 7 columns → 8 unescaped pipes; an unescaped pipe in a cell would split it.
		if n := strings.Count(line, "|") - strings.Count(line, `\|`); n != 8 {
			t.Errorf("row has %d cell separators: %s", n, line)
		}
	}
	// Group order follows Groups.
	last := -1
	for _, g := range Groups {
		i := strings.Index(doc, "\n## "+g.Title().EN+" / ")
		if i < 0 {
			t.Errorf("no section for group %s", g)
			continue
		}
		if i < last {
			t.Errorf("section %s out of order", g)
		}
		last = i
	}
}

func TestDocHelpers(t *testing.T) {
	for in, want := range map[string]string{
		"a":     "`a`",
		"a`b":   "``a`b``",
		"`a":    "`` `a ``",
		"a``b`": "``` a``b` ```",
	} {
		if got := code(in); got != want {
			t.Errorf("code(%q) = %q, want %q", in, got, want)
		}
	}
	if got := cell("a|b\nc"); got != `a\|b<br>c` {
		t.Errorf("cell = %q", got)
	}
	if got := prose("<model>-chat & co"); got != "&lt;model&gt;-chat &amp; co" {
		t.Errorf("prose = %q", got)
	}
	if got := Group("other").Title(); got.EN != "other" {
		t.Errorf("unknown group title = %+v", got)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteMarkdownError(t *testing.T) {
	if err := WriteMarkdown(failWriter{}); err == nil {
		t.Fatal("want the writer's error")
	}
}
