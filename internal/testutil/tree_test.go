package testutil

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gemgate/gemgate/"

// root is the repository, two levels above this package.
var root = filepath.Join("..", "..")

// packages lists every directory under cmd/ and internal/ that holds a Go package (a non-test .go file),
// with its non-test source files.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	pkgs := map[string][]string{}
	for _, top := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			dir := filepath.ToSlash(rel)
			pkgs[dir] = append(pkgs[dir], path)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return pkgs
}

// readmePackages returns the first word of every line of the text block under heading in file.
func readmePackages(t *testing.T, file, heading string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q section", file, heading)
	}
	_, block, ok := strings.Cut(section, "```text\n")
	if !ok {
		t.Fatalf("%s: no package list (a ```text block) under %q", file, heading)
	}
	block, _, _ = strings.Cut(block, "```")
	var names []string
	for line := range strings.Lines(block) {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// The architecture sections of both READMEs list exactly the packages under cmd/ and internal/, so a
// package added, moved or removed shows up here until both lists say so.
func TestReadmeListsEveryPackage(t *testing.T) {
	pkgs := packages(t)
	for _, r := range []struct{ file, heading string }{
		{"README.md", "## Architecture"},
		{"README.zh-CN.md", "## 架构"},
	} {
		listed := readmePackages(t, r.file, r.heading)
		for dir := range pkgs {
			if !slices.Contains(listed, dir) {
				t.Errorf("%s: %s is missing from the list under %q", r.file, dir, r.heading)
			}
		}
		for _, name := range listed {
			if _, ok := pkgs[name]; !ok {
				t.Errorf("%s: %s is listed under %q but is no package in the tree", r.file, name, r.heading)
			}
		}
		if !slices.IsSorted(listed) {
			t.Errorf("%s: the list under %q is not in order", r.file, r.heading)
		}
	}
}

// imports returns the packages of this module that dir's non-test files import.
func imports(t *testing.T, files []string) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(path, module); ok {
				out = append(out, rest)
			}
		}
	}
	return out
}

// testutil is for tests: code that ships must not depend on it.
func TestOnlyTestsImportTestutil(t *testing.T) {
	for dir, files := range packages(t) {
		if slices.Contains(imports(t, files), "internal/testutil") {
			t.Errorf("%s imports internal/testutil outside its tests", dir)
		}
	}
}

// The fake Google stands alone: what it does must not follow from gemgate's own code.
func TestFakeUpstreamImportsNothingOfOurs(t *testing.T) {
	if got := imports(t, packages(t)["internal/fakeupstream"]); len(got) > 0 {
		t.Errorf("internal/fakeupstream imports %v", got)
	}
}
